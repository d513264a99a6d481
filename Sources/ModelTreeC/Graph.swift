// modeltree_graph_*: a recovered graph behind an opaque handle, with the C strings its
// accessors return allocated once, up front, and freed with the graph; per-model arrays for the
// bulk accessors; the text forms rendered by the core.
import CModelTree
import ModelTree

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a `modeltree_graph_t *` points at. Immutable after `init`, so any number of threads may
/// read it at once.
final class _Graph {
    let graph: ModelGraph
    /// The per-model values of the accessors, indexed by model (the primary edge's for edges).
    let parents: [Int64]
    let edgeDistances: [Double]
    let edgeConfidences: [Double]
    let edgesUnsure: [Bool]
    let edgeTypes: [modeltree_edge_type_t]
    let treeOf: [Int64]
    /// Every relation, in the graph's order (`modeltree_graph_edge_*` by edge index).
    let relations: [ModelGraph.Edge]
    /// Model id → index.
    let index: [String: Int]
    /// `malloc`ed copies of the strings accessors hand out (see `_CStrings`).
    private let ids: _CStrings
    private let paths: _CStrings
    private let tensors: _CStrings
    private let warnings: _CStrings

    init(_ graph: ModelGraph) throws {
        let n = graph.count
        let edges = (0..<n).map { graph.primaryEdge(into: $0) }
        parents = edges.map { Int64($0?.parent ?? Int(MODELTREE_NO_PARENT)) }
        edgeDistances = edges.map { $0?.distance ?? .nan }
        edgeConfidences = edges.map { $0?.confidence ?? .nan }
        edgesUnsure = edges.map { $0?.unsure ?? false }
        edgeTypes = edges.map { modeltree_edge_type_t($0?.type ?? .finetune) }
        treeOf = (0..<n).map { Int64(graph.tree(of: $0)) }
        relations = graph.relations
        var index = [String: Int](minimumCapacity: n)
        for (i, m) in graph.models.enumerated() { index[m.id] = i }
        ids = try _CStrings(graph.models.map(\.id))
        paths = try _CStrings(graph.models.map(\.path))
        tensors = try _CStrings(graph.tensors)
        warnings = try _CStrings(graph.warnings.map(singleLine))   // "one line" (modeltree.h)
        self.graph = graph
        self.index = index
    }

    /// The graph behind a handle; nil for NULL.
    static func from(_ handle: OpaquePointer?) -> _Graph? {
        guard let handle else { return nil }
        return _Handle.borrow(handle, as: _Graph.self)
    }

    /// `i` as a model index, or nil when out of range (`size_t` arrives as `Int`: a huge value is
    /// negative).
    func model(_ i: Int) -> Int? { i >= 0 && i < graph.count ? i : nil }
    func tree(_ t: Int) -> Int? { t >= 0 && t < graph.trees.count ? t : nil }

    func id(_ i: Int) -> UnsafePointer<CChar>? { ids[i] }
    func path(_ i: Int) -> UnsafePointer<CChar>? { paths[i] }
    func tensor(_ k: Int) -> UnsafePointer<CChar>? { tensors[k] }
    func warning(_ k: Int) -> UnsafePointer<CChar>? { warnings[k] }
    var tensorCount: Int { tensors.count }
    var warningCount: Int { warnings.count }
}

/// The C function `modeltree_graph_free`.
@c @implementation
public func modeltree_graph_free(_ g: OpaquePointer!) {
    guard let g else { return }
    _Handle.release(g, as: _Graph.self)
}

/// The C function `modeltree_graph_model_count`.
@c @implementation
public func modeltree_graph_model_count(_ g: OpaquePointer!) -> Int {
    _Graph.from(g)?.graph.count ?? 0
}

/// The C function `modeltree_graph_model_id`.
@c @implementation
public func modeltree_graph_model_id(_ g: OpaquePointer!, _ i: Int) -> UnsafePointer<CChar>! {
    guard let g = _Graph.from(g), let i = g.model(i) else { return nil }
    return g.id(i)
}

/// The C function `modeltree_graph_find`.
@c @implementation
public func modeltree_graph_find(_ g: OpaquePointer!, _ model_id: UnsafePointer<CChar>!) -> Int64 {
    guard let g = _Graph.from(g), let model_id else { return MODELTREE_INDEX_INVALID }
    guard let id = String(validatingCString: model_id), let i = g.index[id] else { return -1 }
    return Int64(i)
}

/// The C function `modeltree_graph_model_path`.
@c @implementation
public func modeltree_graph_model_path(_ g: OpaquePointer!, _ i: Int) -> UnsafePointer<CChar>! {
    guard let g = _Graph.from(g), let i = g.model(i) else { return nil }
    return g.path(i)
}

/// The C function `modeltree_graph_model_kurtosis`.
@c @implementation
public func modeltree_graph_model_kurtosis(_ g: OpaquePointer!, _ i: Int) -> Double {
    guard let g = _Graph.from(g), let i = g.model(i) else { return .nan }
    return g.graph.models[i].kurtosis
}

/// The C function `modeltree_graph_parent`.
@c @implementation
public func modeltree_graph_parent(_ g: OpaquePointer!, _ i: Int) -> Int64 {
    guard let g = _Graph.from(g), let i = g.model(i) else { return MODELTREE_INDEX_INVALID }
    return g.parents[i]
}

/// The C function `modeltree_graph_duplicate_of`.
@c @implementation
public func modeltree_graph_duplicate_of(_ g: OpaquePointer!, _ i: Int) -> Int64 {
    guard let g = _Graph.from(g), let i = g.model(i) else { return MODELTREE_INDEX_INVALID }
    guard let group = g.graph.duplicateGroup(of: i) else { return Int64(MODELTREE_NO_PARENT) }
    return Int64(g.graph.duplicates[group][0])
}

/// The C function `modeltree_graph_edge_distance`.
@c @implementation
public func modeltree_graph_edge_distance(_ g: OpaquePointer!, _ i: Int) -> Double {
    guard let g = _Graph.from(g), let i = g.model(i) else { return .nan }
    return g.edgeDistances[i]
}

/// The C function `modeltree_graph_edge_confidence`.
@c @implementation
public func modeltree_graph_edge_confidence(_ g: OpaquePointer!, _ i: Int) -> Double {
    guard let g = _Graph.from(g), let i = g.model(i) else { return .nan }
    return g.edgeConfidences[i]
}

/// The C function `modeltree_graph_edge_unsure`.
@c @implementation
public func modeltree_graph_edge_unsure(_ g: OpaquePointer!, _ i: Int) -> Bool {
    guard let g = _Graph.from(g), let i = g.model(i) else { return false }
    return g.edgesUnsure[i]
}

/// The C function `modeltree_graph_distances`: all or nothing, always returns n * n.
@c @implementation
public func modeltree_graph_distances(_ g: OpaquePointer!, _ out: UnsafeMutablePointer<Double>!, _ capacity: Int) -> Int {
    _copy(_Graph.from(g)?.graph.distances.elements, to: out, capacity: capacity)
}

/// The C function `modeltree_graph_parents`.
@c @implementation
public func modeltree_graph_parents(_ g: OpaquePointer!, _ out: UnsafeMutablePointer<Int64>!, _ capacity: Int) -> Int {
    _copy(_Graph.from(g)?.parents, to: out, capacity: capacity)
}

/// The C function `modeltree_graph_edge_distances`.
@c @implementation
public func modeltree_graph_edge_distances(_ g: OpaquePointer!, _ out: UnsafeMutablePointer<Double>!, _ capacity: Int) -> Int {
    _copy(_Graph.from(g)?.edgeDistances, to: out, capacity: capacity)
}

/// The C function `modeltree_graph_edge_confidences`.
@c @implementation
public func modeltree_graph_edge_confidences(_ g: OpaquePointer!, _ out: UnsafeMutablePointer<Double>!, _ capacity: Int) -> Int {
    _copy(_Graph.from(g)?.edgeConfidences, to: out, capacity: capacity)
}

/// The C function `modeltree_graph_edges_unsure`.
@c @implementation
public func modeltree_graph_edges_unsure(_ g: OpaquePointer!, _ out: UnsafeMutablePointer<Bool>!, _ capacity: Int) -> Int {
    _copy(_Graph.from(g)?.edgesUnsure, to: out, capacity: capacity)
}

/// The C function `modeltree_graph_edge_types`.
@c @implementation
public func modeltree_graph_edge_types(_ g: OpaquePointer!, _ out: UnsafeMutablePointer<modeltree_edge_type_t>!,
                                       _ capacity: Int) -> Int {
    _copy(_Graph.from(g)?.edgeTypes, to: out, capacity: capacity)
}

/// The C function `modeltree_graph_model_trees`.
@c @implementation
public func modeltree_graph_model_trees(_ g: OpaquePointer!, _ out: UnsafeMutablePointer<Int64>!, _ capacity: Int) -> Int {
    _copy(_Graph.from(g)?.treeOf, to: out, capacity: capacity)
}

/// The C function `modeltree_graph_unsure_threshold`.
@c @implementation
public func modeltree_graph_unsure_threshold(_ g: OpaquePointer!) -> Double {
    _Graph.from(g)?.graph.unsureThreshold ?? .nan
}

/// The C function `modeltree_graph_metric`.
@c @implementation
public func modeltree_graph_metric(_ g: OpaquePointer!) -> modeltree_metric_t {
    guard let g = _Graph.from(g) else { return MODELTREE_METRIC_AUTO }
    return modeltree_metric_t(g.graph.metric)
}

/// The C function `modeltree_graph_tree_count`.
@c @implementation
public func modeltree_graph_tree_count(_ g: OpaquePointer!) -> Int {
    _Graph.from(g)?.graph.trees.count ?? 0
}

/// The C function `modeltree_graph_tree_root`.
@c @implementation
public func modeltree_graph_tree_root(_ g: OpaquePointer!, _ t: Int) -> Int64 {
    guard let g = _Graph.from(g), let t = g.tree(t) else { return MODELTREE_INDEX_INVALID }
    return Int64(g.graph.trees[t].root)
}

/// The C function `modeltree_graph_tree_of`.
@c @implementation
public func modeltree_graph_tree_of(_ g: OpaquePointer!, _ i: Int) -> Int64 {
    guard let g = _Graph.from(g), let i = g.model(i) else { return MODELTREE_INDEX_INVALID }
    return g.treeOf[i]
}

/// The C function `modeltree_graph_tree_direction`.
@c @implementation
public func modeltree_graph_tree_direction(_ g: OpaquePointer!, _ t: Int) -> modeltree_direction_t {
    guard let g = _Graph.from(g), let t = g.tree(t) else { return MODELTREE_DIRECTION_AUTO }
    return modeltree_direction_t(g.graph.trees[t].direction)
}

/// The C function `modeltree_graph_tree_direction_unsure`.
@c @implementation
public func modeltree_graph_tree_direction_unsure(_ g: OpaquePointer!, _ t: Int) -> Bool {
    guard let g = _Graph.from(g), let t = g.tree(t) else { return false }
    return g.graph.trees[t].directionUnsure
}

/// The C function `modeltree_graph_tensor_count`.
@c @implementation
public func modeltree_graph_tensor_count(_ g: OpaquePointer!) -> Int {
    _Graph.from(g)?.tensorCount ?? 0
}

/// The C function `modeltree_graph_tensor_name`.
@c @implementation
public func modeltree_graph_tensor_name(_ g: OpaquePointer!, _ k: Int) -> UnsafePointer<CChar>! {
    _Graph.from(g)?.tensor(k)
}

/// The C function `modeltree_graph_warning_count`.
@c @implementation
public func modeltree_graph_warning_count(_ g: OpaquePointer!) -> Int {
    _Graph.from(g)?.warningCount ?? 0
}

/// The C function `modeltree_graph_warning`.
@c @implementation
public func modeltree_graph_warning(_ g: OpaquePointer!, _ k: Int) -> UnsafePointer<CChar>! {
    _Graph.from(g)?.warning(k)
}

/// The C function `modeltree_graph_to_json`: the CLI's JSON document, in `malloc`ed memory.
@c @implementation
public func modeltree_graph_to_json(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>!, _ g: OpaquePointer!
) -> modeltree_status_t {
    _catching { try _render(out, g, .json, score: nil, "modeltree_graph_to_json") }
}

/// The C function `modeltree_graph_render`: `ModelGraph.render`, in `malloc`ed memory.
@c @implementation
public func modeltree_graph_render(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>!, _ g: OpaquePointer!,
    _ format: modeltree_format_t, _ score: OpaquePointer!
) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_graph_render"
        guard let known = format._format else {
            if let out { out.pointee = nil }
            throw ModelTreeError.invalidArgument("\(function): unknown format \(format.rawValue)")
        }
        try _render(out, g, known, score: _Score.from(score)?.score, function)
    }
}

/// Renders the graph behind `g` into `*out`.
private func _render(_ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ g: OpaquePointer?,
                     _ format: OutputFormat, score: Score?, _ function: StaticString) throws {
    let out = try _required(out, "out", function)
    out.pointee = nil
    guard let graph = _Graph.from(g) else {
        throw ModelTreeError.invalidArgument("\(function): graph is NULL")
    }
    out.pointee = try _mallocCString(graph.graph.render(format, score: score))
}

/// The C function `modeltree_string_free`.
@c @implementation
public func modeltree_string_free(_ s: UnsafeMutablePointer<CChar>!) {
    free(s)
}
