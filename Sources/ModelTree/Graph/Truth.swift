/// A known Model Graph to score against: `{"edges": [["parent", "child"], ...], "roots": ["id", ...]}`.
///
/// Each edge runs from a parent to a model trained directly from it. `roots` names models that are
/// the root of a true tree; it is only needed for models that have no edge at all (a tree of one).
public struct Truth: Sendable {
    public var edges: [(parent: String, child: String)]
    public var roots: [String]
    public init(edges: [(parent: String, child: String)], roots: [String]) { self.edges = edges; self.roots = roots }
}

extension Truth {
    /// Reads a truth file's JSON: an object with `"edges"`, an array of `["parent", "child"]` string
    /// pairs, and optionally `"roots"`, an array of strings. Other keys are rejected, so that a typo
    /// such as `"root"` is not silently ignored.
    /// - Throws: `ModelTreeError.format` for a wrong shape, a child with two parents (or an edge
    ///   listed twice), a root that has a parent, or a cycle.
    public init(json: JSONValue) throws {
        guard case .object(let pairs) = json else {
            throw ModelTreeError.format("truth: expected an object with \"edges\" and optional \"roots\"")
        }
        var edges: [(parent: String, child: String)]?
        var roots: [String] = []
        var seen: Set<String> = []
        for (key, value) in pairs {
            guard seen.insert(key).inserted else { throw ModelTreeError.format("truth: duplicate key \"\(key)\"") }
            switch key {
            case "edges":
                guard case .array(let items) = value else {
                    throw ModelTreeError.format("truth: \"edges\" must be an array of [\"parent\", \"child\"] pairs")
                }
                edges = try items.enumerated().map { index, item in
                    guard case .array(let ends) = item, ends.count == 2,
                          case .string(let parent) = ends[0], case .string(let child) = ends[1] else {
                        throw ModelTreeError.format("truth: edges[\(index)] must be an array of two strings [\"parent\", \"child\"]")
                    }
                    return (parent, child)
                }
            case "roots":
                guard case .array(let items) = value else {
                    throw ModelTreeError.format("truth: \"roots\" must be an array of strings")
                }
                roots = try items.enumerated().map { index, item in
                    guard case .string(let id) = item else {
                        throw ModelTreeError.format("truth: roots[\(index)] must be a string")
                    }
                    return id
                }
            default:
                throw ModelTreeError.format("truth: unknown key \"\(key)\" (expected \"edges\" and \"roots\")")
            }
        }
        guard let edges else { throw ModelTreeError.format("truth: missing \"edges\"") }
        self.init(edges: edges, roots: roots)
        if let problem = _problem() { throw ModelTreeError.format("truth: \(problem)") }
    }

    /// The true parent of every child; nil with a message when the edges are not a forest.
    func _parents() -> (parents: [String: String], problem: String?) {
        var parents: [String: String] = [:]
        for edge in edges {
            if let other = parents[edge.child] {
                let problem = other == edge.parent
                    ? "edge \(edge.parent) -> \(edge.child) is listed twice"
                    : "\(edge.child) has two parents, \(other) and \(edge.parent)"
                return (parents, problem)
            }
            parents[edge.child] = edge.parent
        }
        for root in roots {
            if let parent = parents[root] { return (parents, "root \(root) has a parent, \(parent)") }
        }
        // Walk up from every child; with one parent each, a walk that meets itself is a cycle.
        var finished: Set<String> = []
        for edge in edges where !finished.contains(edge.child) {
            var path: [String] = [], onPath: Set<String> = []
            var node = edge.child
            while !finished.contains(node) {
                if !onPath.insert(node).inserted {
                    let start = path.firstIndex(of: node)!
                    let cycle = (path[start...] + [node]).joined(separator: " -> ")
                    return (parents, "cycle \(cycle)")
                }
                path.append(node)
                guard let up = parents[node] else { break }
                node = up
            }
            finished.formUnion(path)
        }
        return (parents, nil)
    }

    /// A description of the first reason these edges are not a forest, or nil.
    func _problem() -> String? { _parents().problem }
}

extension Truth {
    /// Reads a truth file (see `init(json:)`). The corresponding C function is
    /// `modeltree_graph_evaluate_file`.
    /// - Throws: `.io` ("truth file <path>: <reason>") when it cannot be read; `.format`
    ///   ("<path>: <reason>") when it is not valid JSON or not a valid truth.
    public init(contentsOf path: String) throws {
        let bytes: [UInt8]
        do {
            bytes = try CheckpointFile(path: path).readAll(limit: Self.maxFileSize) { size in
                .format("\(path): \(size) bytes, over the limit of \(Self.maxFileSize) bytes for a truth file")
            }
        } catch ModelTreeError.io(let reason) {
            throw ModelTreeError.io("truth file \(reason)")
        }
        do {
            try self.init(json: try bytes.withUnsafeBytes { try JSONParser.parse($0) })
        } catch ModelTreeError.format(let reason) {
            throw ModelTreeError.format("\(path): \(reason)")
        }
    }

    /// Parses a truth given as a JSON document by a caller (a binding's dictionary, serialised):
    /// as `init(json:)`, but a problem is `.invalidArgument`, since the document is an argument,
    /// not a file. The corresponding C function is `modeltree_graph_evaluate_json`.
    public init(document: String) throws {
        do {
            try self.init(json: try JSONParser.parse(document))
        } catch ModelTreeError.format(let reason) {
            throw ModelTreeError.invalidArgument(reason)
        }
    }

    /// The largest truth file read (the safetensors header's cap).
    static let maxFileSize = SafetensorsFile.maxHeaderLength
}
