/// How well an audit (`ModelGraph.audit`, `unclaimed`) matches a truth's `claims` and `unclaimed`.
public struct AuditScore: Sendable, Equatable {
    /// A true claim the audit got wrong or missed.
    public struct Mistake: Sendable, Equatable {
        public var model: String
        public var source: String
        public var claimed: String
        /// nil when the audit reported no such claim.
        public var reported: AuditEntry.Verdict?
        public var truth: AuditEntry.Verdict
    }

    /// True claims reported with the true verdict.
    public var correct: Int
    /// Claims the truth lists.
    public var total: Int
    /// True claims the audit did not report at all (a file it did not read, a name it read otherwise).
    public var missing: Int
    /// Claims the audit reported that the truth does not list.
    public var extra: Int
    /// Per true verdict, in `Verdict.allCases` order: claims with it, and those reported with it.
    public var verdicts: [(verdict: AuditEntry.Verdict, correct: Int, total: Int)]
    /// The truth's unclaimed models the audit also found claiming nothing.
    public var unclaimedCorrect: Int
    public var unclaimedTotal: Int
    /// Models the audit found claiming nothing that the truth does not list as unclaimed.
    public var unclaimedExtra: Int
    /// The true claims it got wrong or missed, in the truth's order.
    public var mistakes: [Mistake]

    /// correct / total; NaN when the truth lists no claim.
    public var accuracy: Double { total == 0 ? .nan : Double(correct) / Double(total) }

    public static func == (a: AuditScore, b: AuditScore) -> Bool {
        a.correct == b.correct && a.total == b.total && a.missing == b.missing && a.extra == b.extra
            && a.verdicts.map(\.verdict) == b.verdicts.map(\.verdict) && a.verdicts.map(\.correct) == b.verdicts.map(\.correct)
            && a.verdicts.map(\.total) == b.verdicts.map(\.total) && a.unclaimedCorrect == b.unclaimedCorrect
            && a.unclaimedTotal == b.unclaimedTotal && a.unclaimedExtra == b.unclaimedExtra && a.mistakes == b.mistakes
    }

    /// Scores `audit` and `unclaimed` (over models `ids`) against `truth`: a true claim is matched
    /// by model, source and claimed text (each reported claim matches at most one true claim, so a
    /// card that says one name twice is two claims), and counts when the verdicts are equal.
    /// nil when the truth has neither claims nor unclaimed models (an untyped truth).
    public static func score(_ audit: [AuditEntry], unclaimed: [Int], ids: [String], truth: Truth) -> AuditScore? {
        guard !truth.claims.isEmpty || !truth.unclaimed.isEmpty else { return nil }
        struct Key: Hashable { var model: String, source: String, claimed: String }
        var reported: [Key: [AuditEntry.Verdict]] = [:]
        for e in audit { reported[Key(model: ids[e.model], source: e.source.rawValue, claimed: e.claimed), default: []].append(e.verdict) }
        var correct = 0, missing = 0
        var perVerdict: [AuditEntry.Verdict: (correct: Int, total: Int)] = [:]
        var mistakes: [Mistake] = []
        for claim in truth.claims {
            let key = Key(model: claim.model, source: claim.source, claimed: claim.claimed)
            let verdict = reported[key]?.first
            if verdict != nil { reported[key]!.removeFirst() } else { missing += 1 }
            let right = verdict == claim.verdict
            if right { correct += 1 } else {
                mistakes.append(Mistake(model: claim.model, source: claim.source, claimed: claim.claimed, reported: verdict, truth: claim.verdict))
            }
            perVerdict[claim.verdict, default: (0, 0)].total += 1
            if right { perVerdict[claim.verdict, default: (0, 0)].correct += 1 }
        }
        let ours = Set(unclaimed.map { ids[$0] }), theirs = Set(truth.unclaimed)
        return AuditScore(
            correct: correct, total: truth.claims.count, missing: missing, extra: reported.values.reduce(0) { $0 + $1.count },
            verdicts: AuditEntry.Verdict.allCases.compactMap { v in perVerdict[v].map { (v, $0.correct, $0.total) } },
            unclaimedCorrect: ours.intersection(theirs).count, unclaimedTotal: theirs.count,
            unclaimedExtra: ours.subtracting(theirs).count, mistakes: mistakes)
    }

    /// The audit's score on one line, then its mistakes (at most `shown`), for the text output.
    func text(shown: Int = 20) -> String {
        typealias F = Formatting
        var out = "Audit: \(correct)/\(total) claims with the true verdict"
            + (total == 0 ? "" : " (\(F.fixed(100 * accuracy, 1))%)")
            + (verdicts.isEmpty ? "" : "; by true verdict: " + verdicts.map { "\($0.verdict.rawValue) \($0.correct)/\($0.total)" }.joined(separator: ", "))
            + (missing > 0 ? "; \(missing) not reported" : "") + (extra > 0 ? "; \(extra) reported beyond the truth" : "")
            + "; unclaimed \(unclaimedCorrect)/\(unclaimedTotal)" + (unclaimedExtra > 0 ? " (+\(unclaimedExtra) not in the truth)" : "") + "\n"
        for m in mistakes.prefix(shown) {
            out += "  \(singleLine(m.model)) \(m.source) says \(singleLine(m.claimed)): \(m.reported?.rawValue ?? "not reported"), truth \(m.truth.rawValue)\n"
        }
        if mistakes.count > shown { out += "  … and \(mistakes.count - shown) more\n" }
        return out
    }

    /// The score as a JSON object.
    func json() -> String {
        typealias F = Formatting
        let verdicts = self.verdicts.map { "{\"verdict\": \(F.jsonString($0.verdict.rawValue)), \"correct\": \($0.correct), \"total\": \($0.total)}" }
        let mistakes = self.mistakes.map {
            "{\"model\": \(F.jsonString($0.model)), \"source\": \(F.jsonString($0.source)), \"claimed\": \(F.jsonString($0.claimed)), "
                + "\"reported\": \($0.reported.map { F.jsonString($0.rawValue) } ?? "null"), \"truth\": \(F.jsonString($0.truth.rawValue))}"
        }
        return "{\"correct\": \(correct), \"total\": \(total), \"accuracy\": \(F.jsonNumber(accuracy)), \"missing\": \(missing), "
            + "\"extra\": \(extra), \"verdicts\": [\(verdicts.joined(separator: ", "))], "
            + "\"unclaimed\": {\"correct\": \(unclaimedCorrect), \"total\": \(unclaimedTotal), \"extra\": \(unclaimedExtra)}, "
            + "\"mistakes\": [\(mistakes.joined(separator: ", "))]}"
    }
}
