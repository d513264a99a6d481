/// Grids of leaves, vertices, family bands, rows and routes of `LayeredLayout` (steps 4 and 5 of
/// `Layout`).
extension LayeredLayout {
    /// More than `LayoutOptions.fanOut` leaves under one parent (a base with many fine-tunes) are
    /// set in a grid of rows instead of one endless row: a trunk runs down the grid's left side,
    /// a bus along the top of each row, and a drop into each leaf, its label above the leaf as
    /// everywhere else. The grid is one vertex of the layered drawing, under its parent.
    struct Grid {
        var parent: Int
        /// Leaf boxes, in link order, and the link into each.
        var members: [Int] = []
        var links: [Int] = []
        var width = 0.0, height = 0.0
        /// Each member's top-left corner and row, relative to the grid's top-left.
        var offset: [Layout.Point] = []
        var row: [Int] = []
        /// The y of each row's bus, relative to the grid's top.
        var bus: [Double] = []
    }

    static let trunkInset = 8.0, trunkSpace = 24.0, busGap = 4.0, gridRowGap = 14.0

    /// The grids: per box, its children that are leaves with it as their only parent, in its
    /// family, when there are more than `fanOut` of them. O(V + E).
    func makeGrids() -> [Grid] {
        guard options.fanOut > 0 else { return [] }
        let out = outgoing()
        var indegree = [Int](repeating: 0, count: boxes.count)
        for link in links { indegree[link.to] += 1 }
        var grids: [Grid] = []
        for p in boxes.indices {
            var grid = Grid(parent: p)
            for l in out[p] where !links[l].reversed {
                let c = links[l].to
                if out[c].isEmpty && indegree[c] == 1 && boxes[c].family == boxes[p].family {
                    grid.members.append(c)
                    grid.links.append(l)
                }
            }
            guard grid.members.count > options.fanOut else { continue }
            arrange(&grid)
            grids.append(grid)
        }
        return grids
    }

    /// Enough columns (at least `fanOut`) for a grid about 1.6 times as wide as it is tall, going
    /// by the mean leaf and label; columns as wide as their widest leaf, each row as tall as its
    /// tallest label and leaf.
    func arrange(_ grid: inout Grid) {
        typealias M = LayoutMetrics
        let n = grid.members.count
        let cellWidth = grid.members.map { boxes[$0].rect.width + M.boxGap }.reduce(0, +) / Double(n)
        let cellHeight = zip(grid.members, grid.links).map { b, l in
            boxes[b].rect.height + labelSize[l].height + 2 + M.arrow + Self.busGap + Self.gridRowGap
        }.reduce(0, +) / Double(n)
        let columns = min(n, max(options.fanOut, Int((1.6 * Double(n) * cellHeight / cellWidth).squareRoot().rounded())))
        let rows = (n + columns - 1) / columns
        var columnWidth = [Double](repeating: 0, count: columns)
        var rowBox = [Double](repeating: 0, count: rows), rowLabel = [Double](repeating: 0, count: rows)
        for (k, b) in grid.members.enumerated() {
            let (r, c) = (k / columns, k % columns)
            columnWidth[c] = max(columnWidth[c], boxes[b].rect.width)
            rowBox[r] = max(rowBox[r], boxes[b].rect.height)
            if labelSize[grid.links[k]].height > 0 { rowLabel[r] = max(rowLabel[r], labelSize[grid.links[k]].height + 2 + M.arrow) }
        }
        var columnLeft = [Self.trunkSpace]
        for c in 1..<max(columns, 1) { columnLeft.append(columnLeft[c - 1] + columnWidth[c - 1] + M.boxGap) }
        var y = 0.0
        var boxTop: [Double] = []
        for r in 0..<rows {
            grid.bus.append(y)
            y += Self.busGap + rowLabel[r]
            boxTop.append(y)
            y += rowBox[r] + Self.gridRowGap
        }
        for (k, b) in grid.members.enumerated() {
            let (r, c) = (k / columns, k % columns)
            grid.offset.append(.init(x: columnLeft[c] + (columnWidth[c] - boxes[b].rect.width) / 2, y: boxTop[r]))
            grid.row.append(r)
        }
        grid.width = columnLeft[columns - 1] + columnWidth[columns - 1]
        grid.height = y - Self.gridRowGap
    }

    /// Positions everything; with `spanning`, a grid taller than a layer reaches into the layers
    /// below it (so that its siblings' subtrees need not wait underneath it) in families drawn
    /// without crossings: forests with no edge to another family. Returns nil when the
    /// coordinates could not keep such a grid's layers aligned.
    mutating func place(spanning: Bool) -> Layout? {
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

        // Vertices: boxes outside grids, grids, then one dummy per layer an edge crosses.
        let grids = makeGrids()
        var gridOfLink = [Int](repeating: -1, count: links.count)
        var inGrid = [Bool](repeating: false, count: boxes.count)
        for (k, grid) in grids.enumerated() {
            for l in grid.links { gridOfLink[l] = k }
            for b in grid.members { inGrid[b] = true }
        }
        var vertices: [Vertex] = []
        var vertexOfBox = [Int](repeating: -1, count: boxes.count)
        for (b, box) in boxes.enumerated() where !inGrid[b] {
            vertexOfBox[b] = vertices.count
            vertices.append(Vertex(box: b, grid: nil, layer: box.layer, family: box.family, width: box.rect.width, height: box.rect.height))
        }
        var vertexOfGrid: [Int] = []
        for (k, grid) in grids.enumerated() {
            let p = vertexOfBox[grid.parent]
            vertexOfGrid.append(vertices.count)
            vertices.append(Vertex(box: nil, grid: k, layer: boxes[grid.parent].layer + 1, family: boxes[grid.parent].family,
                                   width: grid.width, height: grid.height, up: [p], anchor: Self.trunkInset - grid.width / 2))
        }
        var chains = [[Int]](repeating: [], count: links.count)
        for (l, link) in links.enumerated() where gridOfLink[l] < 0 {
            var chain = [vertexOfBox[link.from]]
            for layer in (layer[link.from] + 1)..<max(layer[link.to], layer[link.from] + 1) {
                vertices.append(Vertex(box: nil, grid: nil, layer: layer, family: boxes[link.to].family, width: M.dummyWidth, height: 0))
                chain.append(vertices.count - 1)
            }
            chain.append(vertexOfBox[link.to])
            for (a, b) in zip(chain, chain.dropFirst()) {
                vertices[a].down.append(b)
                vertices[b].up.append(a)
            }
            chains[l] = chain
        }
        // A grid is its parent's last child: its trunk, on its left, then sits near the other children.
        for (k, grid) in grids.enumerated() { vertices[vertexOfBox[grid.parent]].down.append(vertexOfGrid[k]) }
        // A tall grid in a planar family continues into the layers below, one vertex per layer, as
        // many as a layer of two-line boxes and labels would need.
        var planar = [Bool](repeating: true, count: familyCount)
        var parents = [Int](repeating: 0, count: boxes.count)
        for link in links {
            parents[link.to] += 1
            if link.reversed || boxes[link.from].family != boxes[link.to].family {
                planar[boxes[link.from].family] = false
                planar[boxes[link.to].family] = false
            }
        }
        for b in boxes.indices where parents[b] > 1 { planar[boxes[b].family] = false }
        let pitch = 2 * M.lineHeight + 2 * M.padY + M.curve + 2 * M.labelLineHeight + 2 * M.labelPad + 2 + M.arrow
        var gridEnd = vertexOfGrid.map { vertices[$0].layer }
        var continuations: [Int] = []
        for (k, g) in vertexOfGrid.enumerated() where spanning && planar[vertices[g].family] {
            let span = max(1, Int((grids[k].height / pitch).rounded(.up)))
            var above = g
            for layer in (vertices[g].layer + 1)..<(vertices[g].layer + span) {
                vertices.append(Vertex(box: nil, grid: nil, layer: layer, family: vertices[g].family, width: vertices[g].width,
                                       height: 0, up: [above], anchor: vertices[g].anchor, continues: g))
                vertices[above].down.append(vertices.count - 1)
                above = vertices.count - 1
                continuations.append(above)
                gridEnd[k] = layer
            }
        }
        let depth = vertices.map(\.layer).max() ?? 0
        var order = orderLayers(&vertices, depth: depth, familyRank: familyRank)
        assignX(&vertices, order: &order, depth: depth)
        for c in continuations where abs(vertices[c].x - vertices[vertices[c].continues!].x) > 1e-6 { return nil }

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
        var deepest = [Int](repeating: 0, count: blocks.count)   // dummies lie between boxes: never deeper
        for v in vertices { deepest[blockOf[v.family]] = max(deepest[blockOf[v.family]], v.layer) }
        var layerHeight = deepest.map { [Double](repeating: 0, count: $0 + 1) }
        var runHeight = layerHeight
        for v in vertices where v.grid == nil {
            let k = blockOf[v.family]
            layerHeight[k][v.layer] = max(layerHeight[k][v.layer], v.height)
        }
        // Grids, by the layer they end in: its bottom must reach the grid's height below its top.
        var gridsEnding = [[Int: [Int]]](repeating: [:], count: blocks.count)
        for (k, g) in vertexOfGrid.enumerated() { gridsEnding[blockOf[vertices[g].family]][gridEnd[k], default: []].append(k) }
        for (l, link) in links.enumerated() where labelSize[l].height > 0 && gridOfLink[l] < 0 {
            let k = blockOf[boxes[link.to].family]
            runHeight[k][layer[link.to]] = max(runHeight[k][layer[link.to]], labelSize[l].height + 2 + M.arrow)
        }
        for (k, block) in blocks.enumerated() {
            var frame = BlockFrame()
            var y = M.bandTitleHeight + M.bandPad
            for l in 0...deepest[k] {
                if l > 0 { y += M.curve + runHeight[k][l] }
                frame.runTop.append(y - runHeight[k][l])
                frame.layerTop.append(y)
                var height = layerHeight[k][l]
                for g in gridsEnding[k][l] ?? [] {
                    height = max(height, frame.layerTop[vertices[vertexOfGrid[g]].layer] + grids[g].height - y)
                }
                y += height
                frame.layerBottom.append(y)
            }
            frame.height = frame.layerBottom[deepest[k]] + M.bandPad
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
        func top(_ family: Int) -> Double { blockOrigin[blockOf[family]].y }
        func frame(_ family: Int) -> BlockFrame { frames[blockOf[family]] }
        for v in vertices {
            let layerTop = top(v.family) + frame(v.family).layerTop[v.layer]
            if let b = v.box {
                boxes[b].rect.x = v.x - v.width / 2
                boxes[b].rect.y = layerTop
            } else if let k = v.grid {
                for (b, offset) in zip(grids[k].members, grids[k].offset) {
                    boxes[b].rect.x = v.x - v.width / 2 + offset.x
                    boxes[b].rect.y = layerTop + offset.y
                }
            }
        }

        // Routes: down from the parent, through each dummy, into a slot of the child's top.
        var incoming = [[Int]](repeating: [], count: vertices.count)
        for (l, chain) in chains.enumerated() where !chain.isEmpty { incoming[chain.last!].append(l) }
        var slotX = [Double](repeating: 0, count: links.count)
        for (v, ls) in incoming.enumerated() where !ls.isEmpty {
            let sorted = ls.sorted {
                let xa = vertices[chains[$0][chains[$0].count - 2]].x, xb = vertices[chains[$1][chains[$1].count - 2]].x
                return xa != xb ? xa < xb : $0 < $1
            }
            let rect = boxes[vertices[v].box!].rect
            let slot = rect.width / Double(sorted.count)
            for (j, l) in sorted.enumerated() { slotX[l] = rect.x + (Double(j) + 0.5) * slot }
        }
        // Each grid's shared lines, drawn once: from the parent down its trunk, and each row's bus.
        var bundles: [[Layout.Point]] = []
        for (k, g) in grids.enumerated() {
            let gv = vertices[vertexOfGrid[k]], parent = boxes[g.parent]
            let f = frame(gv.family), y0 = top(gv.family)
            let trunk = gv.x - gv.width / 2 + Self.trunkInset, gridTop = y0 + f.layerTop[gv.layer]
            bundles.append([.init(x: parent.rect.midX, y: parent.rect.maxY), .init(x: parent.rect.midX, y: y0 + f.layerBottom[parent.layer]),
                            .init(x: trunk, y: y0 + f.runTop[gv.layer]), .init(x: trunk, y: gridTop + g.bus.last!)])
            for (r, bus) in g.bus.enumerated() {
                let end = zip(g.members, g.row).filter { $0.1 == r }.map { boxes[$0.0].rect.midX }.max()!
                bundles.append([.init(x: trunk, y: gridTop + bus), .init(x: end, y: gridTop + bus)])
            }
        }
        var routes: [Layout.Route] = []
        for (l, link) in links.enumerated() {
            let first = boxes[link.from], last = boxes[link.to]
            let f = frame(last.family), y0 = top(last.family)
            var points = [Layout.Point(x: first.rect.midX, y: first.rect.maxY),
                          .init(x: first.rect.midX, y: y0 + f.layerBottom[first.layer])]
            let end: Double
            if gridOfLink[l] >= 0 {
                // Curve to the top of the trunk, down the trunk, along the row's bus, down into the leaf.
                let k = gridOfLink[l], g = grids[k], gv = vertices[vertexOfGrid[k]]
                let gridLeft = gv.x - gv.width / 2, gridTop = y0 + f.layerTop[gv.layer]
                let bus = gridTop + g.bus[g.row[g.members.firstIndex(of: link.to)!]]
                end = last.rect.midX
                points += [.init(x: gridLeft + Self.trunkInset, y: y0 + f.runTop[gv.layer]), .init(x: gridLeft + Self.trunkInset, y: bus),
                           .init(x: end, y: bus)]
            } else {
                for d in chains[l].dropFirst().dropLast() {
                    points.append(.init(x: vertices[d].x, y: y0 + f.runTop[vertices[d].layer]))
                    points.append(.init(x: vertices[d].x, y: y0 + f.layerBottom[vertices[d].layer]))
                }
                end = slotX[l]
                points.append(.init(x: end, y: y0 + f.runTop[last.layer]))
            }
            points.append(.init(x: end, y: last.rect.y))
            var label: Layout.Rect?
            if labelSize[l].height > 0 {
                let (w, h) = labelSize[l]
                label = .init(x: end - w / 2, y: last.rect.y - h - M.arrow, width: w, height: h)
            }
            routes.append(.init(edge: link.edge, from: link.reversed ? link.to : link.from, to: link.reversed ? link.from : link.to,
                                points: link.reversed ? points.reversed() : points, bundled: gridOfLink[l] >= 0 ? 5 : 0,
                                label: label, labelLines: labelLines[l], reversed: link.reversed))
        }
        return Layout(boxes: boxes, routes: routes, bundles: bundles, bands: bands, boxOfNode: boxOfNode,
                      collapsedModels: collapsedModels, width: width, height: height, notes: notes)
    }
}
