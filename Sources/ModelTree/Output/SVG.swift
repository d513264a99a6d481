extension Drawing {
    /// The picture as one self-contained SVG document: no scripts, fonts or external references.
    ///
    /// Boxes show each model's label (id and kurtosis), edges their label (distance and
    /// confidence) and are coloured by relation type, with a legend of what is drawn; unsure
    /// edges are dashed, roots have a heavy border, latent parents are dashed pills, identical
    /// copies share a box, collapsed subtrees are stacked "+N models" boxes. Above the graph: the
    /// title, the score when there is one and what the layout had to do (collapse, cycles);
    /// below it the legend and the warnings. Every element a reader can point at carries a
    /// `<title>` (the tooltip: the full id) and a `data-node`, `data-edge`, `data-box` or
    /// `data-family` index, which the HTML view uses. Lays out the drawing first (`Layout`), so it
    /// throws what `Layout.init` throws. O(size of the picture) after the layout.
    public func svg(options: LayoutOptions = LayoutOptions()) throws -> String {
        SVGPicture(self, try Layout(self, options: options)).render()
    }
}

/// Colours, dashes and names of what a picture shows: one table for the SVG and its legend.
enum PictureStyle {
    static func colour(_ type: Drawing.EdgeType) -> String {
        switch type {   // Okabe–Ito and Tol colours: told apart with the common colour-vision deficiencies
        case .finetune: return "#334155"
        case .adapter: return "#0072b2"
        case .quantized: return "#d55e00"
        case .merge: return "#aa3377"
        case .layerSubset: return "#009e73"
        }
    }

    static func name(_ type: Drawing.EdgeType) -> String {
        switch type {
        case .finetune: return "fine-tune"
        case .adapter: return "adapter"
        case .quantized: return "quantized"
        case .merge: return "merge"
        case .layerSubset: return "layer subset"
        }
    }

    static let collapsedColour = "#94a3b8", bundleColour = "#64748b"
    static let unsureDash = "6 4", latentDash = "5 3", collapsedDash = "2 3"
    static let text = "#0f172a", muted = "#475569", warning = "#9a3412"
    static let fontFamily = "DejaVu Sans, Verdana, sans-serif"

    /// Fill, stroke and stroke width of a box.
    static func box(_ kind: Layout.BoxKind) -> (fill: String, stroke: String, width: Double) {
        switch kind {
        case .model: return ("#ffffff", "#64748b", 1.2)
        case .root: return ("#e8f0fa", "#1e3a5f", 2.6)
        case .latent: return ("#f8f7fc", "#6b5b95", 1.4)
        case .duplicates: return ("#fdf8ec", "#a16207", 1.2)
        case .collapsed: return ("#f1f5f9", "#94a3b8", 1.2)
        }
    }
}

/// Writes one `Layout` of a `Drawing` as SVG. Every piece of text passes through `Markup.xml`.
struct SVGPicture {
    let drawing: Drawing
    let layout: Layout
    /// Prefix of the ids inside the document, so that several pictures in one page (a notebook)
    /// never share a marker id.
    let prefix: String
    /// Whether the title, the score and the warnings are drawn: not inside the HTML view, whose
    /// page shows them already.
    let framed: Bool
    static let margin = 16.0

    init(_ drawing: Drawing, _ layout: Layout, framed: Bool = true) {
        self.drawing = drawing
        self.layout = layout
        self.framed = framed
        var hash: UInt32 = 2_166_136_261   // FNV-1a over the ids and edges: stable per graph
        func mix(_ s: String) { for b in s.utf8 { hash = (hash ^ UInt32(b)) &* 16_777_619 } }
        mix(drawing.title)
        for n in drawing.nodes { mix(n.id ?? "\u{0}latent") }
        for e in drawing.edges { mix("\(e.parent)>\(e.child)") }
        prefix = "mt" + String(hash, radix: 16)
    }

    /// A coordinate with at most one decimal.
    static func n(_ x: Double) -> String {
        let text = Formatting.fixed(x, 1)
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    /// The lines above the graph: (text, size, bold, colour).
    func header(width: Double) -> [(String, Double, Bool, String)] {
        var lines: [(String, Double, Bool, String)] = []
        if framed && !drawing.title.isEmpty {
            lines.append((TextMetrics.fit(Markup.visible(drawing.title), width: width, size: 16, bold: true), 16, true, PictureStyle.text))
        }
        if framed && !drawing.score.isEmpty {
            let text = "Score: " + drawing.score.map { "\($0.key) \($0.value)" }.joined(separator: " · ")
            lines.append((TextMetrics.fit(Markup.visible(text), width: width, size: 12), 12, false, PictureStyle.text))
        }
        for note in layout.notes {
            lines.append((TextMetrics.fit(Markup.visible("Note: " + note), width: width, size: 12), 12, false, PictureStyle.warning))
        }
        return lines
    }

    /// Legend entries: edge types and styles present, then box kinds present.
    func legend() -> [(text: String, draw: (Double, Double) -> String)] {
        var items: [(String, (Double, Double) -> String)] = []
        let types = Set(drawing.edges.map(\.type))
        for type in Drawing.EdgeType.allCases where types.contains(type) {
            items.append((PictureStyle.name(type), { x, y in
                "<line x1=\"\(Self.n(x))\" y1=\"\(Self.n(y))\" x2=\"\(Self.n(x + 28))\" y2=\"\(Self.n(y))\" stroke=\"\(PictureStyle.colour(type))\" stroke-width=\"2\"/>"
            }))
        }
        if drawing.edges.contains(where: \.unsure) {
            items.append((drawing.unsureLegend + " (dashed)", { x, y in
                "<line x1=\"\(Self.n(x))\" y1=\"\(Self.n(y))\" x2=\"\(Self.n(x + 28))\" y2=\"\(Self.n(y))\" stroke=\"\(PictureStyle.muted)\" stroke-width=\"2\" stroke-dasharray=\"\(PictureStyle.unsureDash)\"/>"
            }))
        }
        let kinds = Set(layout.boxes.map(\.kind))
        let boxes: [(Layout.BoxKind, String)] = [(.root, "root (no parent in the collection)"), (.latent, "latent parent (not in the collection)"),
                                                 (.duplicates, "identical copies"), (.collapsed, "collapsed models")]
        for (kind, text) in boxes where kinds.contains(kind) {
            items.append((text, { x, y in self.boxShape(kind, Layout.Rect(x: x, y: y - 7, width: 28, height: 14), radius: 3) }))
        }
        return items
    }

    func render() -> String {
        typealias M = LayoutMetrics
        let margin = Self.margin
        let legendItems = legend()
        let legendWidths = legendItems.map { 28 + 6 + TextMetrics.width($0.text, size: 11) + 18 }
        var width = max(layout.width, 480)
        let headerLines = header(width: max(width, 480))
        width = max(width, headerLines.map { TextMetrics.width($0.0, size: $0.1, bold: $0.2) }.max() ?? 0)
        // The legend wraps at the picture's width.
        var legendRows: [[Int]] = [[]]
        var rowWidth = 0.0
        for (i, w) in legendWidths.enumerated() {
            if rowWidth + w > width && !legendRows[legendRows.count - 1].isEmpty { legendRows.append([]); rowWidth = 0 }
            legendRows[legendRows.count - 1].append(i)
            rowWidth += w
        }
        let warnings = (framed ? drawing.warnings : []).map { TextMetrics.fit(Markup.visible("warning: " + $0), width: width, size: 11.5) }

        let headerHeight = headerLines.map { $0.1 + 8 }.reduce(0, +) + (headerLines.isEmpty ? 0 : 6)
        let graphTop = margin + headerHeight
        let legendTop = graphTop + layout.height + (layout.height > 0 ? 18 : 0)
        let legendHeight = legendItems.isEmpty ? 0 : Double(legendRows.count) * 20 + 4
        let warningsTop = legendTop + legendHeight
        let totalWidth = (width + 2 * margin).rounded(.up)
        let totalHeight = (warningsTop + Double(warnings.count) * 17 + margin).rounded(.up)

        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" class=\"modeltree\" width=\"\(Self.n(totalWidth))\" height=\"\(Self.n(totalHeight))\" "
            + "viewBox=\"0 0 \(Self.n(totalWidth)) \(Self.n(totalHeight))\" font-family=\"\(PictureStyle.fontFamily)\" role=\"img\">\n"
        let modelCount = drawing.nodes.filter { $0.id != nil }.count
        out += "<title>\(Markup.xml(drawing.title.isEmpty ? "Model graph of \(modelCount) models" : drawing.title))</title>\n"
        out += "<defs>\n"
        for type in Drawing.EdgeType.allCases { out += marker(type.rawValue, PictureStyle.colour(type)) }
        out += marker("collapsed", PictureStyle.collapsedColour)
        out += "</defs>\n"
        out += "<rect class=\"mt-background\" x=\"0\" y=\"0\" width=\"\(Self.n(totalWidth))\" height=\"\(Self.n(totalHeight))\" fill=\"#ffffff\"/>\n"

        var y = margin
        for (text, size, bold, colour) in headerLines {
            y += size + 2
            out += "<text x=\"\(Self.n(margin))\" y=\"\(Self.n(y))\" font-size=\"\(Self.n(size))\"\(bold ? " font-weight=\"bold\"" : "") fill=\"\(colour)\">\(Markup.xml(text))</text>\n"
            y += 6
        }

        out += "<g class=\"mt-graph\" transform=\"translate(\(Self.n(margin)) \(Self.n(graphTop)))\">\n"
        out += "<g class=\"mt-families\">\n"
        for band in layout.bands {
            let r = band.rect
            let data = band.family.map { " data-family=\"\($0)\"" } ?? ""
            out += "<g class=\"mt-family\"\(data)><rect x=\"\(Self.n(r.x))\" y=\"\(Self.n(r.y))\" width=\"\(Self.n(r.width))\" height=\"\(Self.n(r.height))\" rx=\"10\" fill=\"#f8fafc\" stroke=\"#e2e8f0\"/>"
            out += "<text x=\"\(Self.n(band.titleRect.x))\" y=\"\(Self.n(band.titleRect.y + 17))\" font-size=\"\(Self.n(M.bandTitleSize))\" font-weight=\"bold\" fill=\"\(PictureStyle.muted)\">\(Markup.xml(band.title))</text></g>\n"
        }
        out += "</g>\n<g class=\"mt-edges\">\n"
        for bundle in layout.bundles {
            out += "<path class=\"mt-bundle\" d=\"\(path(bundle))\" fill=\"none\" stroke=\"\(PictureStyle.bundleColour)\" stroke-width=\"1.6\"/>\n"
        }
        for (r, route) in layout.routes.enumerated() { out += edge(route, index: r) }
        out += "</g>\n<g class=\"mt-labels\">\n"
        for route in layout.routes { out += label(route) }
        out += "</g>\n<g class=\"mt-nodes\">\n"
        for (b, box) in layout.boxes.enumerated() { out += node(box, index: b) }
        out += "</g>\n</g>\n"

        if !legendItems.isEmpty {
            out += "<g class=\"mt-legend\">\n"
            for (row, items) in legendRows.enumerated() {
                var x = margin
                let ly = legendTop + Double(row) * 20 + 10
                for i in items {
                    out += legendItems[i].draw(x, ly)
                    out += "<text x=\"\(Self.n(x + 34))\" y=\"\(Self.n(ly + 4))\" font-size=\"11\" fill=\"\(PictureStyle.muted)\">\(Markup.xml(legendItems[i].text))</text>\n"
                    x += legendWidths[i]
                }
            }
            out += "</g>\n"
        }
        if !warnings.isEmpty {
            out += "<g class=\"mt-warnings\">\n"
            for (i, w) in warnings.enumerated() {
                out += "<text x=\"\(Self.n(margin))\" y=\"\(Self.n(warningsTop + 13 + Double(i) * 17))\" font-size=\"11.5\" fill=\"\(PictureStyle.warning)\">\(Markup.xml(w))</text>\n"
            }
            out += "</g>\n"
        }
        return out + "</svg>\n"
    }

    func marker(_ name: String, _ colour: String) -> String {
        "<marker id=\"\(prefix)-\(name)\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">"
            + "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"\(colour)\"/></marker>\n"
    }

    /// The route's path: straight where it runs horizontally or vertically, a curve leaving and
    /// arriving vertically where it moves both ways (between layers).
    func path(_ points: [Layout.Point]) -> String {
        var d = "M\(Self.n(points[0].x)),\(Self.n(points[0].y))"
        for i in 1..<points.count {
            let a = points[i - 1], b = points[i]
            if a.x != b.x && a.y != b.y {
                let mid = (a.y + b.y) / 2
                d += " C\(Self.n(a.x)),\(Self.n(mid)) \(Self.n(b.x)),\(Self.n(mid)) \(Self.n(b.x)),\(Self.n(b.y))"
            } else {
                d += " L\(Self.n(b.x)),\(Self.n(b.y))"
            }
        }
        return d
    }

    func edgeStyle(_ route: Layout.Route) -> (colour: String, dash: String?, marker: String) {
        guard let e = route.edge else { return (PictureStyle.collapsedColour, PictureStyle.collapsedDash, "collapsed") }
        let edge = drawing.edges[e]
        return (PictureStyle.colour(edge.type), edge.unsure ? PictureStyle.unsureDash : nil, edge.type.rawValue)
    }

    func edge(_ route: Layout.Route, index: Int) -> String {
        let style = edgeStyle(route)
        let d = path(Array(route.points[max(route.bundled - 1, 0)...]))
        var attributes = " data-route=\"\(index)\""
        var title = "collapsed subtree"
        if let e = route.edge {
            let edge = drawing.edges[e]
            attributes += " data-edge=\"\(e)\""
            title = (drawing.nodes[edge.parent].id ?? drawing.nodes[edge.parent].label[0]) + " → "
                + (drawing.nodes[edge.child].id ?? drawing.nodes[edge.child].label[0]) + ": " + PictureStyle.name(edge.type)
                + (edge.lines.isEmpty ? "" : ", " + edge.lines.joined(separator: ", ")) + (edge.unsure ? " (unsure)" : "")
        }
        return "<g class=\"mt-edge\"\(attributes)><title>\(Markup.xml(title))</title>"
            + "<path d=\"\(d)\" fill=\"none\" stroke=\"transparent\" stroke-width=\"10\"/>"
            + "<path d=\"\(d)\" fill=\"none\" stroke=\"\(style.colour)\" stroke-width=\"1.6\"\(style.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") marker-end=\"url(#\(prefix)-\(style.marker))\"/></g>\n"
    }

    func label(_ route: Layout.Route) -> String {
        guard let r = route.label, let e = route.edge else { return "" }
        let colour = edgeStyle(route).colour
        var out = "<g class=\"mt-label\" data-edge=\"\(e)\"><rect x=\"\(Self.n(r.x))\" y=\"\(Self.n(r.y))\" width=\"\(Self.n(r.width))\" height=\"\(Self.n(r.height))\" rx=\"3\" fill=\"#ffffff\" fill-opacity=\"0.92\" stroke=\"\(colour)\" stroke-width=\"0.6\" stroke-opacity=\"0.5\"/>"
        for (i, line) in route.labelLines.enumerated() {
            let y = r.y + LayoutMetrics.labelPad + Double(i) * LayoutMetrics.labelLineHeight + 9.5
            out += "<text x=\"\(Self.n(r.midX))\" y=\"\(Self.n(y))\" text-anchor=\"middle\" font-size=\"\(Self.n(LayoutMetrics.labelSize))\" fill=\"\(colour)\">\(Markup.xml(line))</text>"
        }
        return out + "</g>\n"
    }

    /// The outline of a box of `kind` (collapsed boxes get two cards behind them).
    func boxShape(_ kind: Layout.BoxKind, _ r: Layout.Rect, radius: Double = 6) -> String {
        let (fill, stroke, width) = PictureStyle.box(kind)
        func rect(_ r: Layout.Rect, _ extra: String = "") -> String {
            "<rect x=\"\(Self.n(r.x))\" y=\"\(Self.n(r.y))\" width=\"\(Self.n(r.width))\" height=\"\(Self.n(r.height))\" rx=\"\(Self.n(kind == .latent ? r.height / 2 : radius))\" fill=\"\(fill)\" stroke=\"\(stroke)\" stroke-width=\"\(Self.n(width))\"\(extra)/>"
        }
        switch kind {
        case .latent: return rect(r, " stroke-dasharray=\"\(PictureStyle.latentDash)\"")
        case .collapsed:
            let step = min(3, r.height / 6)
            return rect(.init(x: r.x + 2 * step, y: r.y - 2 * step, width: r.width - 2 * step, height: r.height))
                + rect(.init(x: r.x + step, y: r.y - step, width: r.width - step, height: r.height))
                + rect(.init(x: r.x, y: r.y, width: r.width - 2 * step, height: r.height))
        default: return rect(r)
        }
    }

    func node(_ box: Layout.Box, index: Int) -> String {
        typealias M = LayoutMetrics
        let r = box.rect
        var attributes = " data-box=\"\(index)\""
        if box.nodes.count == 1 { attributes += " data-node=\"\(box.nodes[0])\"" }
        let title: String
        switch box.kind {
        case .collapsed:
            let names = box.hidden.prefix(12).map { drawing.nodes[$0].id ?? drawing.nodes[$0].label[0] }
            title = "\(box.hidden.count) collapsed models: " + names.joined(separator: ", ") + (box.hidden.count > names.count ? ", …" : "")
        case .duplicates: title = "identical copies: " + box.nodes.map { drawing.nodes[$0].id ?? "" }.joined(separator: ", ")
        default:
            let node = drawing.nodes[box.nodes[0]]
            title = node.id ?? node.label.joined(separator: " · ")   // the full id: the box may shorten it
        }
        var out = "<g class=\"mt-node mt-\(box.kind.rawValue)\"\(attributes)><title>\(Markup.xml(title))</title>"
        out += boxShape(box.kind, r)
        // Hidden models stay in the document, one empty group each, for search and for readers.
        for i in box.hidden { out += "<g class=\"mt-hidden\" data-node=\"\(i)\"><title>\(Markup.xml(drawing.nodes[i].id ?? drawing.nodes[i].label[0]))</title></g>" }
        let textX = box.kind == .collapsed ? r.midX - min(3, r.height / 6) : r.midX
        for (i, line) in box.lines.enumerated() {
            let y = r.y + M.padY + Double(i) * M.lineHeight + 11.5
            let size: Double, weight: String, colour: String, italic: Bool
            switch line.style {
            case .title: (size, weight, colour, italic) = (M.titleSize, " font-weight=\"bold\"", PictureStyle.text, box.kind == .latent)
            case .member: (size, weight, colour, italic) = (M.textSize, "", PictureStyle.text, false)
            case .detail: (size, weight, colour, italic) = (M.textSize, "", PictureStyle.muted, false)
            case .note: (size, weight, colour, italic) = (M.textSize, "", PictureStyle.muted, true)
            }
            let text = "<text x=\"\(Self.n(textX))\" y=\"\(Self.n(y))\" text-anchor=\"middle\" font-size=\"\(Self.n(size))\"\(weight)\(italic ? " font-style=\"italic\"" : "") fill=\"\(colour)\">\(Markup.xml(line.text))</text>"
            if let member = line.node {
                out += "<g class=\"mt-member\" data-node=\"\(member)\"><title>\(Markup.xml(drawing.nodes[member].id ?? ""))</title>\(text)</g>"
            } else {
                out += text
            }
        }
        return out + "</g>\n"
    }
}
