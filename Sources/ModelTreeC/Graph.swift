// modeltree_graph_*: a recovered graph behind an opaque handle, with the C strings its
// accessors return allocated once, up front, and freed with the graph.
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
    /// `malloc`ed copies of the strings accessors hand out; freed in `deinit`.
    private let ids: [UnsafeMutablePointer<CChar>]
    private let paths: [UnsafeMutablePointer<CChar>?]
    private let tensors: [UnsafeMutablePointer<CChar>]
    private let warnings: [UnsafeMutablePointer<CChar>]
    /// Tree index of each model.
    let treeOf: [Int]
    /// Model id → index.
    let index: [String: Int]

    init(_ graph: ModelGraph) throws {
        let n = graph.count
        guard graph.paths.count == n, graph.kurtosis.count == n, graph.parent.count == n,
              graph.edgeDistance.count == n, graph.edgeConfidence.count == n, graph.unsure.count == n,
              graph.distances.count == n * n, graph.roots.count == graph.trees.count,
              graph.treeDirections.count == graph.trees.count,
              graph.treeDirectionUnsure.count == graph.trees.count,
              graph.parent.allSatisfy({ $0 >= -1 && $0 < n }),
              graph.roots.allSatisfy({ $0 >= 0 && $0 < n })
        else {
            throw ModelTreeError.internal("the recovered graph's arrays disagree in length or range")
        }
        var treeOf = [Int](repeating: -1, count: n)
        for (t, members) in graph.trees.enumerated() {
            for m in members {
                guard m >= 0, m < n, treeOf[m] == -1 else {
                    throw ModelTreeError.internal("model index \(m) of tree \(t) is out of range or in two trees")
                }
                treeOf[m] = t
            }
        }
        guard !treeOf.contains(-1) else {
            throw ModelTreeError.internal("a model belongs to no tree")
        }
        var index = [String: Int](minimumCapacity: n)
        for (i, id) in graph.ids.enumerated() { index[id] = i }

        // Allocate every string, releasing what was allocated if one allocation fails.
        var owned: [UnsafeMutablePointer<CChar>] = []
        func copy(_ s: String) throws -> UnsafeMutablePointer<CChar> {
            let p = try _mallocCString(s)
            owned.append(p)
            return p
        }
        do {
            ids = try graph.ids.map(copy)
            paths = try graph.paths.map { try $0.map(copy) }
            tensors = try graph.tensors.map(copy)
            warnings = try graph.warnings.map { try copy(singleLine($0)) }   // "one line" (modeltree.h)
        } catch {
            owned.forEach { free($0) }
            throw error
        }
        self.graph = graph
        self.treeOf = treeOf
        self.index = index
    }

    deinit {
        ids.forEach { free($0) }
        paths.forEach { free($0) }
        tensors.forEach { free($0) }
        warnings.forEach { free($0) }
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

    func id(_ i: Int) -> UnsafePointer<CChar> { UnsafePointer(ids[i]) }
    func path(_ i: Int) -> UnsafePointer<CChar>? { paths[i].map { UnsafePointer($0) } }
    func tensor(_ k: Int) -> UnsafePointer<CChar>? { k >= 0 && k < tensors.count ? UnsafePointer(tensors[k]) : nil }
    func warning(_ k: Int) -> UnsafePointer<CChar>? { k >= 0 && k < warnings.count ? UnsafePointer(warnings[k]) : nil }
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
    return g.graph.kurtosis[i]
}

/// The C function `modeltree_graph_parent`.
@c @implementation
public func modeltree_graph_parent(_ g: OpaquePointer!, _ i: Int) -> Int64 {
    guard let g = _Graph.from(g), let i = g.model(i) else { return MODELTREE_INDEX_INVALID }
    let p = g.graph.parent[i]
    return p < 0 ? MODELTREE_NO_PARENT : Int64(p)
}

/// The C function `modeltree_graph_edge_distance`.
@c @implementation
public func modeltree_graph_edge_distance(_ g: OpaquePointer!, _ i: Int) -> Double {
    guard let g = _Graph.from(g), let i = g.model(i), g.graph.parent[i] >= 0 else { return .nan }
    return g.graph.edgeDistance[i]
}

/// The C function `modeltree_graph_edge_confidence`.
@c @implementation
public func modeltree_graph_edge_confidence(_ g: OpaquePointer!, _ i: Int) -> Double {
    guard let g = _Graph.from(g), let i = g.model(i), g.graph.parent[i] >= 0 else { return .nan }
    return g.graph.edgeConfidence[i]
}

/// The C function `modeltree_graph_edge_unsure`.
@c @implementation
public func modeltree_graph_edge_unsure(_ g: OpaquePointer!, _ i: Int) -> Bool {
    guard let g = _Graph.from(g), let i = g.model(i), g.graph.parent[i] >= 0 else { return false }
    return g.graph.unsure[i]
}

/// The C function `modeltree_graph_distances`: all or nothing, always returns n * n.
@c @implementation
public func modeltree_graph_distances(_ g: OpaquePointer!, _ out: UnsafeMutablePointer<Double>!, _ capacity: Int) -> Int {
    guard let g = _Graph.from(g) else { return 0 }
    let distances = g.graph.distances
    // capacity is a size_t: compare unsigned so a huge capacity is not read as negative.
    if let out, UInt(bitPattern: capacity) >= UInt(distances.count) {
        distances.withUnsafeBufferPointer { buffer in
            if let base = buffer.baseAddress { out.update(from: base, count: buffer.count) }
        }
    }
    return distances.count
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
    return Int64(g.graph.roots[t])
}

/// The C function `modeltree_graph_tree_of`.
@c @implementation
public func modeltree_graph_tree_of(_ g: OpaquePointer!, _ i: Int) -> Int64 {
    guard let g = _Graph.from(g), let i = g.model(i) else { return MODELTREE_INDEX_INVALID }
    return Int64(g.treeOf[i])
}

/// The C function `modeltree_graph_tree_direction`.
@c @implementation
public func modeltree_graph_tree_direction(_ g: OpaquePointer!, _ t: Int) -> modeltree_direction_t {
    guard let g = _Graph.from(g), let t = g.tree(t) else { return MODELTREE_DIRECTION_AUTO }
    return modeltree_direction_t(g.graph.treeDirections[t])
}

/// The C function `modeltree_graph_tree_direction_unsure`.
@c @implementation
public func modeltree_graph_tree_direction_unsure(_ g: OpaquePointer!, _ t: Int) -> Bool {
    guard let g = _Graph.from(g), let t = g.tree(t) else { return false }
    return g.graph.treeDirectionUnsure[t]
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
    _catching {
        let function: StaticString = "modeltree_graph_to_json"
        let out = try _required(out, "out", function)
        out.pointee = nil
        guard let graph = _Graph.from(g) else {
            throw ModelTreeError.invalidArgument("\(function): graph is NULL")
        }
        out.pointee = try _mallocCString(graph.graph.json())
    }
}

/// The C function `modeltree_string_free`.
@c @implementation
public func modeltree_string_free(_ s: UnsafeMutablePointer<CChar>!) {
    free(s)
}
