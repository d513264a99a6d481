/// The text forms of a graph, rendered here and only here: the CLI prints them, and the C ABI
/// (`modeltree_graph_render`) hands the same bytes to C, C++ and Python.
public enum OutputFormat: String, CaseIterable, Sendable {
    /// The JSON document (`ModelGraph.json`).
    case json
    /// The trees drawn for people (`ModelGraph.text`).
    case text
    /// A Graphviz digraph (`ModelGraph.dot`).
    case dot
    /// A self-contained SVG picture (`Drawing.svg`) of the graph's drawing (`Drawing.init(_:score:)`).
    case svg
    /// A self-contained HTML page (`Drawing.html`): the picture with pan, zoom, search and the
    /// evidence of what is clicked.
    case html
}

extension ModelGraph {
    /// The graph in `format`, with `score` when given (the result of `score(against:)`).
    /// The corresponding C function is `modeltree_graph_render`.
    public func render(_ format: OutputFormat, score: Score? = nil) -> String {
        switch format {
        case .json: return json(score: score)
        case .text: return text() + (score.map { "\n" + $0.text() } ?? "")
        case .dot: return dot(score: score)
        case .svg, .html:
            // A drawing of a graph value is valid by construction: its indices come from the graph.
            let drawing = Drawing(self, score: score)
            let layout = Layout(valid: drawing, options: LayoutOptions())
            return format == .svg ? SVGPicture(drawing, layout).render() : HTMLView(drawing, layout).render()
        }
    }

    /// The JSON document of `modeltree-cli recover --format json`.
    ///
    /// Schema (keys are stable; new keys may be added, none renamed):
    /// `models` [{id, path, kurtosis, latent}] (`latent` written only for a latent node, as true,
    /// with `evidence` {widest_angle_cosine, threshold, triangles}), `edges` [{parent, child, type,
    /// distance, confidence, raw_confidence (before `Calibration`), unsure}, and for a merge's
    /// edges `coefficient`, `residual` (RMS of the fit's residual) and `residual_ratio` (over the
    /// child's distance to its nearest model), for a
    /// layer subset `layers` [[child layer, parent layer]]] (relations only: copies are not edges;
    /// a merge has one edge per parent, the largest coefficient first), `roots` [id], `trees` [[id]],
    /// `duplicates` [[id]] (groups of value-identical models, the stand-in in the trees first),
    /// `audit` [{model, source, claimed, relation, verdict, recovered, evidence, confidence}]
    /// (`ModelGraph.audit`; `relation` and `recovered` null when absent), `unclaimed` [id],
    /// `tensors` [name], `metric`, `directions` (per
    /// tree), `warnings` [text], `tensor_matching` when an export's tensors were matched
    /// [{model, tensor, as, by: name|content, transposed, correlation}], and with a score: `score` {correct, total, accuracy, ari,
    /// trees [{root, correct, total, accuracy}], typed {correct, true, reported, precision, recall, f1,
    /// types [{type, correct, total, recall}]}, audit (when the truth lists claims) {correct, total,
    /// accuracy, missing, extra, verdicts [{verdict, correct, total}], unclaimed {correct, total,
    /// extra}, mistakes [{model, source, claimed, reported, truth}]}}. Non-finite numbers are written as null.
    public func json(score: Score? = nil) -> String {
        typealias F = Formatting
        var lines: [String] = ["{"]
        let models = self.models.map { m in
            var latent = ""
            if m.latent {
                latent = ", \"latent\": true"
                if let e = m.latentEvidence {
                    latent += ", \"evidence\": {\"widest_angle_cosine\": \(F.jsonNumber(e.widestAngleCosine)), "
                        + "\"threshold\": \(F.jsonNumber(e.threshold)), \"triangles\": \(e.triangles)}"
                }
            }
            return "    {\"id\": \(F.jsonString(m.id)), \"path\": \(m.path.map(F.jsonString) ?? "null"), \"kurtosis\": \(F.jsonNumber(m.kurtosis))\(latent)}"
        }
        lines.append("  \"models\": [")
        lines.append(models.joined(separator: ",\n"))
        lines.append("  ],")
        let edges = relations.map { e in
            "    {\"parent\": \(F.jsonString(self.models[e.parent].id)), \"child\": \(F.jsonString(self.models[e.child].id)), "
                + "\"type\": \(F.jsonString(e.type.rawValue)), "
                + "\"distance\": \(F.jsonNumber(e.distance)), \"confidence\": \(F.jsonNumber(e.confidence)), "
                + "\"raw_confidence\": \(F.jsonNumber(e.rawConfidence)), \"unsure\": \(e.unsure)"
                + (e.coefficient.map { ", \"coefficient\": \(F.jsonNumber($0))" } ?? "")
                + (e.evidence?.residual.map { ", \"residual\": \(F.jsonNumber($0))" } ?? "")
                + (e.evidence?.residualRatio.map { ", \"residual_ratio\": \(F.jsonNumber($0))" } ?? "")
                + (e.layers.map { ", \"layers\": [" + $0.map { "[\($0.child), \($0.parent)]" }.joined(separator: ", ") + "]" } ?? "") + "}"
        }
        lines.append("  \"edges\": [")
        if !edges.isEmpty { lines.append(edges.joined(separator: ",\n")) }
        lines.append("  ],")
        let ids = self.ids
        lines.append("  \"roots\": [\(trees.map { F.jsonString(ids[$0.root]) }.joined(separator: ", "))],")
        lines.append("  \"trees\": [\(trees.map { "[" + $0.members.map { F.jsonString(ids[$0]) }.joined(separator: ", ") + "]" }.joined(separator: ", "))],")
        lines.append("  \"duplicates\": [\(duplicates.map { "[" + $0.map { F.jsonString(ids[$0]) }.joined(separator: ", ") + "]" }.joined(separator: ", "))],")
        lines.append("  \"audit\": [")
        if !audit.isEmpty { lines.append(audit.map { "    " + $0.json(ids) }.joined(separator: ",\n")) }
        lines.append("  ],")
        lines.append("  \"unclaimed\": [\(unclaimed.map { F.jsonString(ids[$0]) }.joined(separator: ", "))],")
        lines.append("  \"tensors\": [\(tensors.map(F.jsonString).joined(separator: ", "))],")
        lines.append("  \"metric\": \(F.jsonString(metric.rawValue)),")
        lines.append("  \"directions\": [\(trees.map { F.jsonString($0.direction.rawValue) }.joined(separator: ", "))],")
        lines.append("  \"warnings\": [\(warnings.map(F.jsonString).joined(separator: ", "))]" + (score == nil && tensorMatches.isEmpty ? "" : ","))
        if !tensorMatches.isEmpty {
            let entries = tensorMatches.map { m in
                "    {\"model\": \(F.jsonString(m.model)), \"tensor\": \(F.jsonString(m.tensor)), \"as\": \(F.jsonString(m.matched)), "
                    + "\"by\": \(F.jsonString(m.byContent ? "content" : "name")), \"transposed\": \(m.transposed), "
                    + "\"correlation\": \(m.correlation.map(F.jsonNumber) ?? "null")}"
            }
            lines.append("  \"tensor_matching\": [")
            lines.append(entries.joined(separator: ",\n"))
            lines.append("  ]" + (score == nil ? "" : ","))
        }
        if let score {
            let trees = score.trees.map {
                "{\"root\": \(F.jsonString($0.root)), \"correct\": \($0.correct), \"total\": \($0.total), \"accuracy\": \(F.jsonNumber($0.accuracy))}"
            }
            let relations = score.relations.map {
                "{\"type\": \(F.jsonString($0.type)), \"correct\": \($0.correct), \"total\": \($0.total), \"recall\": \(F.jsonNumber($0.recall))}"
            }
            lines.append("  \"score\": {\"correct\": \(score.correct), \"total\": \(score.total), \"accuracy\": \(F.jsonNumber(score.accuracy)), "
                + "\"ari\": \(F.jsonNumber(score.adjustedRandIndex)), \"trees\": [\(trees.joined(separator: ", "))], "
                + "\"typed\": {\"correct\": \(score.typedCorrect), \"true\": \(score.typedTrue), \"reported\": \(score.typedReported), "
                + "\"precision\": \(F.jsonNumber(score.typedPrecision)), \"recall\": \(F.jsonNumber(score.typedRecall)), "
                + "\"f1\": \(F.jsonNumber(score.typedF1)), \"types\": [\(relations.joined(separator: ", "))]}"
                + (score.audit.map { ", \"audit\": " + $0.json() } ?? "") + "}")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A Graphviz `digraph`: one cluster per tree, edges labelled with their type (when not a
    /// fine-tune; coloured as the pictures are, a merge's bold with its coefficient, and a
    /// legend of the types drawn), distance and confidence, unsure edges dashed, copies joined by a dotted
    /// undirected "identical" line; with a score, the graph's label says it.
    public func dot(score: Score? = nil) -> String {
        typealias F = Formatting
        var out = "digraph modeltree {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n"
        if let score { out += "  label=\(F.jsonString(score.summary));\n  labelloc=b;\n" }
        for (t, tree) in trees.enumerated() {
            out += "  subgraph cluster_\(t) {\n    label=\(F.jsonString("tree \(t + 1) (\(tree.direction.rawValue))"));\n"
            for i in tree.members {
                if models[i].latent {
                    out += "    \(F.jsonString(models[i].id)) [label=\(F.jsonString(models[i].id + "\n" + Self.latentSummary(models[i]))), style=dashed];\n"
                } else {
                    out += "    \(F.jsonString(models[i].id)) [label=\(F.jsonString(models[i].id + "\nkurtosis " + F.significant(models[i].kurtosis, 3)))];\n"
                }
            }
            out += "  }\n"
        }
        for e in edges where joinsCopies(e) {
            out += "  \(F.jsonString(models[e.parent].id)) -> \(F.jsonString(models[e.child].id)) [label=\"identical\", dir=none, style=dotted];\n"
        }
        for e in relations {
            let label = (e.type == .finetune ? "" : e.type.rawValue + " ") + (e.coefficient.map { "× " + F.fixed($0, 2) + ", " } ?? "")
                + F.significant(e.distance) + " (" + F.fixed(e.confidence, 2) + ")"
                + (e.layers.map { "\nlayers " + Self.layerMap($0) } ?? "")
            let style = [e.type == .merge ? "bold" : nil, e.unsure ? "dashed" : nil].compactMap { $0 }
            out += "  \(F.jsonString(models[e.parent].id)) -> \(F.jsonString(models[e.child].id)) [label=\(F.jsonString(label))"
                + (e.type == .finetune ? "" : ", color=\(F.jsonString(PictureStyle.colour(Drawing.EdgeType(e.type))))")
                + (style.isEmpty ? "" : ", style=\(F.jsonString(style.joined(separator: ",")))") + "];\n"
        }
        // A legend of the edge types drawn, when there is more than fine-tuning to tell apart.
        let types = EdgeType.allCases.filter { t in relations.contains { $0.type == t } }
        if types.contains(where: { $0 != .finetune }) {
            out += "  subgraph cluster_legend {\n    label=\"edge types\";\n    node [shape=plaintext];\n"
            for t in types {
                let style = Drawing.EdgeType(t)
                out += "    \(F.jsonString("legend_" + t.rawValue + "_a")) [label=\"\"];\n    \(F.jsonString("legend_" + t.rawValue + "_b")) [label=\(F.jsonString(PictureStyle.name(style)))];\n"
                out += "    \(F.jsonString("legend_" + t.rawValue + "_a")) -> \(F.jsonString("legend_" + t.rawValue + "_b")) [color=\(F.jsonString(PictureStyle.colour(style)))\(t == .merge ? ", style=bold" : "")];\n"
            }
            out += "  }\n"
        }
        return out + "}\n"
    }

    /// The trees drawn with indentation, for people.
    public func text() -> String {
        typealias F = Formatting
        var out = "\(count) model\(count == 1 ? "" : "s"), \(trees.count) tree\(trees.count == 1 ? "" : "s"); metric \(metric.rawValue) over \(tensors.count) tensor\(tensors.count == 1 ? "" : "s")\n"
        var children = [[Int]](repeating: [], count: count)
        for c in 0..<count { if let p = primaryParent(of: c) { children[p].append(c) } }
        func draw(_ i: Int, _ prefix: String, _ last: Bool, _ isRoot: Bool) {
            let branch = isRoot ? "" : (last ? "└── " : "├── ")
            var line = prefix + branch + models[i].id
            if let e = primaryEdge(into: i), !isRoot, joinsCopies(e) {
                line += "  identical to \(models[e.parent].id) (duplicate)"
            } else if let e = primaryEdge(into: i), !isRoot {
                if e.type == .merge {
                    // Every parent with its coefficient (the primary one, drawn above, first).
                    line += "  merge of " + edges(into: i).map { "\(models[$0.parent].id) × \(F.fixed($0.coefficient ?? .nan, 2))" }
                        .joined(separator: " + ")
                    line += "  residual ratio \(F.fixed(e.evidence?.residualRatio ?? .nan, 3))  confidence "
                        + edges(into: i).map { F.fixed($0.confidence, 2) }.joined(separator: "/")
                } else {
                    if e.type != .finetune { line += "  \(e.type.rawValue)" }
                    if let layers = e.layers { line += " (layers \(Self.layerMap(layers)))" }
                    line += "  distance \(F.significant(e.distance))  confidence \(F.fixed(e.confidence, 2))"
                }
                if edges(into: i).contains(where: \.unsure) { line += "  UNSURE" }
            } else if models[i].latent {
                line += "  (latent root: \(Self.latentSummary(models[i])))"
            } else {
                line += "  (root, kurtosis \(F.significant(models[i].kurtosis, 3)))"
            }
            if models[i].latent && !isRoot { line += "  (latent: \(Self.latentSummary(models[i])))" }
            out += line + "\n"
            let next = isRoot ? prefix : prefix + (last ? "    " : "│   ")
            for (k, c) in children[i].enumerated() { draw(c, next, k == children[i].count - 1, false) }
        }
        for (t, tree) in trees.enumerated() {
            out += "\nTree \(t + 1): \(tree.members.count) model\(tree.members.count == 1 ? "" : "s"); direction: \(tree.direction.summary)\(tree.directionUnsure ? " (unsure)" : "")\n"
            draw(tree.root, "", true, true)
        }
        out += auditText()
        let unsureCount = relations.filter(\.unsure).count
        if unsureCount > 0 { out += "\n\(unsureCount) edge\(unsureCount == 1 ? " is" : "s are") unsure (confidence below \(F.fixed(unsureThreshold, 2)), or in a tree whose direction could not be told)\n" }
        for w in warnings { out += "warning: \(singleLine(w))\n" }
        return out
    }
}

extension DirectionMode {
    /// What the direction says, for people (the text and the pictures).
    var summary: String {
        switch self {
        case .finetune: return "fine-tuning lowers kurtosis"
        case .generalization: return "further training raises kurtosis"
        case .auto: return "decided per tree"
        }
    }
}

extension Score {
    /// The overall score on one line.
    var summary: String {
        "Edge accuracy: \(correct)/\(total) (\(Formatting.fixed(100 * accuracy, 1))%), adjusted Rand index of the trees \(Formatting.fixed(adjustedRandIndex, 3))"
    }

    /// The typed score on one line.
    var typedSummary: String {
        typealias F = Formatting
        return "Typed relations: F1 \(F.fixed(typedF1, 3)) (precision \(typedCorrect)/\(typedReported), recall \(typedCorrect)/\(typedTrue))"
            + (relations.isEmpty ? "" : "; recall by type: " + relations.map { "\($0.type) \($0.correct)/\($0.total)" }.joined(separator: ", "))
    }

    /// The score for people: overall, per true tree, then typed.
    public func text() -> String {
        var out = summary + "\n"
        for t in trees {
            out += "  tree of \(t.root): \(t.correct)/\(t.total) (\(Formatting.fixed(100 * t.accuracy, 1))%)\n"
        }
        out += typedSummary + "\n"
        if let audit { out += audit.text() }
        return out
    }
}

extension ModelGraph {
    /// A latent node for people: what it is and the evidence (`LatentEvidence`).
    static func latentSummary(_ node: Node) -> String {
        guard let e = node.latentEvidence else { return "a parent not in the collection" }
        return "a parent not in the collection; its children's widest angle has cosine "
            + "\(Formatting.fixed(e.widestAngleCosine, 2)) > \(Formatting.fixed(e.threshold, 2)) over \(e.triangles) triangle\(e.triangles == 1 ? "" : "s")"
    }

    /// A layer subset's map for people: child←parent pairs, "0←0 1←2".
    static func layerMap(_ layers: [LayerPair]) -> String {
        layers.map { "\($0.child)←\($0.parent)" }.joined(separator: " ")
    }
}
