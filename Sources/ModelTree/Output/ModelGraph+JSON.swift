extension ModelGraph {
    /// The JSON document of `modeltree-cli recover --format json` and `modeltree_graph_to_json`.
    ///
    /// Schema (keys are stable; new keys may be added, none renamed):
    /// `models` [{id, path, kurtosis}], `edges` [{parent, child, distance, confidence, unsure}],
    /// `roots` [id], `trees` [[id]], `tensors` [name], `metric`, `directions` (per tree),
    /// `warnings` [text], and with a score: `score` {correct, total, accuracy, ari,
    /// trees [{root, correct, total, accuracy}]}. Non-finite numbers are written as null.
    public func json(score: Score? = nil) -> String {
        typealias F = Formatting
        var lines: [String] = ["{"]
        let models = (0..<count).map { i in
            "    {\"id\": \(F.jsonString(ids[i])), \"path\": \(paths[i].map(F.jsonString) ?? "null"), \"kurtosis\": \(F.jsonNumber(kurtosis[i]))}"
        }
        lines.append("  \"models\": [")
        lines.append(models.joined(separator: ",\n"))
        lines.append("  ],")
        let edges = (0..<count).filter { parent[$0] >= 0 }.map { i in
            "    {\"parent\": \(F.jsonString(ids[parent[i]])), \"child\": \(F.jsonString(ids[i])), "
                + "\"distance\": \(F.jsonNumber(edgeDistance[i])), \"confidence\": \(F.jsonNumber(edgeConfidence[i])), "
                + "\"unsure\": \(unsure[i])}"
        }
        lines.append("  \"edges\": [")
        if !edges.isEmpty { lines.append(edges.joined(separator: ",\n")) }
        lines.append("  ],")
        lines.append("  \"roots\": [\(roots.map { F.jsonString(ids[$0]) }.joined(separator: ", "))],")
        lines.append("  \"trees\": [\(trees.map { "[" + $0.map { F.jsonString(ids[$0]) }.joined(separator: ", ") + "]" }.joined(separator: ", "))],")
        lines.append("  \"tensors\": [\(tensors.map(F.jsonString).joined(separator: ", "))],")
        lines.append("  \"metric\": \(F.jsonString(metric.rawValue)),")
        lines.append("  \"directions\": [\(treeDirections.map { F.jsonString($0.rawValue) }.joined(separator: ", "))],")
        lines.append("  \"warnings\": [\(warnings.map(F.jsonString).joined(separator: ", "))]" + (score == nil ? "" : ","))
        if let score {
            let trees = score.trees.map {
                "{\"root\": \(F.jsonString($0.root)), \"correct\": \($0.correct), \"total\": \($0.total), \"accuracy\": \(F.jsonNumber($0.accuracy))}"
            }
            lines.append("  \"score\": {\"correct\": \(score.correct), \"total\": \(score.total), \"accuracy\": \(F.jsonNumber(score.accuracy)), "
                + "\"ari\": \(F.jsonNumber(score.adjustedRandIndex)), \"trees\": [\(trees.joined(separator: ", "))]}")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A Graphviz `digraph`: one cluster per tree, unsure edges dashed.
    public func dot() -> String {
        typealias F = Formatting
        var out = "digraph modeltree {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n"
        for (t, members) in trees.enumerated() {
            out += "  subgraph cluster_\(t) {\n    label=\(F.jsonString("tree \(t + 1) (\(treeDirections[t].rawValue))"));\n"
            for i in members {
                out += "    \(F.jsonString(ids[i])) [label=\(F.jsonString(ids[i] + "\nkurtosis " + F.significant(kurtosis[i], 3)))];\n"
            }
            out += "  }\n"
        }
        for i in 0..<count where parent[i] >= 0 {
            let label = F.significant(edgeDistance[i]) + " (" + F.fixed(edgeConfidence[i], 2) + ")"
            out += "  \(F.jsonString(ids[parent[i]])) -> \(F.jsonString(ids[i])) [label=\(F.jsonString(label))\(unsure[i] ? ", style=dashed" : "")];\n"
        }
        return out + "}\n"
    }

    /// The trees drawn with indentation, for people.
    public func text() -> String {
        typealias F = Formatting
        var out = "\(count) model\(count == 1 ? "" : "s"), \(trees.count) tree\(trees.count == 1 ? "" : "s"); metric \(metric.rawValue) over \(tensors.count) tensor\(tensors.count == 1 ? "" : "s")\n"
        var children = [[Int]](repeating: [], count: count)
        for i in 0..<count where parent[i] >= 0 { children[parent[i]].append(i) }
        func draw(_ i: Int, _ prefix: String, _ last: Bool, _ isRoot: Bool) {
            let branch = isRoot ? "" : (last ? "└── " : "├── ")
            var line = prefix + branch + ids[i]
            if isRoot {
                line += "  (root, kurtosis \(F.significant(kurtosis[i], 3)))"
            } else {
                line += "  distance \(F.significant(edgeDistance[i]))  confidence \(F.fixed(edgeConfidence[i], 2))"
                if unsure[i] { line += "  UNSURE" }
            }
            out += line + "\n"
            let next = isRoot ? prefix : prefix + (last ? "    " : "│   ")
            for (k, c) in children[i].enumerated() { draw(c, next, k == children[i].count - 1, false) }
        }
        for (t, root) in roots.enumerated() {
            let direction = treeDirections[t] == .finetune ? "fine-tuning lowers kurtosis" : "further training raises kurtosis"
            out += "\nTree \(t + 1): \(trees[t].count) model\(trees[t].count == 1 ? "" : "s"); direction: \(direction)\(treeDirectionUnsure[t] ? " (unsure)" : "")\n"
            draw(root, "", true, true)
        }
        let unsureCount = unsure.filter { $0 }.count
        if unsureCount > 0 { out += "\n\(unsureCount) edge\(unsureCount == 1 ? " is" : "s are") unsure (confidence below \(F.fixed(unsureConfidence, 2)), or in a tree whose direction could not be told)\n" }
        for w in warnings { out += "warning: \(singleLine(w))\n" }
        return out
    }
}

extension Score {
    /// The score for people: overall and per true tree.
    public func text() -> String {
        typealias F = Formatting
        var out = "Edge accuracy: \(correct)/\(total) (\(F.fixed(100 * accuracy, 1))%), adjusted Rand index of the trees \(F.fixed(adjustedRandIndex, 3))\n"
        for t in trees {
            out += "  tree of \(t.root): \(t.correct)/\(t.total) (\(F.fixed(100 * t.accuracy, 1))%)\n"
        }
        return out
    }
}
