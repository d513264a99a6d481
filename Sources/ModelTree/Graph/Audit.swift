/// One claim of a model's files about its origin, judged against the graph the weights gave.
public struct AuditEntry: Sendable {
    public typealias Verdict = Truth.Claim.Verdict

    /// The model whose files make the claim (an index into `ModelGraph.models`).
    public var model: Int
    public var source: ClaimSource
    /// As written in the file.
    public var claimed: String
    /// The card's `base_model_relation:`, when it gave one.
    public var relation: String?
    /// `agrees`: the claimed model (or an identical copy of it) is a recovered parent of the
    /// model, by an edge of any type (a merge parent included); `contradicts`: the claimed model
    /// is in the collection and is not; `unsupported`: the claim names no model of the collection
    /// (or several, which `evidence` lists).
    public var verdict: Verdict
    /// The recovered parent the verdict rests on: the claimed one when it agrees, else the primary
    /// parent the weights point to; nil when the weights make the model a root.
    public var recovered: Int?
    /// One line for people: the edge, its distance and confidence, and where the claimed model
    /// sits relative to the model (its grandparent, child, sibling, another family …).
    public var evidence: String
    /// The confidence of the edge `recovered` → model, NaN when there is none: an unsure edge
    /// still gives a verdict, and this says how much it weighs.
    public var confidence: Double

    public init(model: Int, source: ClaimSource, claimed: String, relation: String?, verdict: Verdict,
                recovered: Int?, evidence: String, confidence: Double) {
        self.model = model; self.source = source; self.claimed = claimed; self.relation = relation
        self.verdict = verdict; self.recovered = recovered; self.evidence = evidence; self.confidence = confidence
    }
}

/// What a claim's text names among the models of a collection.
public enum ClaimTarget: Equatable, Sendable {
    case model(Int)
    /// Several models fit equally well (indices ascending).
    case ambiguous([Int])
    case notInCollection
}

/// The audit: claims resolved to models of the collection and judged against the edges.
///
/// **Resolution** (`resolve`). A claim is a hub id (`org/name`), a URL
/// (`https://huggingface.co/org/name`), a path (`/data/models/name`) or a bare name. In order,
/// the first rule that finds models decides (one model: it; several: ambiguous):
/// 1. the claim is a model's path (trailing `/` ignored);
/// 2. its last path component equals a model's id;
/// 3. … equals the last component of a model's path;
/// 4. … equals a model's id ignoring ASCII case;
/// 5. … equals the last component of a model's path ignoring ASCII case.
/// Nothing else is guessed (no fuzzy matching: `fx-food` never resolves to `fx-food-copy`).
///
/// **Verdicts** (weights only: a claim never places an edge). A model's recovered parents are
/// the parents of its relation edges — every type, each parent of a merge — and, for a copy in a
/// duplicate group, those of its group (a copy hangs from its group's stand-in by an edge that is
/// not a relation). The claimed model agrees when it, or a member of its duplicate group, is one
/// of them; contradicts otherwise (the model itself, an identical copy of it, a grandparent, a
/// child, a sibling and another family all contradict, and the evidence says which).
public enum Audit {
    /// An edge the verdicts read: the parent and what the recovery said of the edge.
    struct Link {
        var parent: Int
        var type: EdgeType
        var distance: Double
        var confidence: Double
        var unsure: Bool
    }

    /// The parts of a graph a verdict reads, from a recovered graph or from a truth.
    struct View {
        var ids: [String]
        /// Relation edges into each model, primary first (a copy's link to its stand-in excluded).
        var links: [[Link]]
        /// Each model's duplicate group (itself alone when it has no copy).
        var group: [[Int]]
        /// Whether the weights' numbers exist (a truth has no distances).
        var measured: Bool
        /// Latent nodes (`LatentParents`): parents the weights infer, never a claim's target
        /// (their ids are the library's names, not a model's).
        var latent: Set<Int> = []
    }

    /// Resolves `claimed` among models with these ids and paths (see the type for the rule).
    public static func resolve(_ claimed: String, ids: [String], paths: [String?]) -> ClaimTarget {
        func trimmed(_ s: String) -> Substring {
            var t = Substring(Claims.trimmedName(s))
            while t.count > 1, t.hasSuffix("/") { t = t.dropLast() }
            return t
        }
        let claim = trimmed(claimed)
        guard !claim.isEmpty else { return .notInCollection }
        let name = claim.split(separator: "/").last.map(String.init) ?? String(claim)
        let pathNames = paths.map { $0.map { FileSystem.lastComponent(String(trimmed($0))) } }
        let rules: [(Int) -> Bool] = [
            { paths[$0].map { trimmed($0) == claim } ?? false },
            { ids[$0] == name },
            { pathNames[$0] == name },
            { asciiLowercased(ids[$0]) == asciiLowercased(name) },
            { pathNames[$0].map { asciiLowercased($0) == asciiLowercased(name) } ?? false },
        ]
        for rule in rules {
            let found = ids.indices.filter(rule)
            if found.count == 1 { return .model(found[0]) }
            if found.count > 1 { return .ambiguous(found) }
        }
        return .notInCollection
    }

    static func asciiLowercased(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// Judges each model's claims (`claims[i]` nil for a model whose files were not read).
    static func entries(_ claims: [[OriginClaim]?], paths: [String?], view: View) -> (audit: [AuditEntry], unclaimed: [Int]) {
        var audit: [AuditEntry] = [], unclaimed: [Int] = []
        // An empty id matches no claim (a claim's name is never empty).
        let claimable = view.ids.indices.map { view.latent.contains($0) ? "" : view.ids[$0] }
        for (m, list) in claims.enumerated() {
            guard let list else { continue }
            if list.isEmpty { unclaimed.append(m) }
            for claim in list {
                audit.append(judge(claim, of: m, target: resolve(claim.claimed, ids: claimable, paths: paths), view))
            }
        }
        return (audit, unclaimed)
    }

    /// The verdict on one claim of model `m` whose text names `target`.
    static func judge(_ claim: OriginClaim, of m: Int, target: ClaimTarget, _ view: View) -> AuditEntry {
        let ids = view.ids
        let links = view.group[m].flatMap { view.links[$0] }
        let primary = links.first
        func entry(_ verdict: AuditEntry.Verdict, _ link: Link?, _ evidence: String) -> AuditEntry {
            AuditEntry(model: m, source: claim.source, claimed: claim.claimed, relation: claim.relation, verdict: verdict,
                       recovered: link?.parent, evidence: evidence, confidence: link?.confidence ?? .nan)
        }
        func describe(_ link: Link) -> String {
            var numbers: [String] = []
            if view.measured {
                numbers = ["distance \(Formatting.significant(link.distance))", "confidence \(Formatting.fixed(link.confidence, 2))"]
                if link.unsure { numbers.append("unsure") }
            }
            return "\(link.type.rawValue) edge \(ids[link.parent]) -> \(ids[m])" + (numbers.isEmpty ? "" : " (" + numbers.joined(separator: ", ") + ")")
        }
        // Every parent the weights found (a merge has several), the primary one first.
        let pointer = links.isEmpty ? "the weights make \(ids[m]) a root (no model of the collection is its parent)"
            : "the weights point to \(links.map { ids[$0.parent] }.joined(separator: " and ")): \(links.map(describe).joined(separator: ", "))"
        switch target {
        case .notInCollection:
            return entry(.unsupported, primary, "\(claim.claimed) is not in the collection; \(pointer)")
        case .ambiguous(let candidates):
            return entry(.unsupported, primary, "\(claim.claimed) could name any of \(candidates.map { ids[$0] }.joined(separator: ", ")); \(pointer)")
        case .model(let c):
            if let link = links.first(where: { view.group[$0.parent].contains(c) }) {
                var evidence = "the weights agree: \(describe(link))"
                if link.parent != c { evidence += "; \(ids[c]) is an identical copy of \(ids[link.parent])" }
                if let said = claim.relation, said != link.type.rawValue, !(said == "finetune" && link.type == .finetune) {
                    evidence += "; the card calls it \(said)"
                }
                return entry(.agrees, link, evidence)
            }
            return entry(.contradicts, primary, "\(pointer); \(ids[c]) \(kinship(of: c, to: m, view))")
        }
    }

    /// Where model `c` sits relative to model `m`, for a contradicted claim ("is its grandparent").
    static func kinship(of c: Int, to m: Int, _ view: View) -> String {
        if c == m { return "is the model itself" }
        if view.group[m].contains(c) { return "is an identical copy of it (a duplicate, not a parent)" }
        func line(from start: Int) -> [Int] {        // start, its primary parent, its parent's, …
            var out = [start], seen: Set<Int> = [start]
            var at = start
            while let p = view.group[at].lazy.compactMap({ view.links[$0].first?.parent }).first, seen.insert(view.group[p][0]).inserted {
                out.append(p); at = p
            }
            return out
        }
        let up = line(from: m), down = line(from: c)
        func sameModel(_ a: Int, _ b: Int) -> Bool { view.group[a].contains(b) }
        if let k = up.firstIndex(where: { sameModel($0, c) }) {
            return k == 2 ? "is its grandparent" : "is its ancestor \(k) edges up"
        }
        if let k = down.firstIndex(where: { sameModel($0, m) }) {
            return k == 1 ? "is its child: the weights read the relation the other way" : "descends from it (\(k) edges down)"
        }
        if up.count > 1, down.count > 1, sameModel(up[1], down[1]) { return "is its sibling" }
        if let a = up.last, let b = down.last, sameModel(a, b) { return "is in its family but not its parent" }
        return "is in another family"
    }
}

extension Audit.View {
    /// The recovered graph's relations.
    init(_ graph: ModelGraph) {
        var group = (0..<graph.count).map { [$0] }
        for members in graph.duplicates { for m in members { group[m] = members } }
        let links = (0..<graph.count).map { child in
            graph.edges(into: child).filter { !graph.joinsCopies($0) }.map {
                Audit.Link(parent: $0.parent, type: $0.type, distance: $0.distance, confidence: $0.confidence, unsure: $0.unsure)
            }
        }
        self.init(ids: graph.ids, links: links, group: group, measured: true,
                  latent: Set(graph.models.indices.filter { graph.models[$0].latent }))
    }

    /// A truth's relations over the models `ids` (latent nodes are parents outside the collection:
    /// their children have no link).
    /// - Throws: `.invalidArgument` when the truth names ids not among `ids`.
    init(_ truth: Truth, ids: [String]) throws {
        var index: [String: Int] = [:]
        for (k, id) in ids.enumerated() { index[id] = k }
        func at(_ id: String) throws -> Int {
            guard let k = index[id] else { throw ModelTreeError.invalidArgument("truth names '\(id)', which is not among the models") }
            return k
        }
        var group = ids.indices.map { [$0] }
        for members in truth.duplicates {
            let ks = try members.map(at)
            for k in ks { group[k] = ks }
        }
        var links = [[Audit.Link]](repeating: [], count: ids.count)
        for e in truth.edges {
            links[try at(e.child)].append(Audit.Link(parent: try at(e.parent), type: e.type, distance: .nan, confidence: .nan, unsure: false))
        }
        self.init(ids: ids, links: links, group: group, measured: false)
    }
}

extension ModelGraph {
    /// The graph with the audit of `models`' claims (`Claims.read` for each model with a path),
    /// and a note for each card file that could not be read.
    func audited(_ models: [Model]) throws -> ModelGraph {
        var notes: [String] = []
        let claims: [[OriginClaim]?] = models.map { model in
            guard let path = model.path else { return nil }
            let read = Claims.read(path: path, ggufMetadata: model.format == "gguf" ? model.metadata : nil)
            notes += read.problems.map { "model '\(model.id)': \($0)" }
            return read.claims
        }
        let (entries, unclaimed) = Audit.entries(claims, paths: self.models.map(\.path), view: Audit.View(self))
        var graph = notes.isEmpty ? self : try prepending(warnings: notes)
        graph.audit = entries
        graph.unclaimed = unclaimed
        return graph
    }
}

extension Audit {
    /// The claims of the models at `locations` judged against the edges of `truth` instead of
    /// recovered ones: the audit's own mistakes, apart from those of the edges it reads
    /// (`modeltree-cli audit --edges-from-truth`). No weight is compared.
    /// - Returns: the entries, the unclaimed models (indices into `locations`) and notes on card
    ///   files that could not be read.
    /// - Throws: `.invalidArgument` when the truth names ids not among the models.
    public static func against(_ truth: Truth, locations: [ModelLocation]) throws -> (audit: [AuditEntry], unclaimed: [Int], notes: [String]) {
        let view = try View(truth, ids: locations.map(\.id))
        var notes: [String] = []
        let claims: [[OriginClaim]?] = locations.map { location in
            let read = Claims.read(path: location.path)
            notes += read.problems.map { "model '\(location.id)': \($0)" }
            return read.claims
        }
        let (audit, unclaimed) = entries(claims, paths: locations.map(\.path), view: view)
        return (audit, unclaimed, notes)
    }
}
