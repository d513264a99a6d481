// modeltree_graph_evaluate* and modeltree_score_*: a graph scored against a truth (a file, a JSON
// document or arrays of ids), parsed and scored by the core, behind an opaque handle.
import CModelTree
import ModelTree

/// What a `modeltree_score_t *` points at. Immutable after `init`.
final class _Score {
    let score: Score
    let roots: _CStrings
    let correct: [Int]
    let total: [Int]
    let accuracy: [Double]

    init(_ score: Score) throws {
        self.score = score
        roots = try _CStrings(score.trees.map(\.root))
        correct = score.trees.map(\.correct)
        total = score.trees.map(\.total)
        accuracy = score.trees.map(\.accuracy)
    }

    /// The score behind a handle; nil for NULL.
    static func from(_ handle: OpaquePointer?) -> _Score? {
        guard let handle else { return nil }
        return _Handle.borrow(handle, as: _Score.self)
    }
}

/// Scores the graph behind `g` against the truth `truth()` makes, into `*out`.
private func _evaluate(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ g: OpaquePointer?, _ function: StaticString,
                       _ truth: () throws -> Truth) -> modeltree_status_t {
    _catching {
        let out = try _required(out, "out", function)
        out.pointee = nil
        guard let graph = _Graph.from(g) else { throw ModelTreeError.invalidArgument("\(function): graph is NULL") }
        out.pointee = _Handle.make(try _Score(try graph.graph.score(against: try truth())))
    }
}

/// The C function `modeltree_graph_evaluate_file`.
@c @implementation
public func modeltree_graph_evaluate_file(
    _ out: UnsafeMutablePointer<OpaquePointer?>!, _ g: OpaquePointer!, _ path: UnsafePointer<CChar>!
) -> modeltree_status_t {
    _evaluate(out, g, "modeltree_graph_evaluate_file") {
        try Truth(contentsOf: try _string(path, "path", "modeltree_graph_evaluate_file"))
    }
}

/// The C function `modeltree_graph_evaluate_json`.
@c @implementation
public func modeltree_graph_evaluate_json(
    _ out: UnsafeMutablePointer<OpaquePointer?>!, _ g: OpaquePointer!, _ document: UnsafePointer<CChar>!
) -> modeltree_status_t {
    _evaluate(out, g, "modeltree_graph_evaluate_json") {
        try Truth(document: try _string(document, "document", "modeltree_graph_evaluate_json", allowEmpty: true))
    }
}

/// The C function `modeltree_graph_evaluate`: true edges and roots as arrays of ids.
@c @implementation
public func modeltree_graph_evaluate(
    _ out: UnsafeMutablePointer<OpaquePointer?>!, _ g: OpaquePointer!,
    _ parents: UnsafePointer<UnsafePointer<CChar>?>!, _ children: UnsafePointer<UnsafePointer<CChar>?>!,
    _ edge_count: Int, _ roots: UnsafePointer<UnsafePointer<CChar>?>!, _ root_count: Int
) -> modeltree_status_t {
    let function: StaticString = "modeltree_graph_evaluate"
    return _evaluate(out, g, function) {
        let p = try _strings(parents, count: edge_count, "parents", function)
        let c = try _strings(children, count: edge_count, "children", function)
        let r = try _strings(roots, count: root_count, "roots", function)
        return Truth(edges: zip(p, c).map { ($0, $1) }, roots: r)
    }
}

/// The C function `modeltree_score_free`.
@c @implementation
public func modeltree_score_free(_ s: OpaquePointer!) {
    guard let s else { return }
    _Handle.release(s, as: _Score.self)
}

/// The C function `modeltree_score_correct`.
@c @implementation
public func modeltree_score_correct(_ s: OpaquePointer!) -> Int {
    _Score.from(s)?.score.correct ?? 0
}

/// The C function `modeltree_score_total`.
@c @implementation
public func modeltree_score_total(_ s: OpaquePointer!) -> Int {
    _Score.from(s)?.score.total ?? 0
}

/// The C function `modeltree_score_accuracy`.
@c @implementation
public func modeltree_score_accuracy(_ s: OpaquePointer!) -> Double {
    _Score.from(s)?.score.accuracy ?? .nan
}

/// The C function `modeltree_score_ari`.
@c @implementation
public func modeltree_score_ari(_ s: OpaquePointer!) -> Double {
    _Score.from(s)?.score.adjustedRandIndex ?? .nan
}

/// The C function `modeltree_score_tree_count`.
@c @implementation
public func modeltree_score_tree_count(_ s: OpaquePointer!) -> Int {
    _Score.from(s)?.score.trees.count ?? 0
}

/// The C function `modeltree_score_tree_root`.
@c @implementation
public func modeltree_score_tree_root(_ s: OpaquePointer!, _ t: Int) -> UnsafePointer<CChar>! {
    _Score.from(s)?.roots[t]
}

/// The C function `modeltree_score_trees`: the per-tree values, each array all or nothing.
@c @implementation
public func modeltree_score_trees(
    _ s: OpaquePointer!, _ correct: UnsafeMutablePointer<Int>!, _ total: UnsafeMutablePointer<Int>!,
    _ accuracy: UnsafeMutablePointer<Double>!, _ capacity: Int
) -> Int {
    guard let score = _Score.from(s) else { return 0 }
    _ = _copy(score.correct, to: correct, capacity: capacity)
    _ = _copy(score.total, to: total, capacity: capacity)
    return _copy(score.accuracy, to: accuracy, capacity: capacity)
}

/// The C function `modeltree_score_typed`.
@c @implementation
public func modeltree_score_typed(
    _ s: OpaquePointer!, _ correct: UnsafeMutablePointer<Int>!, _ truth: UnsafeMutablePointer<Int>!,
    _ reported: UnsafeMutablePointer<Int>!
) -> Double {
    guard let score = _Score.from(s)?.score else { return .nan }
    correct?.pointee = score.typedCorrect
    truth?.pointee = score.typedTrue
    reported?.pointee = score.typedReported
    return score.typedF1
}

/// The C function `modeltree_score_type_recall`.
@c @implementation
public func modeltree_score_type_recall(
    _ s: OpaquePointer!, _ type: UnsafePointer<CChar>!, _ correct: UnsafeMutablePointer<Int>!,
    _ total: UnsafeMutablePointer<Int>!
) -> Double {
    correct?.pointee = 0
    total?.pointee = 0
    guard let score = _Score.from(s)?.score, let type,
          let relation = score.relations.first(where: { $0.type == String(cString: type) }) else { return .nan }
    correct?.pointee = relation.correct
    total?.pointee = relation.total
    return relation.recall
}
