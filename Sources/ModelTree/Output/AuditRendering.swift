/// The audit (`ModelGraph.audit`) in the JSON document and in the text for people.
extension AuditEntry {
    /// `{model, source, claimed, relation, verdict, recovered, evidence, confidence}` on one line.
    func json(_ ids: [String]) -> String {
        typealias F = Formatting
        return "{\"model\": \(F.jsonString(ids[model])), \"source\": \(F.jsonString(source.rawValue)), "
            + "\"claimed\": \(F.jsonString(claimed)), \"relation\": \(relation.map(F.jsonString) ?? "null"), "
            + "\"verdict\": \(F.jsonString(verdict.rawValue)), \"recovered\": \(recovered.map { F.jsonString(ids[$0]) } ?? "null"), "
            + "\"evidence\": \(F.jsonString(evidence)), \"confidence\": \(F.jsonNumber(confidence))}"
    }
}

extension ModelGraph {
    /// The audit section of `text()`: one line per claim, then the models that claim nothing;
    /// empty when no model's files were read.
    func auditText() -> String {
        guard !audit.isEmpty || !unclaimed.isEmpty else { return "" }
        let l = singleLine      // names and claims are a stranger's text
        var out = "\nAudit of what the models' files claim (judged by the weights; claims place no edge):\n"
        for e in audit {
            out += "  \(l(models[e.model].id))  \(e.source.rawValue) says \(l(e.claimed))"
                + (e.relation.map { " (\(l($0)))" } ?? "") + ": \(e.verdict.rawValue.uppercased()) — \(l(e.evidence))\n"
        }
        let counts = AuditEntry.Verdict.allCases.map { v in "\(audit.filter { $0.verdict == v }.count) \(v.rawValue)" }
        out += "  \(audit.count) claim\(audit.count == 1 ? "" : "s"): \(counts.joined(separator: ", "))\n"
        if !unclaimed.isEmpty {
            out += "  claiming nothing: \(unclaimed.map { l(models[$0].id) }.joined(separator: ", "))\n"
        }
        return out
    }
}
