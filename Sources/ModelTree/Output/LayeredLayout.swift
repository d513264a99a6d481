/// The steps of `Layout` (see its documentation for the algorithm and its cost), in the order
/// `run` takes them: boxes, cycles, layers, collapse and sizes here; order and coordinates in
/// `LayeredLayout+Order.swift`; grids, bands, rows and routes in `LayeredLayout+Place.swift`.
/// Indices: `boxes` and `links` first index the boxes of the whole drawing, then (after
/// `collapse`) only the visible ones.
struct LayeredLayout {
    typealias Box = Layout.Box

    /// An edge between boxes, oriented from the upper to the lower box.
    struct Link {
        var from: Int
        var to: Int
        /// Index into `Drawing.edges`; nil for the link to a collapsed subtree.
        var edge: Int?
        /// Drawn from `to` to `from`: reversed to break a cycle.
        var reversed = false
    }

    /// What the order and coordinate steps place: a box, a grid of leaves under one parent
    /// (`Grid`), or a dummy point of an edge that spans several layers.
    struct Vertex {
        var box: Int?
        var grid: Int?
        var layer: Int
        var family: Int
        var width: Double
        var height: Double
        var up: [Int] = []
        var down: [Int] = []
        var x = 0.0
        /// Where edges attach, from the centre: the trunk of a grid, the middle of anything else.
        var anchor = 0.0
        /// For the part of a tall grid that lies in a lower layer: the grid's vertex.
        var continues: Int?
        var isDummy: Bool { box == nil && grid == nil && continues == nil }
    }

    let drawing: Drawing
    let options: LayoutOptions
    var boxes: [Box] = []
    var boxOfNode: [Int]
    var links: [Link] = []
    var layer: [Int] = []
    var notes: [String] = []
    var collapsedModels = 0
    /// Families in drawing order plus one for the models beyond the limit (`othersFamily`).
    var othersFamily: Int { drawing.families.count }

    init(_ drawing: Drawing, _ options: LayoutOptions) {
        self.drawing = drawing
        self.options = options
        boxOfNode = [Int](repeating: -1, count: drawing.nodes.count)
    }

    mutating func run() -> Layout {
        makeBoxes()
        breakCycles()
        layer = assignLayers()
        collapse()
        sizeBoxes()
        // Tall grids span several layers when the picture stays planar around them; if the
        // coordinates cannot keep a grid's layers aligned, it keeps to one layer instead.
        return place(spanning: true) ?? place(spanning: false)!
    }

    // MARK: Boxes

    /// One box per node, one per group of identical copies, in the order of their first node.
    mutating func makeBoxes() {
        var groupOf = [Int](repeating: -1, count: drawing.nodes.count)
        for (g, group) in drawing.duplicates.enumerated() where group.count > 1 { for i in group { groupOf[i] = g } }
        for (i, node) in drawing.nodes.enumerated() where boxOfNode[i] < 0 {
            let members = groupOf[i] >= 0 ? drawing.duplicates[groupOf[i]] : [i]
            let kind: Layout.BoxKind = members.count > 1 ? .duplicates
                : (node.kind == .root ? .root : node.kind == .latent ? .latent : .model)
            for m in members { boxOfNode[m] = boxes.count }
            boxes.append(Box(nodes: members, hidden: [], kind: kind, family: node.family, layer: 0,
                             rect: .init(x: 0, y: 0, width: 0, height: 0), lines: []))
        }
        var inside = 0
        for (k, e) in drawing.edges.enumerated() {
            let a = boxOfNode[e.parent], b = boxOfNode[e.child]
            if a == b { inside += 1; continue }
            links.append(Link(from: a, to: b, edge: k))
        }
        if inside > 0 {
            notes.append("\(inside) edge\(inside == 1 ? "" : "s") between identical copies \(inside == 1 ? "is" : "are") not drawn")
        }
    }

    func outgoing() -> [[Int]] {
        var out = [[Int]](repeating: [], count: boxes.count)
        for (l, link) in links.enumerated() { out[link.from].append(l) }
        return out
    }

    /// Reverses the back edges of a depth-first search, which leaves a DAG. O(V + E).
    mutating func breakCycles() {
        let out = outgoing()
        var state = [UInt8](repeating: 0, count: boxes.count)   // 0 new, 1 on the stack, 2 done
        var reversed = 0
        for start in boxes.indices where state[start] == 0 {
            var stack: [(box: Int, next: Int)] = [(start, 0)]
            state[start] = 1
            while let top = stack.last {
                if top.next == out[top.box].count {
                    state[top.box] = 2
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let l = out[top.box][top.next]
                let to = links[l].to
                if state[to] == 1 {
                    links[l] = Link(from: to, to: links[l].from, edge: links[l].edge, reversed: true)
                    reversed += 1
                } else if state[to] == 0 {
                    state[to] = 1
                    stack.append((to, 0))
                }
            }
        }
        if reversed > 0 {
            notes.append("the graph has a cycle: \(reversed) edge\(reversed == 1 ? " is" : "s are") drawn pointing up")
        }
    }

    /// Longest path from the sources (Kahn's order). O(V + E).
    func assignLayers() -> [Int] {
        let out = outgoing()
        var indegree = [Int](repeating: 0, count: boxes.count)
        for link in links { indegree[link.to] += 1 }
        var queue = boxes.indices.filter { indegree[$0] == 0 }
        var layer = [Int](repeating: 0, count: boxes.count)
        var head = 0
        while head < queue.count {
            let u = queue[head]
            head += 1
            for l in out[u] {
                let v = links[l].to
                layer[v] = max(layer[v], layer[u] + 1)
                indegree[v] -= 1
                if indegree[v] == 0 { queue.append(v) }
            }
        }
        return layer
    }

    // MARK: Collapse

    /// Keeps at most `maxBoxes` boxes. A subtree can be collapsed when every box below its top has
    /// one parent, the top's family and is not latent (merges and latent parents stay in sight);
    /// its descendants become one "+N models" box. Deepest layers go first, the biggest saving
    /// first within a layer, until the count fits; then trailing families go into one box.
    /// O(V + E + V log V).
    mutating func collapse() {
        let limit = max(options.maxBoxes, 2)
        var total = boxes.count
        guard total > limit else { return }
        let out = outgoing()
        var indegree = [Int](repeating: 0, count: boxes.count)
        for link in links { indegree[link.to] += 1 }
        let depth = layer.max() ?? 0
        var byLayer = [[Int]](repeating: [], count: depth + 1)
        for b in boxes.indices { byLayer[layer[b]].append(b) }

        var closed = [Bool](repeating: false, count: boxes.count)
        var size = [Int](repeating: 1, count: boxes.count)      // boxes in the subtree
        var shown = [Int](repeating: 1, count: boxes.count)     // boxes drawn for it now
        var collapsedTop = [Bool](repeating: false, count: boxes.count)
        for l in stride(from: depth, through: 0, by: -1) {
            for v in byLayer[l] {
                closed[v] = out[v].allSatisfy { k in
                    let c = links[k].to
                    return indegree[c] == 1 && boxes[c].family == boxes[v].family && boxes[c].kind != .latent && closed[c]
                }
                // Counted only for closed subtrees, which are trees: in a DAG the sums would
                // count shared descendants once per path.
                guard closed[v] else { continue }
                for k in out[v] {
                    size[v] += size[links[k].to]
                    shown[v] += shown[links[k].to]
                }
            }
            guard total > limit else { continue }
            let candidates = byLayer[l].filter { closed[$0] && size[$0] >= 3 && shown[$0] > 2 }
                .sorted { shown[$0] != shown[$1] ? shown[$0] > shown[$1] : $0 < $1 }
            for v in candidates where total > limit {
                collapsedTop[v] = true
                total -= shown[v] - 2
                shown[v] = 2
            }
        }

        // Hide the subtrees under the collapsed tops, top-down so that nested tops are absorbed.
        var hiddenBy = [Int](repeating: -1, count: boxes.count)
        var newBoxes: [(top: Int, family: Int, hidden: [Int])] = []
        for l in 0...depth {
            for v in byLayer[l] where collapsedTop[v] && hiddenBy[v] < 0 {
                var stack = out[v].map { links[$0].to }
                var hidden: [Int] = []
                while let b = stack.popLast() {
                    hiddenBy[b] = boxes.count + newBoxes.count
                    hidden += boxes[b].nodes
                    stack += out[b].map { links[$0].to }
                }
                newBoxes.append((v, boxes[v].family, hidden.sorted()))
            }
        }
        // Then trailing families, whole, into one box.
        if total > limit {
            var perFamily = [Int](repeating: 0, count: drawing.families.count)
            for b in boxes.indices where hiddenBy[b] < 0 { perFamily[boxes[b].family] += 1 }
            for nb in newBoxes { perFamily[nb.family] += 1 }
            var kept = 0, dropping = false, dropped: [Int] = []
            for (f, count) in perFamily.enumerated() where count > 0 {
                if !dropping && (kept == 0 || kept + count + 1 <= limit) { kept += count } else { dropping = true; dropped.append(f) }
            }
            let droppedSet = Set(dropped)
            if !dropped.isEmpty {
                let index = boxes.count + newBoxes.count
                var hidden: [Int] = []
                for b in boxes.indices where droppedSet.contains(boxes[b].family) {
                    if hiddenBy[b] < 0 { hidden += boxes[b].nodes }
                    hiddenBy[b] = index
                }
                for k in newBoxes.indices where droppedSet.contains(newBoxes[k].family) {
                    hidden += newBoxes[k].hidden
                    newBoxes[k].family = -1            // absorbed
                }
                // Hidden boxes inside the dropped families now point at the one box.
                for b in boxes.indices where hiddenBy[b] >= boxes.count && droppedSet.contains(boxes[b].family) { hiddenBy[b] = index }
                newBoxes.append((-1, othersFamily, hidden.sorted()))
                notes.append("\(hidden.count) models in \(dropped.count) more famil\(dropped.count == 1 ? "y" : "ies") are not drawn (limit \(limit) boxes)")
            }
        }

        // The visible boxes, renumbered, followed by the collapsed ones.
        var renumber = [Int](repeating: -1, count: boxes.count)
        var visible: [Box] = []
        for b in boxes.indices where hiddenBy[b] < 0 {
            renumber[b] = visible.count
            visible.append(boxes[b])
        }
        var newIndex = [Int](repeating: -1, count: newBoxes.count)
        var newLinks: [Link] = []
        var newLayer = boxes.indices.filter { hiddenBy[$0] < 0 }.map { layer[$0] }
        var subtreeModels = 0
        for (k, nb) in newBoxes.enumerated() where nb.family >= 0 {
            newIndex[k] = visible.count
            visible.append(Box(nodes: [], hidden: nb.hidden, kind: .collapsed, family: nb.family, layer: 0,
                               rect: .init(x: 0, y: 0, width: 0, height: 0), lines: []))
            if nb.top >= 0 {
                newLinks.append(Link(from: renumber[nb.top], to: newIndex[k], edge: nil))
                newLayer.append(layer[nb.top] + 1)
                subtreeModels += nb.hidden.count
            } else {
                newLayer.append(0)
            }
        }
        for (node, b) in boxOfNode.enumerated() {
            if hiddenBy[b] >= 0 {
                boxOfNode[node] = newIndex[hiddenBy[b] - boxes.count]
                collapsedModels += 1
            } else {
                boxOfNode[node] = renumber[b]
            }
        }
        let kept = links.filter { hiddenBy[$0.from] < 0 && hiddenBy[$0.to] < 0 }
            .map { Link(from: renumber[$0.from], to: renumber[$0.to], edge: $0.edge, reversed: $0.reversed) }
        if subtreeModels > 0 {
            notes.insert("\(subtreeModels) models are collapsed into \"+N models\" boxes to keep the picture legible (limit \(limit) boxes)", at: 0)
        }
        boxes = visible
        links = kept + newLinks
        layer = newLayer
    }

    // MARK: Text and sizes

    var labelLines: [[String]] = []   // per link
    var labelSize: [(width: Double, height: Double)] = []

    /// Each box's lines (made visible, shortened to `maxTextWidth`) and size; each link's label.
    mutating func sizeBoxes() {
        typealias M = LayoutMetrics
        func fitted(_ s: String, _ style: Layout.Line.Style) -> String {
            TextMetrics.fit(Markup.visible(s), width: M.maxTextWidth, size: style == .title ? M.titleSize : M.textSize,
                            bold: style == .title)
        }
        labelLines = links.map { link in
            guard let e = link.edge else { return [] }
            return drawing.edges[e].lines.map { TextMetrics.fit(Markup.visible($0), width: M.maxTextWidth, size: M.labelSize) }
        }
        labelSize = labelLines.map { lines in
            guard !lines.isEmpty else { return (0, 0) }
            let w = lines.map { TextMetrics.width($0, size: M.labelSize) }.max()! + 2 * M.labelPad
            return (w, Double(lines.count) * M.labelLineHeight + 2 * M.labelPad)
        }
        var slots = [Double](repeating: 0, count: boxes.count)
        var incoming = [Int](repeating: 0, count: boxes.count)
        for (l, link) in links.enumerated() {   // every route enters the lower box's top
            incoming[link.to] += 1
            slots[link.to] = max(slots[link.to], labelSize[l].width + 4)
        }
        for b in boxes.indices {
            var lines: [Layout.Line] = []
            let box = boxes[b]
            switch box.kind {
            case .duplicates:
                lines.append(.init(text: "\(box.nodes.count) identical copies", style: .note, node: nil))
                for m in box.nodes { lines.append(.init(text: fitted(drawing.nodes[m].label[0], .member), style: .member, node: m)) }
                for s in drawing.nodes[box.nodes[0]].label.dropFirst() { lines.append(.init(text: fitted(s, .detail), style: .detail, node: nil)) }
            case .collapsed:
                lines.append(.init(text: "+\(box.hidden.count) model\(box.hidden.count == 1 ? "" : "s")", style: .title, node: nil))
                lines.append(.init(text: box.family == othersFamily ? "in more families" : "collapsed subtree", style: .note, node: nil))
            default:
                let label = drawing.nodes[box.nodes[0]].label
                lines.append(.init(text: fitted(label[0], .title), style: .title, node: nil))
                for s in label.dropFirst() { lines.append(.init(text: fitted(s, .detail), style: .detail, node: nil)) }
            }
            var width = lines.map { line in
                TextMetrics.width(line.text, size: line.style == .title ? M.titleSize : M.textSize, bold: line.style == .title)
            }.max()! + 2 * M.padX
            if box.kind == .latent { width += M.padX }   // the pill's rounded ends
            width = max(width, M.minBoxWidth, Double(incoming[b]) * slots[b])
            boxes[b].lines = lines
            boxes[b].layer = layer[b]
            boxes[b].rect.width = width.rounded(.up)
            boxes[b].rect.height = Double(lines.count) * M.lineHeight + 2 * M.padY
        }
    }
}
