// OWNER: lead. Stub.
extension ModelGraph {
    /// The JSON document of the CLI's `--format json` (and of `modeltree_graph_to_json`).
    public func json() -> String { fatalError("stub") }
}
