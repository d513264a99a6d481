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

extension Audit {
    /// The audit section of a text: one line per claim, a count per verdict, then the models
    /// that claim nothing; empty when no model's files were read.
    static func text(_ audit: [AuditEntry], unclaimed: [Int], ids: [String]) -> String {
        guard !audit.isEmpty || !unclaimed.isEmpty else { return "" }
        let l = singleLine      // names and claims are a stranger's text
        var out = "\nAudit of what the models' files claim (judged by the weights; claims place no edge):\n"
        for e in audit {
            out += "  \(l(ids[e.model]))  \(e.source.rawValue) says \(l(e.claimed))"
                + (e.relation.map { " (\(l($0)))" } ?? "") + ": \(e.verdict.rawValue.uppercased()) — \(l(e.evidence))\n"
        }
        let counts = AuditEntry.Verdict.allCases.map { v in "\(audit.filter { $0.verdict == v }.count) \(v.rawValue)" }
        out += "  \(audit.count) claim\(audit.count == 1 ? "" : "s"): \(counts.joined(separator: ", "))\n"
        if !unclaimed.isEmpty {
            out += "  claiming nothing: \(unclaimed.map { l(ids[$0]) }.joined(separator: ", "))\n"
        }
        return out
    }

    /// What `modeltree-cli audit` prints: the audit alone, as text or as a JSON document
    /// `{audit: [...], unclaimed: [id], warnings: [text], score: {…} when scored}` (the entries
    /// as in `ModelGraph.json`, the score as its `score.audit`).
    public static func report(_ audit: [AuditEntry], unclaimed: [Int], ids: [String], warnings: [String],
                              score: AuditScore?, json: Bool) -> String {
        typealias F = Formatting
        guard json else {
            var out = text(audit, unclaimed: unclaimed, ids: ids)
            if out.isEmpty { out = "\nNo model was read from a path: there are no files whose claims could be read.\n" }
            out.removeFirst()       // the section's blank line, which starts nothing here
            for w in warnings { out += "warning: \(singleLine(w))\n" }
            return out + (score.map { "\n" + $0.text() } ?? "")
        }
        var lines = ["{", "  \"audit\": ["]
        if !audit.isEmpty { lines.append(audit.map { "    " + $0.json(ids) }.joined(separator: ",\n")) }
        lines.append("  ],")
        lines.append("  \"unclaimed\": [\(unclaimed.map { F.jsonString(ids[$0]) }.joined(separator: ", "))],")
        lines.append("  \"warnings\": [\(warnings.map(F.jsonString).joined(separator: ", "))]" + (score == nil ? "" : ","))
        if let score { lines.append("  \"score\": " + score.json()) }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension ModelGraph {
    /// The audit section of `text()`: only when some file claims something (a collection without
    /// cards would list every model as claiming nothing, which `modeltree-cli audit` says instead).
    func auditText() -> String { audit.isEmpty ? "" : Audit.text(audit, unclaimed: unclaimed, ids: ids) }

    /// What `modeltree-cli audit` prints (`Audit.report`), with the graph's warnings.
    public func auditReport(json: Bool, score: Score? = nil) -> String {
        Audit.report(audit, unclaimed: unclaimed, ids: ids, warnings: warnings, score: score?.audit, json: json)
    }
}
