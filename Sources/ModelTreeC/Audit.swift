// modeltree_graph_audit_*, modeltree_graph_model_unclaimed and modeltree_score_audit: the audit
// of the models' claims (`ModelGraph.audit`), its strings allocated once with the graph.
import CModelTree
import ModelTree

/// The audit of a graph as its C accessors hand it out. Immutable after `init`.
final class _GraphAudit {
    let entries: [AuditEntry]
    let unclaimed: Set<Int>
    private let sources: _CStrings
    private let claimed: _CStrings
    private let relations: _CStrings
    private let evidence: _CStrings

    init(_ graph: ModelGraph) throws {
        entries = graph.audit
        unclaimed = Set(graph.unclaimed)
        sources = try _CStrings(entries.map(\.source.rawValue))
        claimed = try _CStrings(entries.map(\.claimed))
        relations = try _CStrings(entries.map(\.relation))
        evidence = try _CStrings(entries.map { singleLine($0.evidence) })   // "one line" (modeltree.h)
    }

    /// `k` as a claim index, or nil when out of range (`size_t` arrives as `Int`: a huge value is negative).
    func claim(_ k: Int) -> AuditEntry? { k >= 0 && k < entries.count ? entries[k] : nil }
    func source(_ k: Int) -> UnsafePointer<CChar>? { sources[k] }
    func claimedText(_ k: Int) -> UnsafePointer<CChar>? { claimed[k] }
    func relation(_ k: Int) -> UnsafePointer<CChar>? { relations[k] }
    func evidenceText(_ k: Int) -> UnsafePointer<CChar>? { evidence[k] }
}

extension modeltree_verdict_t {
    init(_ verdict: AuditEntry.Verdict) {
        switch verdict {
        case .agrees: self = MODELTREE_VERDICT_AGREES
        case .contradicts: self = MODELTREE_VERDICT_CONTRADICTS
        case .unsupported: self = MODELTREE_VERDICT_UNSUPPORTED
        }
    }
}

/// The C function `modeltree_graph_audit_count`.
@c @implementation
public func modeltree_graph_audit_count(_ g: OpaquePointer!) -> Int {
    _Graph.from(g)?.audit.entries.count ?? 0
}

/// The C function `modeltree_graph_audit_model`.
@c @implementation
public func modeltree_graph_audit_model(_ g: OpaquePointer!, _ k: Int) -> Int64 {
    guard let e = _Graph.from(g)?.audit.claim(k) else { return MODELTREE_INDEX_INVALID }
    return Int64(e.model)
}

/// The C function `modeltree_graph_audit_source`.
@c @implementation
public func modeltree_graph_audit_source(_ g: OpaquePointer!, _ k: Int) -> UnsafePointer<CChar>! {
    _Graph.from(g)?.audit.source(k)
}

/// The C function `modeltree_graph_audit_claimed`.
@c @implementation
public func modeltree_graph_audit_claimed(_ g: OpaquePointer!, _ k: Int) -> UnsafePointer<CChar>! {
    _Graph.from(g)?.audit.claimedText(k)
}

/// The C function `modeltree_graph_audit_relation`.
@c @implementation
public func modeltree_graph_audit_relation(_ g: OpaquePointer!, _ k: Int) -> UnsafePointer<CChar>! {
    _Graph.from(g)?.audit.relation(k)
}

/// The C function `modeltree_graph_audit_verdict`.
@c @implementation
public func modeltree_graph_audit_verdict(_ g: OpaquePointer!, _ k: Int) -> modeltree_verdict_t {
    guard let e = _Graph.from(g)?.audit.claim(k) else { return MODELTREE_VERDICT_NONE }
    return modeltree_verdict_t(e.verdict)
}

/// The C function `modeltree_graph_audit_recovered`.
@c @implementation
public func modeltree_graph_audit_recovered(_ g: OpaquePointer!, _ k: Int) -> Int64 {
    guard let e = _Graph.from(g)?.audit.claim(k) else { return MODELTREE_INDEX_INVALID }
    return e.recovered.map(Int64.init) ?? MODELTREE_NO_PARENT
}

/// The C function `modeltree_graph_audit_evidence`.
@c @implementation
public func modeltree_graph_audit_evidence(_ g: OpaquePointer!, _ k: Int) -> UnsafePointer<CChar>! {
    _Graph.from(g)?.audit.evidenceText(k)
}

/// The C function `modeltree_graph_audit_confidence`.
@c @implementation
public func modeltree_graph_audit_confidence(_ g: OpaquePointer!, _ k: Int) -> Double {
    _Graph.from(g)?.audit.claim(k)?.confidence ?? .nan
}

/// The C function `modeltree_graph_model_unclaimed`.
@c @implementation
public func modeltree_graph_model_unclaimed(_ g: OpaquePointer!, _ i: Int) -> Bool {
    guard let g = _Graph.from(g), let i = g.model(i) else { return false }
    return g.audit.unclaimed.contains(i)
}

/// The C function `modeltree_score_audit`.
@c @implementation
public func modeltree_score_audit(
    _ s: OpaquePointer!, _ correct: UnsafeMutablePointer<Int>!, _ total: UnsafeMutablePointer<Int>!,
    _ unclaimed_correct: UnsafeMutablePointer<Int>!, _ unclaimed_total: UnsafeMutablePointer<Int>!
) -> Double {
    let audit = _Score.from(s)?.score.audit
    correct?.pointee = audit?.correct ?? 0
    total?.pointee = audit?.total ?? 0
    unclaimed_correct?.pointee = audit?.unclaimedCorrect ?? 0
    unclaimed_total?.pointee = audit?.unclaimedTotal ?? 0
    return audit?.accuracy ?? .nan
}
