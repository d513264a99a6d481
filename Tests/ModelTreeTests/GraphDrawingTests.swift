import XCTest
@testable import ModelTree

/// The adapter from a graph value to its picture (`Drawing.init(_:score:)`) and the `svg` and
/// `html` formats of `ModelGraph.render`.
final class GraphDrawingTests: XCTestCase {
    func zooGraph(_ name: String) throws -> (ModelGraph, Score) {
        let folder = SampleDrawings.root + "/examples/" + name
        let graph = try recover(try ModelLoader.expand([folder]).map(ModelLoader.load))
        return (graph, try graph.score(against: try Truth(contentsOf: folder + "/truth.json")))
    }

    /// Every model, edge, tree and warning of the graph is in the drawing, in the graph's order,
    /// with the roots marked, and each edge's evidence names its runner-up by id.
    func testTheDrawingHoldsTheWholeGraph() throws {
        for name in ["zoo", "zoo2"] {
            let (g, score) = try zooGraph(name)
            let d = Drawing(g, score: score)
            XCTAssertNoThrow(try d.validate())
            XCTAssertEqual(d.nodes.map(\.id), g.ids)
            XCTAssertEqual(d.nodes.map { $0.kind == .root }, (0..<g.count).map { g.roots.contains($0) })
            XCTAssertEqual(d.nodes.map(\.family), (0..<g.count).map { g.tree(of: $0) })
            XCTAssertEqual(d.nodes.map { $0.lines.first }, g.ids)
            XCTAssertEqual(d.families.count, g.trees.count)
            XCTAssertEqual(d.edges.map(\.parent), g.edges.map(\.parent))
            XCTAssertEqual(d.edges.map(\.child), g.edges.map(\.child))
            XCTAssertEqual(d.edges.map(\.unsure), g.edges.map(\.unsure))
            XCTAssertEqual(d.warnings, g.warnings)
            XCTAssertTrue(d.unsureLegend.contains(Formatting.fixed(g.unsureThreshold, 2)), d.unsureLegend)
            XCTAssertEqual(d.score.first?.value, "\(score.correct)/\(score.total) (100.0%)")
            XCTAssertEqual(d.score.count, 2 + score.trees.count)   // an untyped truth: no typed facts
            for (edge, e) in zip(d.edges, g.edges) {
                let facts = Dictionary(edge.evidence.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
                let runnerUp = try XCTUnwrap(e.evidence).runnerUp
                XCTAssertEqual(facts["runner-up parent"], runnerUp.map { g.ids[$0.parent] }
                    ?? "none: without this edge, the best tree makes \(g.ids[e.child]) a root")
                XCTAssertNotNil(facts["kurtosis votes"])
                XCTAssertEqual(edge.lines, [Formatting.significant(e.distance), "conf " + Formatting.fixed(e.confidence, 2)])
            }
            XCTAssertTrue(d.title.contains("\(g.count) models"))
        }
    }

    /// A child with two parents (as a merge will be) gets two edges in the picture, both drawn.
    func testAChildWithTwoParentsGetsTwoEdges() throws {
        let nodes = ["base", "left", "right", "merged"].map { ModelGraph.Node(id: $0, path: nil, kurtosis: 1) }
        func edge(_ p: Int, _ c: Int, unsure: Bool = false) -> ModelGraph.Edge {
            ModelGraph.Edge(parent: p, child: c, type: .finetune, distance: 0.5, confidence: unsure ? 0.1 : 0.9, unsure: unsure)
        }
        let g = try ModelGraph(models: nodes, edges: [edge(0, 1), edge(0, 2), edge(1, 3), edge(2, 3, unsure: true)],
                               trees: [.init(members: [0, 1, 2, 3], root: 0, direction: .finetune, directionUnsure: false)],
                               distances: SquareMatrix(count: 4, repeating: 0.5), tensors: ["w"], metric: .rms,
                               warnings: ["a <warning>"], unsureThreshold: 0.2)
        let d = Drawing(g)
        XCTAssertEqual(d.edges.filter { $0.child == 3 }.map(\.parent), [1, 2])
        XCTAssertTrue(d.score.isEmpty)
        let layout = try Layout(d)
        XCTAssertEqual(layout.routes.compactMap(\.edge).sorted(), [0, 1, 2, 3])
        let svg = g.render(.svg)
        XCTAssertEqual(svg.components(separatedBy: "class=\"mt-edge\" data-route").count - 1, 4)
        XCTAssertTrue(svg.contains("a &lt;warning&gt;"))
        // No evidence record (a graph made by hand): the facts stop at what the edge has.
        XCTAssertEqual(d.edges[0].evidence.map(\.key), ["distance (rms)", "confidence"])
        XCTAssertEqual(d.edges[3].evidence.last?.value, "confidence below 0.20")
    }

    /// `render(.svg)` and `render(.html)` are the drawing's pictures, with and without a score.
    func testRenderedPicturesAreTheDrawings() throws {
        let (g, score) = try zooGraph("zoo")
        for s in [nil, score] {
            XCTAssertEqual(g.render(.svg, score: s), try Drawing(g, score: s).svg())
            XCTAssertEqual(g.render(.html, score: s), try Drawing(g, score: s).html())
        }
        XCTAssertTrue(g.render(.svg, score: score).contains("edges right \(score.correct)/\(score.total)"))
        XCTAssertFalse(g.render(.svg).contains("edges right"))
    }
}
