// modeltree_graph_edge_* by edge index: every relation of the graph (`ModelGraph.relations`),
// so that a merge's several parents reach C; the per-model accessors keep the primary edge.
import CModelTree
import ModelTree

extension _Graph {
    /// Edge `e` of the relations, or nil when out of range (`size_t` arrives as `Int`).
    func relation(_ e: Int) -> ModelGraph.Edge? { e >= 0 && e < relations.count ? relations[e] : nil }
}

/// The C function `modeltree_graph_edge_count`.
@c @implementation
public func modeltree_graph_edge_count(_ g: OpaquePointer!) -> Int {
    _Graph.from(g)?.relations.count ?? 0
}

/// The C function `modeltree_graph_edge_parent`.
@c @implementation
public func modeltree_graph_edge_parent(_ g: OpaquePointer!, _ e: Int) -> Int64 {
    _Graph.from(g)?.relation(e).map { Int64($0.parent) } ?? MODELTREE_INDEX_INVALID
}

/// The C function `modeltree_graph_edge_child`.
@c @implementation
public func modeltree_graph_edge_child(_ g: OpaquePointer!, _ e: Int) -> Int64 {
    _Graph.from(g)?.relation(e).map { Int64($0.child) } ?? MODELTREE_INDEX_INVALID
}

/// The C function `modeltree_graph_edge_type`.
@c @implementation
public func modeltree_graph_edge_type(_ g: OpaquePointer!, _ e: Int) -> modeltree_edge_type_t {
    modeltree_edge_type_t(_Graph.from(g)?.relation(e)?.type ?? .finetune)
}

/// The C function `modeltree_graph_edge_distance_at`.
@c @implementation
public func modeltree_graph_edge_distance_at(_ g: OpaquePointer!, _ e: Int) -> Double {
    _Graph.from(g)?.relation(e)?.distance ?? .nan
}

/// The C function `modeltree_graph_edge_confidence_at`.
@c @implementation
public func modeltree_graph_edge_confidence_at(_ g: OpaquePointer!, _ e: Int) -> Double {
    _Graph.from(g)?.relation(e)?.confidence ?? .nan
}

/// The C function `modeltree_graph_edge_raw_confidence`: `Edge.rawConfidence`, the value
/// `Calibration` maps to `confidence`.
@c @implementation
public func modeltree_graph_edge_raw_confidence(_ g: OpaquePointer!, _ e: Int) -> Double {
    _Graph.from(g)?.relation(e)?.rawConfidence ?? .nan
}

/// The C function `modeltree_graph_edge_unsure_at`.
@c @implementation
public func modeltree_graph_edge_unsure_at(_ g: OpaquePointer!, _ e: Int) -> Bool {
    _Graph.from(g)?.relation(e)?.unsure ?? false
}

/// The C function `modeltree_graph_edge_coefficient`.
@c @implementation
public func modeltree_graph_edge_coefficient(_ g: OpaquePointer!, _ e: Int) -> Double {
    _Graph.from(g)?.relation(e)?.coefficient ?? .nan
}

/// The C function `modeltree_graph_edge_residual_ratio`.
@c @implementation
public func modeltree_graph_edge_residual_ratio(_ g: OpaquePointer!, _ e: Int) -> Double {
    _Graph.from(g)?.relation(e)?.evidence?.residualRatio ?? .nan
}
