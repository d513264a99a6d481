import XCTest
@testable import ModelTree

/// Latent parents on synthetic families built here: a random base and independent fine-tune
/// updates (nearly orthogonal), the base withheld or given. The truth is the construction.
final class LatentParentsTests: XCTestCase {
    static let names = ["l0.q", "l0.v", "l1.q", "l1.v"]
    static let side = 32

    func base(_ s: inout Sampler) -> [[Double]] {
        Self.names.map { _ in (0..<(Self.side * Self.side)).map { _ in s.laplace(0.05) } }
    }

    func tune(_ w: [[Double]], _ s: inout Sampler, std: Double) -> [[Double]] {
        w.map { m in m.map { $0 + s.gaussian() * std } }
    }

    func recovered(_ family: [(String, [[Double]])], dtype: (String) -> DType = { _ in .f32 }) throws -> ModelGraph {
        try recover(try family.map { id, w in
            try makeModel(id, zip(Self.names, w).map { ($0, [Self.side, Self.side], $1) }, dtype: dtype(id))
        })
    }

    /// Child id → parent id, a latent parent written as "latent".
    func parents(_ g: ModelGraph) -> [String: String] {
        var out: [String: String] = [:]
        for (i, p) in g.parents.enumerated() where p >= 0 { out[g.ids[i]] = g.models[p].latent ? "latent" : g.ids[p] }
        return out
    }

    /// Four fine-tunes of a withheld base (one with a child of its own): one latent node, the
    /// root, parent of the four; the grandchild stays under its parent. The same with the base
    /// given: the base is their parent and nothing is latent.
    func testSiblingsOfAWithheldBaseHangFromALatentNode() throws {
        var s = Sampler(seed: 7)
        let b = base(&s)
        let kids = [0.018, 0.020, 0.021, 0.023].map { tune(b, &s, std: $0) }
        let grandchild = tune(kids[1], &s, std: 0.015)
        let family = kids.enumerated().map { ("k\($0.offset)", $0.element) } + [("k1-g", grandchild)]

        let g = try recovered(family)
        XCTAssertEqual(g.count, 6)
        XCTAssertEqual(g.models.map(\.latent), [false, false, false, false, false, true])
        XCTAssertEqual(g.ids[5], "latent-1")
        XCTAssertNil(g.models[5].path)
        XCTAssertEqual(parents(g), ["k0": "latent", "k1": "latent", "k2": "latent", "k3": "latent", "k1-g": "k1"])
        XCTAssertEqual(g.roots, [5])
        XCTAssertEqual(g.trees[0].members, Array(0...5))
        let evidence = try XCTUnwrap(g.models[5].latentEvidence)
        XCTAssertGreaterThan(evidence.widestAngleCosine, LatentParents.acuteCosine)
        // The latent edges' lengths: the squared branch of each child is its update's mean square
        // (the star of orthogonal updates), to the sampling error of 4096 values a tensor.
        for (k, std) in [0.018, 0.020, 0.021, 0.023].enumerated() {
            let e = try XCTUnwrap(g.primaryEdge(into: k))
            XCTAssertEqual(e.distance, std, accuracy: 0.1 * std)
        }
        XCTAssertTrue(g.json().contains("{\"id\": \"latent-1\", \"path\": null, \"kurtosis\": null, \"latent\": true"))
        XCTAssertTrue(g.text().contains("latent-1  (latent root"))
        XCTAssertTrue(g.dot().contains("\"latent-1\" [label=\"latent-1\\na parent not in the collection"))

        // Scored against the construction: the latent node is known by its children.
        let truth = Truth(edges: [Truth.Edge(parent: "k1", child: "k1-g")], roots: [],
                          latent: [Truth.Latent(children: ["k0", "k1", "k2", "k3"])])
        let score = try g.score(against: truth)
        XCTAssertEqual(score.typedCorrect, 5)
        XCTAssertEqual(score.typedTrue, 5)
        XCTAssertEqual(score.typedReported, 5)
        XCTAssertEqual(score.adjustedRandIndex, 1)
        let wrong = Truth(edges: [Truth.Edge(parent: "k1", child: "k1-g")], roots: [],
                          latent: [Truth.Latent(children: ["k0", "k1", "k2"]), Truth.Latent(children: ["k3"])])
        XCTAssertEqual(try g.score(against: wrong).typedCorrect, 1)

        let given = try recovered([("base", b)] + family)
        XCTAssertFalse(given.models.contains { $0.latent })
        XCTAssertEqual(parents(given), ["k0": "base", "k1": "base", "k2": "base", "k3": "base", "k1-g": "k1"])
    }

    /// A family whose tree is rooted at a grandchild (the direction guessed wrong): the latent
    /// node still becomes the root, and the grandchild hangs below its parent again.
    func testALatentRootTurnsTheTreeAboveItsChildren() throws {
        var s = Sampler(seed: 7)
        let b = base(&s)
        let kids = [0.018, 0.020, 0.021, 0.023].map { tune(b, &s, std: $0) }
        let g0 = try recovered(kids.enumerated().map { ("k\($0.offset)", $0.element) } + [("k1-g", tune(kids[1], &s, std: 0.015))])
        // The tree the solver made, turned upside down along k1-g → k1, then the latent step again.
        let models = g0.models.prefix(5).map { ModelGraph.Node(id: $0.id, path: $0.path, kurtosis: $0.kurtosis) }
        let upside = [ModelGraph.Edge(parent: 4, child: 1, type: .finetune, distance: g0.distance(1, 4), confidence: 1, unsure: false)]
            + [0, 2, 3].map { ModelGraph.Edge(parent: 1, child: $0, type: .finetune, distance: g0.distance(1, $0), confidence: 1, unsure: false) }
        let edges = upside.sorted { $0.child < $1.child }
        var distance = SquareMatrix<Double>(count: 5, repeating: 0)
        for i in 0..<5 { for j in 0..<5 { distance[i, j] = g0.distance(i, j) } }
        let tree = ModelGraph.Tree(members: Array(0..<5), root: 4, direction: .finetune, directionUnsure: false)
        let graph = try ModelGraph(models: models, edges: edges, trees: [tree], distances: distance, tensors: g0.tensors,
                                   metric: .rms, warnings: [], unsureThreshold: 0.2)
        let g = try LatentParents.inferred(graph, rms: distance)
        XCTAssertEqual(parents(g), ["k0": "latent", "k1": "latent", "k2": "latent", "k3": "latent", "k1-g": "k1"])
        XCTAssertEqual(g.roots, [5])
    }

    /// Two withheld bases in one family (a base, and an intermediate below one of its
    /// fine-tunes): each latent node has its three or more children, the family stays one tree.
    func testTwoLatentNodesInOneFamily() throws {
        var s = Sampler(seed: 9)
        let b = base(&s)
        let kids = [0.02, 0.021, 0.022].map { tune(b, &s, std: $0) }
        let middle = tune(kids[0], &s, std: 0.03)
        let grandkids = [0.02, 0.021, 0.022].map { tune(middle, &s, std: $0) }
        let g = try recovered(kids.enumerated().map { ("k\($0.offset)", $0.element) } + grandkids.enumerated().map { ("g\($0.offset)", $0.element) })
        XCTAssertEqual(g.trees.count, 1)
        let latent = g.models.indices.filter { g.models[$0].latent }
        XCTAssertFalse(latent.isEmpty)
        for l in latent { XCTAssertGreaterThanOrEqual(g.edges.filter { $0.parent == l && !g.models[$0.child].latent }.count, 3, g.text()) }
        XCTAssertEqual(g.count, 6 + latent.count)
    }

    /// With the base given, no latent node is invented whatever the mix of update sizes (a
    /// factor of 10 between siblings, chains and stars), over several draws.
    func testNoLatentNodeWhenTheBaseIsGiven() throws {
        for seed in 1...6 as ClosedRange<UInt64> {
            var s = Sampler(seed: seed)
            let b = base(&s)
            let sizes = (0..<4).map { _ in 0.005 * Double(1 + Int(s.uniform() * 10)) }
            let kids = sizes.map { tune(b, &s, std: $0) }
            let deeper = [tune(kids[0], &s, std: 0.01), tune(kids[0], &s, std: 0.02)]
            let g = try recovered([("base", b)] + kids.enumerated().map { ("k\($0.offset)", $0.element) }
                                  + [("k0-a", deeper[0]), ("k0-b", deeper[1])])
            XCTAssertFalse(g.models.contains { $0.latent }, "seed \(seed), sizes \(sizes)")
            XCTAssertEqual(g.count, 7)
        }
    }

    /// Two fine-tunes of a withheld base: a parent with one child reads the same, so no latent
    /// node is made for a pair.
    func testAPairGetsNoLatentNode() throws {
        var s = Sampler(seed: 3)
        let b = base(&s)
        let g = try recovered([("k0", tune(b, &s, std: 0.02)), ("k1", tune(b, &s, std: 0.02))])
        XCTAssertEqual(g.count, 2)
        XCTAssertFalse(g.models.contains { $0.latent })
    }

    /// A BF16 copy of one of two siblings is not a third sibling: no latent node.
    func testAQuantizedCopyIsNotASibling() throws {
        var s = Sampler(seed: 5)
        let b = base(&s)
        let k0 = tune(b, &s, std: 0.02), k1 = tune(b, &s, std: 0.02)
        let g = try recovered([("k0", k0), ("k1", k1), ("k0-bf16", k0)], dtype: { $0 == "k0-bf16" ? .bf16 : .f32 })
        XCTAssertFalse(g.models.contains { $0.latent }, g.text())
        XCTAssertEqual(g.primaryEdge(into: 2)?.type, .quantized)
    }

    /// A withheld intermediate under a given root: the three fine-tunes hang from a latent node,
    /// which is taken for the base (the weights cannot tell its parent from its child): the given
    /// root hangs below one of them, its other child still below it, all one family.
    func testALatentNodeUnderAGivenParent() throws {
        var s = Sampler(seed: 11)
        let root = base(&s)
        let middle = tune(root, &s, std: 0.03)
        let other = tune(root, &s, std: 0.02)
        let kids = [0.019, 0.02, 0.021].map { tune(middle, &s, std: $0) }
        let g = try recovered([("root", root), ("other", other)] + kids.enumerated().map { ("k\($0.offset)", $0.element) })
        XCTAssertEqual(g.count, 6)
        let found = parents(g)
        XCTAssertEqual(found.filter { $0.value == "latent" }.keys.sorted(), ["k0", "k1", "k2"])
        XCTAssertEqual(found["other"], "root")
        XCTAssertTrue(["k0", "k1", "k2"].contains(found["root"] ?? ""), "\(found)")
        XCTAssertEqual(g.roots, [5])
        XCTAssertEqual(g.trees.count, 1)
    }

    /// The star fit on squared distances recovers the branches of an exactly additive star.
    func testStarBranchesOfAnExactStar() {
        let b = [1.0, 4.0, 2.25, 0.25]
        var d = SquareMatrix<Double>(count: 4, repeating: 0)
        for i in 0..<4 { for j in 0..<4 where i != j { d[i, j] = (b[i] + b[j]).squareRoot() } }
        let fitted = LatentParents.starBranches([0, 1, 2, 3], d)
        for (x, y) in zip(fitted, b) { XCTAssertEqual(x, y, accuracy: 1e-12) }
    }
}
