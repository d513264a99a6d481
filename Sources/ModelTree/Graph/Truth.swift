/// A known Model Graph to score against, in the typed truth form every example zoo's `truth.json`
/// uses (the team's contract; the untyped form `{"edges": [["parent", "child"], ...], "roots":
/// [...]}` keeps its meaning, an untyped pair being a `finetune` edge):
///
///     {"edges": [["p", "c"], {"parent": "p", "child": "c", "type": "quantized"},
///                {"parent": "a", "child": "m", "type": "merge", "coefficient": 0.5},
///                {"parent": "p", "child": "s", "type": "layer-subset", "layers": [[0, 0], [1, 2]]}],
///      "roots": ["id"], "duplicates": [["a", "a-copy"]],
///      "latent": [{"children": ["x", "y"], "parent": "optional-id"}],
///      "claims": [{"model": "x", "source": "readme", "claimed": "name", "verdict": "agrees"}],
///      "unclaimed": ["id"]}
///
/// Each edge runs from a parent to a model made directly from it. `roots` names models that are
/// the root of a true tree; it is only needed for models that have no edge at all (a tree of one).
/// A merge child has one edge per parent; every other child has one parent. A latent node is a
/// parent that is not in the collection, known by its children (which have no edge into them).
public struct Truth: Sendable {
    /// One true relation.
    public struct Edge: Sendable, Equatable {
        public var parent: String
        public var child: String
        public var type: EdgeType
        /// A merge parent's weight in the child; nil for other types.
        public var coefficient: Double?
        /// A layer subset's map, child layer → parent layer; empty for other types.
        public var layers: [[Int]]

        public init(parent: String, child: String, type: EdgeType = .finetune, coefficient: Double? = nil, layers: [[Int]] = []) {
            self.parent = parent; self.child = child; self.type = type; self.coefficient = coefficient; self.layers = layers
        }
    }

    /// A parent the collection does not hold, identified by the models made from it.
    public struct Latent: Sendable, Equatable {
        public var children: [String]
        /// The latent node's own parent, when it is in the collection.
        public var parent: String?
        public init(children: [String], parent: String? = nil) { self.children = children; self.parent = parent }
    }

    /// What a model's card says it was made from, and whether the weights bear it out.
    public struct Claim: Sendable, Equatable {
        public enum Verdict: String, Sendable, CaseIterable { case agrees, contradicts, unsupported }
        public var model: String
        /// Where the claim was read: readme, config, adapter_config or gguf.
        public var source: String
        public var claimed: String
        public var verdict: Verdict
        public init(model: String, source: String, claimed: String, verdict: Verdict) {
            self.model = model; self.source = source; self.claimed = claimed; self.verdict = verdict
        }
    }

    public var edges: [Edge]
    public var roots: [String]
    /// Groups of value-identical models (no edge between them: nothing tells which came first).
    public var duplicates: [[String]]
    public var latent: [Latent]
    public var claims: [Claim]
    /// Models whose card claims nothing.
    public var unclaimed: [String]

    public init(edges: [Edge], roots: [String], duplicates: [[String]] = [], latent: [Latent] = [],
                claims: [Claim] = [], unclaimed: [String] = []) {
        self.edges = edges; self.roots = roots; self.duplicates = duplicates; self.latent = latent
        self.claims = claims; self.unclaimed = unclaimed
    }

    /// Untyped edges (each a `finetune`).
    public init(edges: [(parent: String, child: String)], roots: [String]) {
        self.init(edges: edges.map { Edge(parent: $0.parent, child: $0.child) }, roots: roots)
    }

    /// Every model id the truth names.
    var namedIDs: [String] {
        edges.flatMap { [$0.parent, $0.child] } + roots + duplicates.flatMap { $0 }
            + latent.flatMap { $0.children + ($0.parent.map { [$0] } ?? []) } + claims.map(\.model) + unclaimed
    }
}

extension Truth {
    /// Reads a truth file's JSON (the form above). Unknown keys are rejected, so that a typo such
    /// as `"root"` is not silently ignored.
    /// - Throws: `ModelTreeError.format` naming the first problem: a wrong shape, an unknown edge
    ///   type, a child with two parents that are not all merge parents (or an edge listed twice),
    ///   a root that has a parent, a cycle, a model in two duplicate groups, an edge between two
    ///   members of one, a latent node's child with an edge into it.
    public init(json: JSONValue) throws {
        guard case .object(let pairs) = json else {
            throw ModelTreeError.format("truth: expected an object with \"edges\" and optional \"roots\"")
        }
        func fail(_ what: String) -> ModelTreeError { .format("truth: \(what)") }
        func strings(_ value: JSONValue, _ name: String) throws -> [String] {
            guard case .array(let items) = value else { throw fail("\"\(name)\" must be an array of strings") }
            return try items.enumerated().map { index, item in
                guard case .string(let s) = item else { throw fail("\(name)[\(index)] must be a string") }
                return s
            }
        }
        func fields(_ value: JSONValue, _ name: String, allowed: Set<String>) throws -> [String: JSONValue] {
            guard case .object(let members) = value else { throw fail("\(name) must be an object") }
            var out: [String: JSONValue] = [:]
            for (key, v) in members {
                guard allowed.contains(key) else {
                    throw fail("\(name): unknown key \"\(key)\" (expected \(allowed.sorted().map { "\"\($0)\"" }.joined(separator: ", ")))")
                }
                out[key] = v
            }
            return out
        }
        func string(_ f: [String: JSONValue], _ key: String, _ name: String) throws -> String? {
            guard let v = f[key] else { return nil }
            guard case .string(let s) = v else { throw fail("\(name).\(key) must be a string") }
            return s
        }

        var edges: [Edge]?
        var truth = Truth(edges: [], roots: [])
        var seen: Set<String> = []
        for (key, value) in pairs {
            guard seen.insert(key).inserted else { throw fail("duplicate key \"\(key)\"") }
            switch key {
            case "edges":
                guard case .array(let items) = value else {
                    throw fail("\"edges\" must be an array of [\"parent\", \"child\"] pairs or edge objects")
                }
                edges = try items.enumerated().map { index, item in
                    let name = "edges[\(index)]"
                    if case .array(let ends) = item {
                        guard ends.count == 2, case .string(let parent) = ends[0], case .string(let child) = ends[1] else {
                            throw fail("\(name) must be an array of two strings [\"parent\", \"child\"] or an edge object")
                        }
                        return Edge(parent: parent, child: child)
                    }
                    let f = try fields(item, name, allowed: ["parent", "child", "type", "coefficient", "layers"])
                    guard let parent = try string(f, "parent", name), let child = try string(f, "child", name) else {
                        throw fail("\(name) needs \"parent\" and \"child\"")
                    }
                    var edge = Edge(parent: parent, child: child)
                    if let typeName = try string(f, "type", name) {
                        guard let type = EdgeType(rawValue: typeName) else {
                            throw fail("\(name).type \"\(typeName)\" is not one of \(EdgeType.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                        edge.type = type
                    }
                    if let c = f["coefficient"] {
                        guard case .number(let x) = c, x.isFinite else { throw fail("\(name).coefficient must be a number") }
                        edge.coefficient = x
                    }
                    if let l = f["layers"] {
                        guard case .array(let rows) = l else { throw fail("\(name).layers must be an array of [child, parent] pairs") }
                        edge.layers = try rows.map { row in
                            guard case .array(let pair) = row, pair.count == 2,
                                  case .number(let a) = pair[0], case .number(let b) = pair[1],
                                  a >= 0, b >= 0, a == a.rounded(), b == b.rounded(), a < 1e9, b < 1e9 else {
                                throw fail("\(name).layers must be an array of [child, parent] pairs of layer indices")
                            }
                            return [Int(a), Int(b)]
                        }
                    }
                    return edge
                }
            case "roots":
                truth.roots = try strings(value, "roots")
            case "duplicates":
                guard case .array(let groups) = value else { throw fail("\"duplicates\" must be an array of arrays of ids") }
                truth.duplicates = try groups.enumerated().map { try strings($1, "duplicates[\($0)]") }
            case "latent":
                guard case .array(let nodes) = value else { throw fail("\"latent\" must be an array of objects") }
                truth.latent = try nodes.enumerated().map { index, node in
                    let name = "latent[\(index)]"
                    let f = try fields(node, name, allowed: ["children", "parent"])
                    guard let children = f["children"] else { throw fail("\(name) needs \"children\"") }
                    return Latent(children: try strings(children, "\(name).children"), parent: try string(f, "parent", name))
                }
            case "claims":
                guard case .array(let items) = value else { throw fail("\"claims\" must be an array of objects") }
                truth.claims = try items.enumerated().map { index, item in
                    let name = "claims[\(index)]"
                    let f = try fields(item, name, allowed: ["model", "source", "claimed", "verdict"])
                    guard let model = try string(f, "model", name), let source = try string(f, "source", name),
                          let claimed = try string(f, "claimed", name), let verdictName = try string(f, "verdict", name) else {
                        throw fail("\(name) needs \"model\", \"source\", \"claimed\" and \"verdict\"")
                    }
                    guard let verdict = Claim.Verdict(rawValue: verdictName) else {
                        throw fail("\(name).verdict \"\(verdictName)\" is not one of agrees, contradicts, unsupported")
                    }
                    return Claim(model: model, source: source, claimed: claimed, verdict: verdict)
                }
            case "unclaimed":
                truth.unclaimed = try strings(value, "unclaimed")
            default:
                throw fail("unknown key \"\(key)\" (expected \"edges\", \"roots\", \"duplicates\", \"latent\", \"claims\", \"unclaimed\")")
            }
        }
        guard let edges else { throw fail("missing \"edges\"") }
        truth.edges = edges
        self = truth
        if let problem = _problem() { throw fail(problem) }
    }

    /// The true parents of every child (several only for a merge); a message when the edges are
    /// not a graph of the contract's shape.
    func _parents() -> (parents: [String: [String]], problem: String?) {
        var parents: [String: [String]] = [:]
        var types: [String: EdgeType] = [:]
        for edge in edges {
            if let others = parents[edge.child] {
                if others.contains(edge.parent) { return (parents, "edge \(edge.parent) -> \(edge.child) is listed twice") }
                if edge.type != .merge || types[edge.child] != .merge {
                    return (parents, "\(edge.child) has two parents, \(others[0]) and \(edge.parent), and is not a merge of them")
                }
            }
            parents[edge.child, default: []].append(edge.parent)
            types[edge.child] = edge.type
        }
        for root in roots {
            if let parent = parents[root]?.first { return (parents, "root \(root) has a parent, \(parent)") }
        }
        var group: [String: Int] = [:]
        for (g, members) in duplicates.enumerated() {
            guard members.count >= 2 else { return (parents, "duplicates[\(g)] has fewer than two models") }
            for id in members {
                if let other = group.updateValue(g, forKey: id) {
                    return (parents, "\(id) is in two duplicate groups (\(other) and \(g))")
                }
            }
        }
        for edge in edges {
            if let g = group[edge.parent], group[edge.child] == g {
                return (parents, "edge \(edge.parent) -> \(edge.child) joins two members of duplicates[\(g)] (copies are a group, not an edge)")
            }
        }
        for (k, node) in latent.enumerated() {
            guard !node.children.isEmpty else { return (parents, "latent[\(k)] has no children") }
            for child in node.children where parents[child] != nil {
                return (parents, "latent[\(k)]'s child \(child) also has an edge into it")
            }
        }
        // Depth-first over every edge: a node met again on the current path closes a cycle.
        var childrenOf: [String: [String]] = [:]
        for edge in edges { childrenOf[edge.parent, default: []].append(edge.child) }
        var state: [String: Int] = [:]      // 1 on the path, 2 finished
        for start in childrenOf.keys.sorted() where state[start] == nil {
            var stack: [(node: String, next: Int)] = [(start, 0)]
            var path = [start]
            state[start] = 1
            while let top = stack.last {
                let kids = childrenOf[top.node] ?? []
                if top.next == kids.count {
                    state[top.node] = 2
                    stack.removeLast()
                    path.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let kid = kids[top.next]
                switch state[kid] {
                case 1:
                    let cycle = path[path.firstIndex(of: kid)!...] + [kid]
                    return (parents, "cycle \(cycle.joined(separator: " -> "))")
                case 2: continue
                default:
                    state[kid] = 1
                    stack.append((kid, 0))
                    path.append(kid)
                }
            }
        }
        return (parents, nil)
    }

    /// A description of the first reason these edges are not a graph of the contract's shape, or nil.
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
