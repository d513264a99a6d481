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

    /// A sibling family with token embeddings, built the way AdamW fine-tunes them: each sibling's
    /// data uses some tokens — common ones (rows 0..<60) and a band of its own (20 rows from 60 +
    /// 20·i) — whose rows move by its update; every other row only decays, scaled by its own c.
    /// Rows 140..<160 no sibling uses. The dense tensors move by `sizes[i]` as before.
    static let vocabulary = 160, width = 16

    func embedding(_ s: inout Sampler) -> [Double] {
        (0..<(Self.vocabulary * Self.width)).map { _ in s.laplace(0.05) }
    }

    func tuneEmbedding(_ e: [Double], _ s: inout Sampler, std: Double, own: Int, decay: Double, band: Int = 20) -> [Double] {
        e.indices.map { k in
            let row = k / Self.width
            return row < 60 || (60 + 20 * own..<60 + 20 * own + band).contains(row) ? e[k] + s.gaussian() * std : e[k] * decay
        }
    }

    func recoveredWithRows(_ family: [(String, [[Double]], [Double])], dtype: (String) -> DType = { _ in .f32 }) throws -> ModelGraph {
        try recover(try family.map { id, w, e in
            try makeModel(id, zip(Self.names, w).map { ($0, [Self.side, Self.side], $1) } + [("embed.weight", [Self.vocabulary, Self.width], e)],
                          dtype: dtype(id))
        })
    }

    /// Three fine-tunes of a withheld base and a fourth whose squared update is a third of theirs
    /// (stored BF16 but the small one): the angles alone take the small sibling for their parent
    /// (without embeddings it is); its own band of embedding rows, which the others left
    /// untouched, shows it off their paths, and the four hang from one latent node. With the base
    /// given, the base is their parent and nothing is latent: the base holds every row the
    /// siblings left untouched scaled, so it is never shown off a path.
    func testASmallSiblingIsNotTakenForTheParent() throws {
        var s = Sampler(seed: 21)
        let b = base(&s), e = embedding(&s)
        let sizes = [0.02, 0.021, 0.019, 0.02 / 3.0.squareRoot()]
        let kids = sizes.enumerated().map { i, std in
            // The small sibling trained least: its rows decayed least.
            (tune(b, &s, std: std), tuneEmbedding(e, &s, std: std, own: i, decay: [0.997, 0.996, 0.998, 0.999][i]))
        }
        let family = kids.enumerated().map { ("k\($0.offset)", $0.element.0, $0.element.1) }
        let bf16: (String) -> DType = { $0 == "k3" || $0 == "base" ? .f32 : .bf16 }

        // The dense tensors alone: k3 is the parent (the failure the rows fix).
        let dense = try recovered(family.map { ($0.0, $0.1) }, dtype: bf16)
        XCTAssertFalse(dense.models.contains { $0.latent }, dense.text())
        XCTAssertEqual(parents(dense), ["k0": "k3", "k1": "k3", "k2": "k3"])

        let g = try recoveredWithRows(family, dtype: bf16)
        XCTAssertEqual(parents(g), ["k0": "latent", "k1": "latent", "k2": "latent", "k3": "latent"], g.text())
        XCTAssertTrue(g.warnings.contains { $0.contains("embedding rows the other two left untouched") }, "\(g.warnings)")

        let given = try recoveredWithRows([("base", b, e)] + family, dtype: bf16)
        XCTAssertFalse(given.models.contains { $0.latent }, given.text())
        XCTAssertEqual(parents(given), ["k0": "base", "k1": "base", "k2": "base", "k3": "base"])
    }

    /// Three siblings, the small one (a third of the others' squared update) with a single token
    /// of its own: its one row puts it off the others' path, and the three hang from a latent node;
    /// with the base given, nothing is latent.
    func testOneRowOfItsOwnIsEnoughForASmallSibling() throws {
        var s = Sampler(seed: 29)
        let b = base(&s), e = embedding(&s)
        let family = [(0.02, 20, 0.997), (0.021, 20, 0.996), (0.02 / 3.0.squareRoot(), 1, 0.999)].enumerated().map { i, k in
            ("k\(i)", tune(b, &s, std: k.0), tuneEmbedding(e, &s, std: k.0, own: i, decay: k.2, band: k.1))
        }
        let dense = try recovered(family.map { ($0.0, $0.1) })
        XCTAssertEqual(parents(dense), ["k0": "k2", "k1": "k2"])
        let g = try recoveredWithRows(family)
        XCTAssertEqual(parents(g), ["k0": "latent", "k1": "latent", "k2": "latent"], g.text())
        let given = try recoveredWithRows([("base", b, e)] + family)
        XCTAssertFalse(given.models.contains { $0.latent }, given.text())
        XCTAssertEqual(parents(given), ["k0": "base", "k1": "base", "k2": "base"])
    }

    /// `UntouchedRows.offPath` counts exactly the rows the construction says: x's own band when u
    /// and v are two other siblings (rows they both left untouched, x trained); none at the base
    /// (on every path between its children), none when u and v share fewer than 8 scaled rows.
    func testOffPathRowsAreTheSiblingsOwnBand() throws {
        var s = Sampler(seed: 23)
        let e = embedding(&s)
        let kids = (0..<4).map { tuneEmbedding(e, &s, std: 0.02, own: $0, decay: 1 - 0.001 * Double($0 + 1)) }
        var models: [Model] = []      // a view reads its model's buffers: keep them alive
        func view(_ id: String, _ values: [Double], _ dtype: DType) throws -> TensorView {
            models.append(try makeModel(id, [("embed.weight", [Self.vocabulary, Self.width], values)], dtype: dtype))
            return models.last!.tensor(named: "embed.weight")!
        }
        let k = try kids.enumerated().map { try view("k\($0.offset)", $0.element, $0.offset == 0 ? .f32 : .bf16) }
        let base = try view("base", e, .f32)
        // Rows k1 and k2 both left untouched: the bands of k0 and k3 and rows 140..<160; k0 trained its own 20.
        XCTAssertEqual(try UntouchedRows.offPath(k[0], between: k[1], k[2]), 20)
        XCTAssertEqual(try UntouchedRows.offPath(k[3], between: k[1], k[2]), 20)
        XCTAssertEqual(try UntouchedRows.offPath(base, between: k[1], k[2]), 0)
        XCTAssertEqual(try UntouchedRows.offPath(k[1], between: base, k[2]), 20)
        // A table whose rows were all trained: nothing scaled between u and v, nothing counted.
        let all = try view("all", e.map { $0 + s.gaussian() * 0.02 }, .f32)
        XCTAssertEqual(try UntouchedRows.offPath(k[0], between: all, k[1]), 0)
        withExtendedLifetime(models) {}
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
