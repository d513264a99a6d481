import ArgumentParser
import ModelTree

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check what the models' files claim they were made from against what their weights say.",
        discussion: """
        Reads every claim — README.md front matter base_model (and base_model_relation), config.json \
        _name_or_path, adapter_config.json base_model_name_or_path, GGUF general.base_model.* — and \
        judges it against the graph recovered from the weights: agrees (the claimed model is a parent \
        the weights found), contradicts (it is in the collection and is not: the evidence names the \
        parent the weights point to), or unsupported (the claimed model is not in the collection). \
        Models whose files claim nothing are listed. Claims never place an edge. Takes every option \
        of recover; --truth scores the verdicts against the truth's claims.
        """)

    @OptionGroup var recovery: RecoveryArguments

    @Flag(help: "Print a JSON document instead of text.")
    var json = false

    @Flag(help: "Judge the claims against the --truth file's edges instead of recovering any (compares no weights): the audit's own mistakes, apart from those of the recovered edges.")
    var edgesFromTruth = false

    func validate() throws {
        if edgesFromTruth && recovery.truth == nil { throw ValidationError("--edges-from-truth needs --truth") }
    }

    func run() throws {
        try IndexCommand.run {     // the CLI's one way of reporting a library error
            if edgesFromTruth, let path = recovery.truth {
                let truth = try Truth(contentsOf: path)
                let locations = try ModelLoader.expand(recovery.paths)
                let (audit, unclaimed, notes) = try Audit.against(truth, locations: locations)
                let ids = locations.map(\.id)
                let score = AuditScore.score(audit, unclaimed: unclaimed, ids: ids, truth: truth)
                print(Audit.report(audit, unclaimed: unclaimed, ids: ids, warnings: notes, score: score, json: json), terminator: "")
                return
            }
            let (graph, score) = try recovery.recovered()
            print(graph.auditReport(json: json, score: score), terminator: "")
        }
    }
}
