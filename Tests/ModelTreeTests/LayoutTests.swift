import XCTest
@testable import ModelTree

/// The layout's promises, checked from its coordinates by computations of their own: no
/// overlapping boxes, edges downward, families apart, labels clear, trees without crossings,
/// parents centred, every model accounted for, collapse past the limit, determinism.
final class LayoutTests: XCTestCase {
    typealias Rect = Layout.Rect

    /// Open rectangles intersect (touching edges do not count).
    func overlap(_ a: Rect, _ b: Rect) -> Bool {
        a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
    }

    func contains(_ outer: Rect, _ inner: Rect) -> Bool {
        inner.x >= outer.x - 1e-9 && inner.y >= outer.y - 1e-9 && inner.maxX <= outer.maxX + 1e-9 && inner.maxY <= outer.maxY + 1e-9
    }

    /// Drawings of every shape the tests care about: trees, DAGs with merges, duplicates, the
    /// supply chain (latent parent, cross-family edge) and hostile ids.
    var corpus: [(String, Drawing)] {
        var out: [(String, Drawing)] = [("supply", SampleDrawings.supplyChain()), ("hostile", SampleDrawings.hostile()),
                                        ("star", SampleDrawings.star(leaves: 40, subtrees: 3)), ("two stars", SampleDrawings.star(leaves: 13, subtrees: 2, families: 2))]
        for seed in UInt64(1)...12 {
            let n = Int(seed * 7 % 90) + 1
            out.append(("forest \(seed)", SampleDrawings.random(models: n, families: Int(seed % 4) + 1, seed: seed)))
            out.append(("bushy \(seed)", SampleDrawings.bushy(models: 3 * n, families: Int(seed % 3) + 1, seed: seed)))
            out.append(("bushy dag \(seed)", SampleDrawings.bushy(models: 2 * n, families: 1, merges: 3, seed: seed + 7)))
            out.append(("dag \(seed)", SampleDrawings.random(models: n + 5, families: Int(seed % 3) + 1, merges: Int(seed % 5) + 1,
                                                             duplicates: Int(seed % 3), seed: seed + 100)))
        }
        return out
    }

    func testNoTwoBoxesOverlap() throws {
        for (name, d) in corpus {
            let layout = try Layout(d)
            for i in layout.boxes.indices {
                XCTAssert(layout.boxes[i].rect.width > 0 && layout.boxes[i].rect.height > 0, name)
                for j in layout.boxes.indices where j > i {
                    XCTAssertFalse(overlap(layout.boxes[i].rect, layout.boxes[j].rect), "\(name): boxes \(i) and \(j) overlap")
                }
            }
        }
    }

    /// Every edge leaves its parent's bottom and enters its child's top, never going up: the
    /// parent's box ends above the child's, and a merge child is below all of its parents.
    func testEveryEdgeGoesDownFromParentToChild() throws {
        for (name, d) in corpus {
            let layout = try Layout(d)
            for route in layout.routes {
                XCTAssertFalse(route.reversed, name)
                let parent = layout.boxes[route.from].rect, child = layout.boxes[route.to].rect
                XCTAssertLessThan(parent.maxY, child.y, "\(name): parent box not above child box")
                XCTAssertLessThan(layout.boxes[route.from].layer, layout.boxes[route.to].layer, name)
                let first = route.points.first!, last = route.points.last!
                XCTAssertEqual(first.y, parent.maxY, name)
                XCTAssert(first.x >= parent.x && first.x <= parent.maxX, "\(name): route does not start on the parent")
                XCTAssertEqual(last.y, child.y, name)
                XCTAssert(last.x > child.x && last.x < child.maxX, "\(name): route does not end on the child")
                for (a, b) in zip(route.points, route.points.dropFirst()) {
                    XCTAssertLessThanOrEqual(a.y, b.y, "\(name): route goes up")
                }
            }
            // Through the drawing's own edges: each child's box below each parent's.
            for e in d.edges where layout.boxOfNode[e.parent] != layout.boxOfNode[e.child] {
                let p = layout.boxes[layout.boxOfNode[e.parent]], c = layout.boxes[layout.boxOfNode[e.child]]
                guard c.kind != .collapsed, p.kind != .collapsed else { continue }
                XCTAssertLessThan(p.rect.maxY, c.rect.y, "\(name): \(e.parent) → \(e.child)")
            }
        }
    }

    /// A route's straight segments (horizontal or vertical: down a layer, a label run, a trunk, a
    /// bus) pass through no box but its own two, and its curves run where no box is: the band
    /// of height between their two ends holds no box across their width.
    func testRoutesMissOtherBoxes() throws {
        for (name, d) in corpus {
            let layout = try Layout(d)
            for route in layout.routes {
                for (a, b) in zip(route.points, route.points.dropFirst()) {
                    let x = min(a.x, b.x), y = min(a.y, b.y), w = abs(a.x - b.x), h = abs(a.y - b.y)
                    if a.x == b.x || a.y == b.y {
                        let run = Rect(x: x - 0.5, y: y - 0.5, width: w + 1, height: h + 1)
                        guard w + h > 1 else { continue }
                        for (k, box) in layout.boxes.enumerated() where k != route.from && k != route.to {
                            XCTAssertFalse(overlap(run, box.rect), "\(name): route \(route.from)→\(route.to) runs through box \(k)")
                        }
                    } else {
                        let band = Rect(x: x, y: y, width: w, height: h)
                        for (k, box) in layout.boxes.enumerated() {
                            XCTAssertFalse(overlap(band, box.rect), "\(name): route \(route.from)→\(route.to) curves over box \(k)")
                        }
                    }
                }
            }
        }
    }

    /// A base with 200 leaf fine-tunes is set in a grid under it, not in a row 26,000 pixels wide:
    /// every leaf is entered from one trunk on the grid's left, along its row's bus.
    func testWideFanOutsWrapIntoAGrid() throws {
        let d = SampleDrawings.star(leaves: 200, subtrees: 0)
        let layout = try Layout(d)
        XCTAssertLessThan(layout.width, 4000)
        XCTAssertLessThan(layout.width / layout.height, 3)
        let trunk = Set(layout.routes.map { $0.points[2].x })
        XCTAssertEqual(trunk.count, 1)
        let rows = Set(layout.boxes.dropFirst().map(\.rect.y))
        XCTAssertGreaterThan(rows.count, 5)
        var options = LayoutOptions()
        options.fanOut = 0
        XCTAssertGreaterThan(try Layout(d, options: options).width, 20000, "without the grid, one row")
    }

    func testLabelsOverlapNeitherBoxesNorEachOther() throws {
        for (name, d) in corpus {
            let layout = try Layout(d)
            let labels = layout.routes.compactMap(\.label)
            XCTAssertEqual(labels.count, layout.routes.filter { $0.edge.map { !d.edges[$0].lines.isEmpty } ?? false }.count, name)
            for (i, label) in labels.enumerated() {
                for box in layout.boxes { XCTAssertFalse(overlap(label, box.rect), "\(name): a label covers a box") }
                for other in labels[(i + 1)...] { XCTAssertFalse(overlap(label, other), "\(name): two labels overlap") }
            }
        }
    }

    /// Family bands are disjoint, every box lies in its family's band, and no other family's box
    /// lies between a family's boxes.
    func testFamiliesDoNotInterleave() throws {
        for (name, d) in corpus {
            let layout = try Layout(d)
            for (i, a) in layout.bands.enumerated() {
                for b in layout.bands[(i + 1)...] { XCTAssertFalse(overlap(a.rect, b.rect), "\(name): bands overlap") }
            }
            for box in layout.boxes {
                let band = layout.bands.first { $0.family == box.family }
                XCTAssertNotNil(band, name)
                if let band { XCTAssert(contains(band.rect, box.rect), "\(name): a box of family \(box.family) lies outside its band") }
            }
            // Independent of the bands: the hull of each family's boxes holds no box of another family.
            var hull: [Int: Rect] = [:]
            for box in layout.boxes {
                let r = box.rect
                if let h = hull[box.family] {
                    let x = min(h.x, r.x), y = min(h.y, r.y)
                    hull[box.family] = Rect(x: x, y: y, width: max(h.maxX, r.maxX) - x, height: max(h.maxY, r.maxY) - y)
                } else {
                    hull[box.family] = r
                }
            }
            for box in layout.boxes {
                for (family, h) in hull where family != box.family {
                    XCTAssertFalse(overlap(h, box.rect), "\(name): family \(family) interleaves with family \(box.family)")
                }
            }
        }
    }

    /// Each node is in exactly one box, shown or hidden, and `boxOfNode` says which.
    func testEveryNodeIsInExactlyOneBox() throws {
        for (name, d) in corpus + [("collapsed", SampleDrawings.random(models: 700, families: 3, merges: 10, seed: 5))] {
            let layout = try Layout(d)
            var count = [Int](repeating: 0, count: d.nodes.count)
            for (b, box) in layout.boxes.enumerated() {
                for i in box.nodes + box.hidden {
                    count[i] += 1
                    XCTAssertEqual(layout.boxOfNode[i], b, name)
                }
            }
            XCTAssertEqual(count, [Int](repeating: 1, count: d.nodes.count), name)
        }
    }

    /// Crossings counted from the coordinates: two edges between the same two layers cross when
    /// their ends are in opposite orders. A forest is drawn without any.
    func testForestsAreDrawnWithoutCrossings() throws {
        for seed in UInt64(1)...20 {
            let d = SampleDrawings.random(models: Int(seed) * 9, families: Int(seed % 3) + 1, seed: seed)
            let layout = try Layout(d)
            let ends = layout.routes.map { r in (r.points.first!, r.points.last!) }
            for i in ends.indices {
                for j in ends.indices where j > i && ends[i].0.y == ends[j].0.y && ends[i].1.y == ends[j].1.y {
                    let top = ends[i].0.x - ends[j].0.x, bottom = ends[i].1.x - ends[j].1.x
                    XCTAssertFalse(top * bottom < 0, "seed \(seed): routes \(i) and \(j) cross")
                }
            }
        }
    }

    /// In a complete tree with equal boxes, every parent sits exactly over the middle of its children,
    /// siblings are packed at the minimum gap, and the root is centred over the whole.
    func testCompleteTreesAreCentredAndCompact() throws {
        for (arity, depth) in [(2, 4), (3, 3), (5, 2)] {
            var d = Drawing(families: [.init(title: "t")])
            var level = [0]
            d.nodes.append(.init(id: "n0", lines: ["n000"], kind: .root, family: 0))
            for _ in 0..<depth {
                var next: [Int] = []
                for p in level {
                    for _ in 0..<arity {
                        let i = d.nodes.count
                        d.nodes.append(.init(id: "n\(i)", lines: ["n" + String(repeating: "0", count: 3 - String(i).count) + "\(i)"], family: 0))
                        d.edges.append(.init(parent: p, child: i, lines: ["0.01"]))
                        next.append(i)
                    }
                }
                level = next
            }
            let layout = try Layout(d)
            var children = [Int: [Int]]()
            for r in layout.routes { children[r.from, default: []].append(r.to) }
            for (p, cs) in children {
                let mean = cs.map { layout.boxes[$0].rect.midX }.reduce(0, +) / Double(cs.count)
                XCTAssertEqual(layout.boxes[p].rect.midX, mean, accuracy: 0.5, "arity \(arity): box \(p) not centred")
            }
            let leaves = layout.boxes.filter { $0.layer == depth }.sorted { $0.rect.x < $1.rect.x }
            for (a, b) in zip(leaves, leaves.dropFirst()) {
                XCTAssertEqual(b.rect.x - a.rect.maxX, LayoutMetrics.boxGap, accuracy: 0.5, "arity \(arity): leaves not packed")
            }
        }
    }

    func testMergesSitBelowAllTheirParents() throws {
        let d = SampleDrawings.supplyChain()
        let layout = try Layout(d)
        let merge = d.nodes.firstIndex { $0.id == "chat-code-slerp" }!
        let parents = d.edges.filter { $0.child == merge }.map(\.parent)
        XCTAssertEqual(parents.count, 2)
        let routes = layout.routes.filter { $0.to == layout.boxOfNode[merge] }
        XCTAssertEqual(routes.count, 2)
        XCTAssertNotEqual(routes[0].points.last!.x, routes[1].points.last!.x, "two parents share one slot")
        for p in parents { XCTAssertLessThan(layout.boxes[layout.boxOfNode[p]].rect.maxY, layout.boxes[layout.boxOfNode[merge]].rect.y) }
    }

    /// A DAG whose merge parents sit at different depths: the long edge gets dummy points, one
    /// per layer crossed, and runs straight through each of those layers.
    func testLongEdgesGetOnePointPairPerLayerCrossed() throws {
        var d = Drawing(families: [.init(title: "f")])
        for i in 0..<5 { d.nodes.append(.init(id: "m\(i)", kind: i == 0 ? .root : .model, family: 0)) }
        for i in 1..<4 { d.edges.append(.init(parent: i - 1, child: i)) }
        d.edges.append(.init(parent: 0, child: 4, type: .merge, lines: ["0.5"]))
        d.edges.append(.init(parent: 3, child: 4, type: .merge, lines: ["0.5"]))
        let layout = try Layout(d)
        XCTAssertEqual(layout.boxes.map(\.layer), [0, 1, 2, 3, 4])
        let long = layout.routes.first { $0.edge == 3 }!
        XCTAssertEqual(long.points.count, 4 + 2 * 3)   // parent bottom, layer bottom, 3 dummies × 2, run top, child top
    }

    func testDuplicatesShareOneBoxListingEveryMember() throws {
        let d = SampleDrawings.supplyChain()
        let layout = try Layout(d)
        let group = d.duplicates[0]
        let box = layout.boxes[layout.boxOfNode[group[0]]]
        XCTAssertEqual(box.kind, .duplicates)
        XCTAssertEqual(box.nodes, group)
        XCTAssertEqual(box.lines.compactMap(\.node), group)
    }

    /// 200 models draw in full; past the limit the deepest subtrees collapse (merges stay in
    /// sight), then trailing families, and the picture says so.
    func testCollapsePastTheLimit() throws {
        let full = try Layout(SampleDrawings.random(models: 200, families: 6, merges: 5, seed: 3))
        XCTAssertEqual(full.boxes.count, 200)
        XCTAssertEqual(full.collapsedModels, 0)

        let d = SampleDrawings.random(models: 600, families: 4, merges: 8, seed: 9)
        var options = LayoutOptions()
        options.maxBoxes = 120
        let layout = try Layout(d, options: options)
        XCTAssertLessThanOrEqual(layout.boxes.count, 120)
        XCTAssertGreaterThan(layout.collapsedModels, 0)
        XCTAssertEqual(layout.boxes.filter { $0.kind == .collapsed }.map(\.hidden.count).reduce(0, +), layout.collapsedModels)
        XCTAssert(layout.notes.contains { $0.contains("collapsed") }, "\(layout.notes)")
        var parents = [Int](repeating: 0, count: d.nodes.count)
        for e in d.edges { parents[e.child] += 1 }
        for (i, count) in parents.enumerated() where count > 1 {   // hidden only with a whole family
            let box = layout.boxes[layout.boxOfNode[i]]
            XCTAssert(box.kind != .collapsed || box.family == d.families.count, "merge \(i) was hidden in a subtree")
        }
        // The SVG says it too.
        XCTAssert(try d.svg(options: options).contains("collapsed into"))
    }

    func testFamiliesBeyondTheLimitGoIntoOneBox() throws {
        var d = Drawing()
        for i in 0..<300 {
            d.families.append(.init(title: "f\(i)"))
            d.nodes.append(.init(id: "solo-\(i)", kind: .root, family: i))
        }
        var options = LayoutOptions()
        options.maxBoxes = 50
        let layout = try Layout(d, options: options)
        XCTAssertLessThanOrEqual(layout.boxes.count, 50)
        let others = layout.boxes.filter { $0.kind == .collapsed }
        XCTAssertEqual(others.count, 1)
        XCTAssertEqual(others[0].hidden.count + layout.boxes.count - 1, 300)
        XCTAssert(layout.notes.contains { $0.contains("more families") })
        XCTAssertNotNil(layout.bands.first { $0.family == nil })
    }

    /// Many small families wrap into rows instead of one endless strip.
    func testManyFamiliesWrapIntoRows() throws {
        var d = Drawing()
        for i in 0..<60 {
            d.families.append(.init(title: "family \(i)"))
            d.nodes.append(.init(id: "root-\(i)", kind: .root, family: i))
            d.nodes.append(.init(id: "child-\(i)", family: i))
            d.edges.append(.init(parent: 2 * i, child: 2 * i + 1, lines: ["0.1"]))
        }
        let layout = try Layout(d)
        XCTAssertLessThan(layout.width / layout.height, 4, "\(layout.width) × \(layout.height)")
        XCTAssertGreaterThan(Set(layout.bands.map(\.rect.y)).count, 1)
    }

    func testCyclesAreBrokenNotHung() throws {
        var d = Drawing(families: [.init(title: "f")])
        for i in 0..<4 { d.nodes.append(.init(id: "c\(i)", family: 0)) }
        for i in 0..<4 { d.edges.append(.init(parent: i, child: (i + 1) % 4)) }
        let layout = try Layout(d)
        XCTAssertEqual(layout.routes.filter(\.reversed).count, 1)
        XCTAssert(layout.notes.contains { $0.contains("cycle") })
        XCTAssertNoThrow(try d.svg())
    }

    func testInvalidDrawingsAreRejectedWithTheirIndex() {
        var d = Drawing(nodes: [.init(id: "a", family: 0)], families: [.init(title: "f")])
        d.edges = [.init(parent: 0, child: 3)]
        XCTAssertThrowsError(try Layout(d)) { XCTAssertEqual($0 as? ModelTreeError, .invalidArgument("drawing: edge 0 joins nodes 0 and 3 of 1")) }
        d.edges = [.init(parent: 0, child: 0)]
        XCTAssertThrowsError(try Layout(d))
        d.edges = []
        d.nodes[0].family = 2
        XCTAssertThrowsError(try Layout(d))
        d.nodes[0].family = 0
        d.duplicates = [[0], [0]]
        XCTAssertThrowsError(try Layout(d))
    }

    func testEmptyAndSingleDrawings() throws {
        XCTAssertEqual(try Layout(Drawing()).boxes.count, 0)
        XCTAssert(try Drawing().svg().hasPrefix("<svg"))
        let one = Drawing(nodes: [.init(id: "only", kind: .root, family: 0)], families: [.init(title: "f")])
        XCTAssertEqual(try Layout(one).boxes.count, 1)
    }

    func testSameDrawingSameOutputs() throws {
        for (_, d) in corpus.prefix(6) {
            XCTAssertEqual(try d.svg(), try d.svg())
            XCTAssertEqual(try d.html(), try d.html())
        }
    }

    /// A box is at least as wide as its text measured with the font's advances, and a line that
    /// had to be shortened says so with an ellipsis.
    func testBoxesHoldTheirText() throws {
        let d = SampleDrawings.hostile()
        let layout = try Layout(d)
        for box in layout.boxes {
            for line in box.lines {
                let w = TextMetrics.width(line.text, size: line.style == .title ? LayoutMetrics.titleSize : LayoutMetrics.textSize, bold: line.style == .title)
                XCTAssertLessThanOrEqual(w + 2 * LayoutMetrics.padX, box.rect.width + 1e-9, line.text)
            }
        }
        let long = layout.boxes[layout.boxOfNode[SampleDrawings.hostileIDs.firstIndex { $0.hasPrefix("very-long") }!]]
        XCTAssert(long.lines[0].text.contains("…"))
        XCTAssert(long.lines[0].text.hasPrefix("very-long") && long.lines[0].text.hasSuffix("end"))
    }
}
