/// The steps of `Layout` (see its documentation for the algorithm and its cost), in the order
/// `run` takes them. Indices: `boxes` and `links` first index the boxes of the whole drawing, then
/// (after `collapse`) only the visible ones; `vertices` are the visible boxes followed by dummies.
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

    /// A box or a dummy point of an edge that spans several layers.
    struct Vertex {
        var box: Int?
        var layer: Int
        var family: Int
        var width: Double
        var up: [Int] = []
        var down: [Int] = []
        var x = 0.0
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
        return place()
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
                var ok = true
                for k in out[v] {
                    let c = links[k].to
                    ok = ok && indegree[c] == 1 && boxes[c].family == boxes[v].family && boxes[c].kind != .latent && closed[c]
                    size[v] += size[c]
                    shown[v] += shown[c]
                }
                closed[v] = ok
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
            perFamily = perFamily.enumerated().map { f, count in count + newBoxes.filter { $0.family == f }.count }
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

    // MARK: Placement

    mutating func place() -> Layout {
        typealias M = LayoutMetrics
        // Families joined by a link are one block; blocks and families keep the drawing's order.
        let familyCount = drawing.families.count + 1
        var parentOf = Array(0..<familyCount)
        func find(_ f: Int) -> Int { var f = f; while parentOf[f] != f { f = parentOf[f] }; return f }
        for link in links {
            let a = find(boxes[link.from].family), b = find(boxes[link.to].family)
            if a != b { parentOf[max(a, b)] = min(a, b) }
        }
        var used = [Bool](repeating: false, count: familyCount)
        for box in boxes { used[box.family] = true }
        var blocks: [[Int]] = []
        var blockOf = [Int](repeating: -1, count: familyCount)
        for f in 0..<familyCount where used[f] {
            let r = find(f)
            if blockOf[r] < 0 { blockOf[r] = blocks.count; blocks.append([]) }
            blockOf[f] = blockOf[r]
            blocks[blockOf[r]].append(f)
        }
        var familyRank = [Int](repeating: 0, count: familyCount)
        var rank = 0
        for block in blocks { for f in block { familyRank[f] = rank; rank += 1 } }

        // Vertices: boxes, then one dummy per layer an edge crosses.
        var vertices = boxes.map { Vertex(box: nil, layer: $0.layer, family: $0.family, width: $0.rect.width) }
        for b in boxes.indices { vertices[b].box = b }
        var chains: [[Int]] = []
        for link in links {
            var chain = [link.from]
            for l in (layer[link.from] + 1)..<max(layer[link.to], layer[link.from] + 1) {
                vertices.append(Vertex(box: nil, layer: l, family: boxes[link.to].family, width: M.dummyWidth))
                chain.append(vertices.count - 1)
            }
            chain.append(link.to)
            for (a, b) in zip(chain, chain.dropFirst()) {
                vertices[a].down.append(b)
                vertices[b].up.append(a)
            }
            chains.append(chain)
        }
        let depth = vertices.map(\.layer).max() ?? 0
        var order = orderLayers(&vertices, depth: depth, familyRank: familyRank)
        assignX(&vertices, order: &order, depth: depth)

        // Family bands: content width, title, and the shift that puts the content at the band's left.
        var bandWidth = [Double](repeating: 0, count: familyCount)
        var shift = [Double](repeating: 0, count: familyCount)
        var titles = [String](repeating: "", count: familyCount)
        var left = [Double](repeating: .infinity, count: familyCount), right = [Double](repeating: -.infinity, count: familyCount)
        for v in vertices {
            left[v.family] = min(left[v.family], v.x - v.width / 2)
            right[v.family] = max(right[v.family], v.x + v.width / 2)
        }
        for f in 0..<familyCount where used[f] {
            let content = right[f] - left[f]
            let raw = f == othersFamily ? "more families" : drawing.families[f].title
            titles[f] = TextMetrics.fit(Markup.visible(raw), width: max(content, 2 * M.maxTextWidth), size: M.bandTitleSize, bold: true)
            let title = TextMetrics.width(titles[f], size: M.bandTitleSize, bold: true)
            bandWidth[f] = max(content, title).rounded(.up) + 2 * M.bandPad
            shift[f] = M.bandPad - left[f] + max(0, title - content) / 2
        }

        // Per block: layer heights, label runs, the tops of the layers.
        struct BlockFrame { var width = 0.0, height = 0.0; var layerTop: [Double] = [], layerBottom: [Double] = [], runTop: [Double] = [] }
        var frames = [BlockFrame](repeating: BlockFrame(), count: blocks.count)
        var layerHeight = [[Double]](repeating: [Double](repeating: 0, count: depth + 1), count: blocks.count)
        var runHeight = layerHeight
        for box in boxes {
            let k = blockOf[box.family]
            layerHeight[k][box.layer] = max(layerHeight[k][box.layer], box.rect.height)
        }
        for (l, link) in links.enumerated() where labelSize[l].height > 0 {
            let k = blockOf[boxes[link.to].family]
            runHeight[k][layer[link.to]] = max(runHeight[k][layer[link.to]], labelSize[l].height + 2 + LayoutMetrics.arrow)
        }
        for (k, block) in blocks.enumerated() {
            var frame = BlockFrame()
            var y = M.bandTitleHeight + M.bandPad
            for l in 0...depth {
                if l > 0 { y += M.curve + runHeight[k][l] }
                frame.runTop.append(y - runHeight[k][l])
                frame.layerTop.append(y)
                y += layerHeight[k][l]
                frame.layerBottom.append(y)
            }
            let deepest = boxes.filter { blockOf[$0.family] == k }.map(\.layer).max() ?? 0
            frame.height = frame.layerBottom[deepest] + M.bandPad
            frame.width = block.map { bandWidth[$0] }.reduce(0, +) + Double(block.count - 1) * M.familyGap
            frames[k] = frame
        }

        // Blocks into rows.
        let single = frames.map(\.width).reduce(0, +) + Double(max(blocks.count - 1, 0)) * M.familyGap
        let area = frames.map { $0.width * $0.height }.reduce(0, +)
        let widest = frames.map(\.width).max() ?? 0
        let rowWidth = options.rowWidth > 0 ? max(options.rowWidth, widest)
            : max(widest, min(single, max(1400, (area * 1.6).squareRoot())))
        var blockOrigin = [Layout.Point](repeating: .init(x: 0, y: 0), count: blocks.count)
        var x = 0.0, y = 0.0, rowHeight = 0.0, width = 0.0
        for k in blocks.indices {
            if x > 0 && x + frames[k].width > rowWidth {
                y += rowHeight + M.rowGap
                x = 0
                rowHeight = 0
            }
            blockOrigin[k] = .init(x: x, y: y)
            x += frames[k].width + M.familyGap
            width = max(width, x - M.familyGap)
            rowHeight = max(rowHeight, frames[k].height)
        }
        let height = blocks.isEmpty ? 0 : y + rowHeight

        // Absolute positions.
        var bandX = [Double](repeating: 0, count: familyCount)
        var bands: [Layout.Band] = []
        for (k, block) in blocks.enumerated() {
            var bx = blockOrigin[k].x
            for f in block {
                bandX[f] = bx
                let rect = Layout.Rect(x: bx, y: blockOrigin[k].y, width: bandWidth[f], height: frames[k].height)
                bands.append(.init(family: f == othersFamily ? nil : f, rect: rect, title: titles[f],
                                   titleRect: .init(x: bx + M.bandPad, y: rect.y, width: bandWidth[f] - 2 * M.bandPad, height: M.bandTitleHeight)))
                bx += bandWidth[f] + M.familyGap
            }
        }
        for v in vertices.indices { vertices[v].x += bandX[vertices[v].family] + shift[vertices[v].family] }
        for b in boxes.indices {
            let k = blockOf[boxes[b].family]
            boxes[b].rect.x = vertices[b].x - boxes[b].rect.width / 2
            boxes[b].rect.y = blockOrigin[k].y + frames[k].layerTop[boxes[b].layer]
        }

        // Routes: down from the parent, through each dummy, into a slot of the child's top.
        var incoming = [[Int]](repeating: [], count: boxes.count)
        for (l, chain) in chains.enumerated() { incoming[chain.last!].append(l) }
        var slotX = [Double](repeating: 0, count: links.count)
        for b in boxes.indices where !incoming[b].isEmpty {
            let sorted = incoming[b].sorted {
                let xa = vertices[chains[$0][chains[$0].count - 2]].x, xb = vertices[chains[$1][chains[$1].count - 2]].x
                return xa != xb ? xa < xb : $0 < $1
            }
            let slot = boxes[b].rect.width / Double(sorted.count)
            for (j, l) in sorted.enumerated() { slotX[l] = boxes[b].rect.x + (Double(j) + 0.5) * slot }
        }
        var routes: [Layout.Route] = []
        for (l, chain) in chains.enumerated() {
            let link = links[l]
            let frame = frames[blockOf[boxes[link.to].family]], top = blockOrigin[blockOf[boxes[link.to].family]].y
            let first = boxes[link.from]
            var points = [Layout.Point(x: vertices[link.from].x, y: first.rect.maxY),
                          .init(x: vertices[link.from].x, y: top + frame.layerBottom[first.layer])]
            for d in chain.dropFirst().dropLast() {
                points.append(.init(x: vertices[d].x, y: top + frame.runTop[vertices[d].layer]))
                points.append(.init(x: vertices[d].x, y: top + frame.layerBottom[vertices[d].layer]))
            }
            let last = boxes[link.to]
            points.append(.init(x: slotX[l], y: top + frame.runTop[last.layer]))
            points.append(.init(x: slotX[l], y: last.rect.y))
            var label: Layout.Rect?
            if labelSize[l].height > 0 {
                let (w, h) = labelSize[l]
                label = .init(x: slotX[l] - w / 2, y: last.rect.y - h - LayoutMetrics.arrow, width: w, height: h)
            }
            routes.append(.init(edge: link.edge, from: link.reversed ? link.to : link.from, to: link.reversed ? link.from : link.to,
                                points: link.reversed ? points.reversed() : points, label: label, labelLines: labelLines[l],
                                reversed: link.reversed))
        }
        return Layout(boxes: boxes, routes: routes, bands: bands, boxOfNode: boxOfNode, collapsedModels: collapsedModels,
                      width: width, height: height, notes: notes)
    }

    // MARK: Order

    /// Vertices of each layer, left to right: depth-first order, then barycenter sweeps; the
    /// order with the fewest crossings is kept. O(sweeps · (V + D + E) log(V + D)).
    func orderLayers(_ vertices: inout [Vertex], depth: Int, familyRank: [Int]) -> [[Int]] {
        // Depth-first preorder from the sources, families in rank order.
        var visit = [Int](repeating: -1, count: vertices.count)
        var counter = 0
        let sources = vertices.indices.filter { vertices[$0].up.isEmpty }
            .sorted { (familyRank[vertices[$0].family], $0) < (familyRank[vertices[$1].family], $1) }
        for s in sources + Array(vertices.indices) where visit[s] < 0 {
            var stack = [s]
            while let v = stack.popLast() {
                guard visit[v] < 0 else { continue }
                visit[v] = counter
                counter += 1
                stack += vertices[v].down.reversed()
            }
        }
        var order = [[Int]](repeating: [], count: depth + 1)
        for v in vertices.indices { order[vertices[v].layer].append(v) }
        for l in order.indices {
            order[l].sort { (familyRank[vertices[$0].family], visit[$0]) < (familyRank[vertices[$1].family], visit[$1]) }
        }
        var position = [Double](repeating: 0, count: vertices.count)
        func renumber(_ l: Int) {
            let n = order[l].count
            for (i, v) in order[l].enumerated() { position[v] = n > 1 ? Double(i) / Double(n - 1) : 0.5 }
        }
        for l in order.indices { renumber(l) }
        var best = order
        var fewest = crossings(vertices, order)
        guard fewest > 0 else { return best }
        for sweep in 0..<(2 * options.sweeps) {
            let down = sweep % 2 == 0
            for l in down ? Array(stride(from: 1, through: depth, by: 1)) : Array(stride(from: depth - 1, through: 0, by: -1)) {
                var key = [Double](repeating: 0, count: vertices.count)
                for v in order[l] {
                    let neighbours = down ? vertices[v].up : vertices[v].down
                    key[v] = neighbours.isEmpty ? position[v] : neighbours.map { position[$0] }.reduce(0, +) / Double(neighbours.count)
                }
                order[l].sort {
                    let fa = familyRank[vertices[$0].family], fb = familyRank[vertices[$1].family]
                    if fa != fb { return fa < fb }
                    if key[$0] != key[$1] { return key[$0] < key[$1] }
                    return position[$0] < position[$1]
                }
                renumber(l)
            }
            let count = crossings(vertices, order)
            if count < fewest {
                fewest = count
                best = order
                if count == 0 { break }
            }
        }
        return best
    }

    /// Crossings between consecutive layers: inversions of the lower ends when the edges are
    /// sorted by their upper ends, counted with a Fenwick tree. O((V + D + E) log(V + D)).
    func crossings(_ vertices: [Vertex], _ order: [[Int]]) -> Int {
        var index = [Int](repeating: 0, count: vertices.count)
        for layer in order { for (i, v) in layer.enumerated() { index[v] = i } }
        var total = 0
        for l in order.indices.dropLast() {
            let n = order[l + 1].count
            var tree = [Int](repeating: 0, count: n + 1)
            var seen = 0
            for v in order[l] {
                for w in vertices[v].down.map({ index[$0] }).sorted() {
                    // Edges already seen whose lower end lies right of w cross this one.
                    var i = w + 1, atMost = 0
                    while i > 0 { atMost += tree[i]; i -= i & -i }
                    total += seen - atMost
                    i = w + 1
                    while i <= n { tree[i] += 1; i += i & -i }
                    seen += 1
                }
            }
        }
        return total
    }

    // MARK: Coordinates

    /// Horizontal centres, per family: alternating sweeps, each placing one layer as close as the
    /// order and the gaps allow to where its neighbours want it, the last one going up.
    /// O(sweeps · (V + D + E)).
    func assignX(_ vertices: inout [Vertex], order: inout [[Int]], depth: Int) {
        for l in order.indices {
            let xs = packed(order[l], vertices, desired: order[l].map { _ in 0 }, weight: order[l].map { _ in 1 })
            for (v, x) in zip(order[l], xs) { vertices[v].x = x }
        }
        func sweep(_ l: Int, down: Bool) {
            var desired: [Double] = [], weight: [Double] = []
            for v in order[l] {
                let neighbours = (down ? vertices[v].up : vertices[v].down).filter { vertices[$0].family == vertices[v].family }
                if neighbours.isEmpty {
                    desired.append(vertices[v].x)
                    weight.append(0.05)
                } else {
                    desired.append(neighbours.map { vertices[$0].x }.reduce(0, +) / Double(neighbours.count))
                    weight.append(Double(neighbours.count) * (vertices[v].box == nil ? 2 : 1))
                }
            }
            let xs = packed(order[l], vertices, desired: desired, weight: weight)
            for (v, x) in zip(order[l], xs) { vertices[v].x = x }
        }
        guard depth > 0 else { return }
        for _ in 0..<max(options.sweeps, 1) {
            for l in 1...depth { sweep(l, down: true) }
            for l in stride(from: depth - 1, through: 0, by: -1) { sweep(l, down: false) }
        }
    }

    /// Centres for the vertices of one layer (in order) that keep the order and the gaps and
    /// minimise Σ weight · (x − desired)², per family (families are placed apart later).
    /// With offsets o (the cumulative minimum distances) and y = x − o this is weighted isotonic
    /// regression of desired − o, solved exactly by pool-adjacent-violators. O(n).
    func packed(_ layer: [Int], _ vertices: [Vertex], desired: [Double], weight: [Double]) -> [Double] {
        var xs = [Double](repeating: 0, count: layer.count)
        var start = 0
        while start < layer.count {
            var end = start
            while end < layer.count && vertices[layer[end]].family == vertices[layer[start]].family { end += 1 }
            var offset = [Double](repeating: 0, count: end - start)
            for i in 1..<max(offset.count, 1) {
                let a = vertices[layer[start + i - 1]], b = vertices[layer[start + i]]
                let gap = a.box != nil && b.box != nil ? LayoutMetrics.boxGap : LayoutMetrics.dummyGap
                offset[i] = offset[i - 1] + (a.width + b.width) / 2 + gap
            }
            // Blocks of pooled values: (total weight, weighted sum, count).
            var pools: [(w: Double, sum: Double, n: Int)] = []
            for i in offset.indices {
                let w = max(weight[start + i], 1e-6)
                pools.append((w, w * (desired[start + i] - offset[i]), 1))
                while pools.count > 1 && pools[pools.count - 2].sum / pools[pools.count - 2].w > pools[pools.count - 1].sum / pools[pools.count - 1].w {
                    let top = pools.removeLast()
                    pools[pools.count - 1].w += top.w
                    pools[pools.count - 1].sum += top.sum
                    pools[pools.count - 1].n += top.n
                }
            }
            var i = 0
            for pool in pools {
                for _ in 0..<pool.n {
                    xs[start + i] = pool.sum / pool.w + offset[i]
                    i += 1
                }
            }
            start = end
        }
        return xs
    }
}
