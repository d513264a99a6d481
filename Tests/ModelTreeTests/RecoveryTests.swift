import XCTest
@testable import ModelTree

/// End-to-end recoveries of synthetic families whose true graph is known by construction.
final class RecoveryTests: XCTestCase {
    static let names = ["blocks.0.q", "blocks.0.v", "blocks.1.q", "blocks.1.v"]
    static let side = 32

    /// Heavy-tailed "pre-trained" weights: excess kurtosis ≈ 3.
    func root(_ s: inout Sampler) -> [[Double]] {
        Self.names.map { _ in (0..<(Self.side * Self.side)).map { _ in s.laplace(0.05) } }
    }

    /// A full fine-tune: dense Gaussian update (which lowers kurtosis).
    func fullFineTune(_ w: [[Double]], _ s: inout Sampler, std: Double = 0.02) -> [[Double]] {
        w.map { m in m.map { $0 + s.gaussian() * std } }
    }

    /// A merged LoRA update of rank r on every tensor.
    func lora(_ w: [[Double]], _ s: inout Sampler, rank r: Int = 2, scale: Double = 0.03) -> [[Double]] {
        let n = Self.side
        return w.map { m in
            let b = s.gaussians(n * r, std: scale), a = s.gaussians(r * n, std: 1)
            var out = m
            for i in 0..<n { for j in 0..<n { for l in 0..<r { out[i * n + j] += b[i * r + l] * a[l * n + j] } } }
            return out
        }
    }

    func models(_ family: [(String, [[Double]])], dtype: DType = .f32) throws -> [Model] {
        try family.map { id, w in
            try makeModel(id, zip(Self.names, w).map { ($0, [Self.side, Self.side], $1) }, dtype: dtype)
        }
    }

    func parents(_ g: ModelGraph) -> [String: String] {
        var out: [String: String] = [:]
        for (i, p) in g.parents.enumerated() where p >= 0 { out[g.ids[i]] = g.ids[p] }
        return out
    }

    /// Two independent trees of full fine-tunes, three levels: every edge, both roots, two trees.
    func testTwoTreesOfFullFineTunes() throws {
        var s = Sampler(seed: 1)
        let a = root(&s), b = root(&s)
        let a1 = fullFineTune(a, &s), a2 = fullFineTune(a, &s), a3 = fullFineTune(a, &s)
        let a11 = fullFineTune(a1, &s), a12 = fullFineTune(a1, &s), a21 = fullFineTune(a2, &s)
        let b1 = fullFineTune(b, &s), b2 = fullFineTune(b, &s), b11 = fullFineTune(b1, &s)
        let family = [("a", a), ("a1", a1), ("a2", a2), ("a3", a3), ("a11", a11), ("a12", a12), ("a21", a21),
                      ("b", b), ("b1", b1), ("b2", b2), ("b11", b11)]
        // Shuffle the input order so that nothing depends on it.
        var order = Array(family.indices)
        order.shuffle(using: &s.rng)
        let g = try recover(try models(order.map { family[$0] }))

        XCTAssertEqual(g.metric, .rms)
        XCTAssertEqual(parents(g), ["a1": "a", "a2": "a", "a3": "a", "a11": "a1", "a12": "a1", "a21": "a2",
                                    "b1": "b", "b2": "b", "b11": "b1"])
        XCTAssertEqual(Set(g.roots.map { g.ids[$0] }), ["a", "b"])
        XCTAssertEqual(g.trees.count, 2)
        XCTAssertEqual(g.trees.map(\.direction), [.finetune, .finetune])
        XCTAssertEqual(g.edges.count, g.count - 2)
        XCTAssertEqual(g.edges.map(\.child), g.edges.map(\.child).sorted())
        for i in 0..<g.count {
            if let e = g.primaryEdge(into: i) {
                XCTAssertEqual(e.type, .finetune)
                XCTAssertEqual(e.distance, g.distances[e.parent, i])
                XCTAssertTrue((0...1).contains(e.confidence))
                XCTAssertFalse(e.unsure, "edge into \(g.ids[i]) is unsure: \(e.confidence)")
            } else {
                XCTAssertTrue(g.roots.contains(i))
            }
            XCTAssertTrue(g.trees[g.tree(of: i)].members.contains(i))
        }
        // Distances are the mean RMS over tensors, checked directly for one pair.
        let i = g.ids.firstIndex(of: "a")!, j = g.ids.firstIndex(of: "a11")!
        var direct = 0.0
        for (x, y) in zip(a, a11) {
            var ss = 0.0
            for k in 0..<x.count {
                let d: Double = Double(Float(x[k])) - Double(Float(y[k]))
                ss += d * d
            }
            direct += (ss / Double(x.count)).squareRoot() / Double(a.count)
        }
        XCTAssertEqual(g.distances[i, j], direct, accuracy: 1e-6 * direct)

        // Forcing one tree joins them; forcing the number of trees keeps every true edge.
        let one = try recover(try models(family), options: { var o = RecoveryOptions(); o.trees = 1; return o }())
        XCTAssertEqual(one.trees.count, 1)
        XCTAssertEqual(one.roots.count, 1)
    }

    /// A pure LoRA family: auto picks the rank distance and recovers every edge, in F32 and BF16.
    func testLoRAFamilyPicksRankDistance() throws {
        for dtype in [DType.f32, .bf16] {
            var s = Sampler(seed: 2)
            let r = root(&s)
            let c1 = lora(r, &s), c2 = lora(r, &s), c3 = lora(r, &s)
            let g1 = lora(c1, &s), g2 = lora(c1, &s), g3 = lora(c2, &s)
            let g = try recover(try models([("r", r), ("c1", c1), ("c2", c2), ("c3", c3), ("g1", g1), ("g2", g2), ("g3", g3)], dtype: dtype))
            XCTAssertEqual(g.metric, .rank, "\(dtype)")
            XCTAssertEqual(parents(g), ["c1": "r", "c2": "r", "c3": "r", "g1": "c1", "g2": "c1", "g3": "c2"], "\(dtype)")
            // Parent–child distance: rank 2 in each of 4 tensors, plus a tie-break below 1/2.
            let p = g.ids.firstIndex(of: "r")!, c = g.ids.firstIndex(of: "c1")!
            XCTAssertEqual(g.distances[p, c].rounded(.down), 8)
            XCTAssertLessThan(g.distances[p, c] - 8, 0.5)
        }
    }

    /// Full and LoRA children in one family: auto stays on RMS and still recovers it.
    func testMixedFamilyStaysOnRMS() throws {
        var s = Sampler(seed: 4)
        let r = root(&s)
        let full = fullFineTune(r, &s), adapter = lora(r, &s)
        let leaf1 = lora(full, &s), leaf2 = fullFineTune(adapter, &s)
        let g = try recover(try models([("r", r), ("full", full), ("adapter", adapter), ("leaf1", leaf1), ("leaf2", leaf2)]))
        XCTAssertEqual(g.metric, .rms)
        XCTAssertEqual(parents(g), ["full": "r", "adapter": "r", "leaf1": "full", "leaf2": "adapter"])
    }

    /// Children made by adding sparse large spikes (continued training that grows outliers) have
    /// higher kurtosis than their parent: auto picks the generalization direction for that tree.
    func testAutoDirectionFindsGeneralization() throws {
        var s = Sampler(seed: 6)
        let r = Self.names.map { _ in (0..<(Self.side * Self.side)).map { _ in s.gaussian() * 0.05 } }
        func spike(_ w: [[Double]]) -> [[Double]] {
            w.map { m in m.map { v in v + s.gaussian() * 0.01 + (s.uniform() < 0.02 ? s.gaussian() * 0.3 : 0) } }
        }
        let c1 = spike(r), c2 = spike(r), c3 = spike(r), g1 = spike(c1)
        let g = try recover(try models([("r", r), ("c1", c1), ("c2", c2), ("c3", c3), ("g1", g1)]))
        XCTAssertEqual(g.trees.map(\.direction), [.generalization])
        XCTAssertEqual(parents(g), ["c1": "r", "c2": "r", "c3": "r", "g1": "c1"])
    }

    /// K[i][j] from per-tensor votes, computed by hand: kurtosis order by mode, norm order always
    /// "the child is larger", ties half, undefined values left out.
    func testDirectionPenaltyVotes() {
        let solver = TreeSolver(distance: SquareMatrix(rows: [[0, 1], [1, 0]]),
                                kurtosis: [[3, 3, 3, .nan], [2, 2, 3, 1]],
                                sumSquares: [[1, 1, 1, 1], [2, 2, 2, 0.5]], lambda: 0.3)
        // parent 0 → child 1: kurtosis disagrees in 0 of 3 finite tensors plus one tie (0.5/3);
        // norm disagrees in 1 of 4 (the last tensor shrank).
        XCTAssertEqual(solver.disagreement(parent: 0, child: 1, .finetune), (0.5 / 3 + 1.0 / 4) / 2, accuracy: 1e-12)
        XCTAssertEqual(solver.disagreement(parent: 1, child: 0, .finetune), (2.5 / 3 + 3.0 / 4) / 2, accuracy: 1e-12)
        XCTAssertEqual(solver.disagreement(parent: 0, child: 1, .generalization), (2.5 / 3 + 1.0 / 4) / 2, accuracy: 1e-12)
        // M = D + λ · mean(D) · K.
        let m = solver.objective(.finetune)
        XCTAssertEqual(m[0, 1], 1 + 0.3 * 1 * (0.5 / 3 + 1.0 / 4) / 2, accuracy: 1e-12)
    }

    func testNonFiniteTensorIsSkippedAndNamed() throws {
        var s = Sampler(seed: 8)
        let r = root(&s)
        var c = fullFineTune(r, &s)
        c[1][5] = .nan
        let g = try recover(try models([("r", r), ("c", c)]))
        XCTAssertEqual(g.tensors, ["blocks.0.q", "blocks.1.q", "blocks.1.v"])
        XCTAssertTrue(g.warnings.contains { $0.contains("blocks.0.v") && $0.contains("'c'") })
    }

    func testErrors() throws {
        XCTAssertThrowsError(try recover([])) { XCTAssertEqual($0 as? ModelTreeError, .invalidArgument("no models to compare")) }
        var s = Sampler(seed: 10)
        let r = root(&s)
        let twice = try models([("x", r), ("x", r)])
        XCTAssertThrowsError(try recover(twice)) {
            guard case .invalidArgument(let m)? = $0 as? ModelTreeError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("'x'"))
        }
        // A model with no usable tensor at all.
        let empty = try makeModel("empty", [("scalar", [], [1])])
        XCTAssertThrowsError(try recover([empty])) {
            guard case .incompatibleModels? = $0 as? ModelTreeError else { return XCTFail("\($0)") }
        }
        // Cancellation from the progress callback.
        var o = RecoveryOptions()
        o.progress = { fraction, _ in fraction < 0.5 }
        XCTAssertThrowsError(try recover(try models([("r", r), ("c", fullFineTune(r, &s))]), options: o)) {
            XCTAssertEqual($0 as? ModelTreeError, .cancelled)
        }
        o = RecoveryOptions(); o.trees = 5
        XCTAssertThrowsError(try recover(try models([("r", r)]), options: o))
    }

    /// Models of two architectures in one call: each family is recovered on its own, and the two
    /// never share a tree.
    func testDifferentArchitecturesAreRecoveredApart() throws {
        var s = Sampler(seed: 14)
        let r = root(&s)
        let c = fullFineTune(r, &s)
        var mlp = [(String, [Int], [Double])]()
        for k in 0..<3 { mlp.append(("mlp.\(k)", [8, 16], (0..<128).map { _ in s.laplace(0.05) })) }
        let mlpChild = mlp.map { ($0.0, $0.1, $0.2.map { $0 + s.gaussian() * 0.02 }) }
        let all = try models([("r", r), ("c", c)]) + [try makeModel("m", mlp), try makeModel("m2", mlpChild)]
        let g = try recover(all)
        XCTAssertEqual(parents(g), ["c": "r", "m2": "m"])
        XCTAssertEqual(g.trees.map(\.members), [[0, 1], [2, 3]])
        XCTAssertEqual(g.distances[0, 2], .infinity)
        XCTAssertTrue(g.warnings[0].contains("2 different architectures"))
        XCTAssertEqual(Set(g.tensors), Set(Self.names + ["mlp.0", "mlp.1", "mlp.2"]))
        var o = RecoveryOptions(); o.trees = 1
        XCTAssertThrowsError(try recover(all, options: o))
    }

    /// A model of the same architecture that lacks some of a family's tensors (an adapter folder
    /// read as weights, a model without a projection or a head) does not narrow that family's
    /// evidence: the family is compared as if recovered alone — its distances are the mean RMS
    /// over all four of its square tensors, computed here directly, and its direction votes come
    /// from all five of its 2-D tensors (the head too).
    func testAFamilyIsComparedOverItsOwnTensors() throws {
        var s = Sampler(seed: 47)
        let r = root(&s), a = fullFineTune(r, &s), b = fullFineTune(r, &s), c = fullFineTune(a, &s)
        let family = [("r", r), ("a", a), ("b", b), ("c", c)]
        // Each with a non-square matrix too: a direction tensor the odd models do not have.
        let head = (0..<(16 * Self.side)).map { _ in s.laplace(0.05) }
        let members = try family.map { id, w in
            try makeModel(id, zip(Self.names, w).map { ($0, [Self.side, Self.side], $1) }
                + [("head", [16, Self.side], head.map { $0 + s.gaussian() * 0.02 })])
        }
        let alone = try recover(members)
        // Unrelated, of the same layers: without blocks.1.v and the head (other distance tensors),
        // and without the head only (the same distance tensors, fewer direction tensors).
        let unrelated = root(&s)
        let odds = [try makeModel("odd", Self.names.dropLast().map { ($0, [Self.side, Self.side], unrelated[0]) }),
                    try makeModel("odd", zip(Self.names, unrelated).map { ($0, [Self.side, Self.side], $1) })]
        for odd in odds {
            XCTAssertEqual(TensorSelection.architectureGroups(members + [odd]).count, 1)
            final class Log: @unchecked Sendable { var fractions: [Double] = [] }
            let log = Log()
            var options = RecoveryOptions()
            options.progress = { f, _ in log.fractions.append(f); return true }
            let mixed = try recover(members + [odd], options: options)
            for (x, y) in zip(log.fractions, log.fractions.dropFirst()) { XCTAssertLessThanOrEqual(x, y) }
            XCTAssertEqual(log.fractions.last, 1)

            XCTAssertEqual(parents(mixed), ["a": "r", "b": "r", "c": "a"])
            XCTAssertEqual(mixed.trees.map(\.members), [[0, 1, 2, 3], [4]])
            // Mean over the four tensors of RMS(W_p − W_c), from the stored (F32) values.
            func rms(_ x: [[Double]], _ y: [[Double]]) -> Double {
                var total = 0.0
                for (u, v) in zip(x, y) {
                    var sum = 0.0
                    for (p, q) in zip(u, v) { let d = Double(Float(p)) - Double(Float(q)); sum += d * d }
                    total += (sum / Double(u.count)).squareRoot()
                }
                return total / Double(x.count)
            }
            XCTAssertEqual(mixed.edges.count, 3)
            for e in mixed.edges {
                let expected = rms(family[e.parent].1, family[e.child].1)
                XCTAssertEqual(e.distance, expected, accuracy: 1e-6 * expected, "\(mixed.ids[e.parent]) -> \(mixed.ids[e.child])")
                XCTAssertEqual(e.evidence?.kurtosisVotes?.total, 5)
                let same = alone.edges.first { $0.parent == e.parent && $0.child == e.child }
                XCTAssertEqual(e.evidence?.kurtosisVotes, same?.evidence?.kurtosisVotes)
                XCTAssertEqual(e.confidence, same?.confidence ?? .nan, accuracy: 1e-9)
            }
        }
    }

    /// λ up to the largest Double (finding 1 of the C ABI fuzzer: λ · mean(D) overflowed and the
    /// recovery failed with an internal error): the costs are rescaled, and a huge λ gives the
    /// trees of a penalty that dominates the distances, as a large finite one (1e9) does directly.
    func testHugeLambdaActsAsAnInfinitePenalty() throws {
        var s = Sampler(seed: 44)
        let r = root(&s), a = fullFineTune(r, &s), b = fullFineTune(r, &s), c = fullFineTune(a, &s)
        let family = try models([("r", r), ("a", a), ("b", b), ("c", c)])
        for metric in [Metric.rms, .rank] {
            var options = RecoveryOptions()
            options.metric = metric
            options.lambda = 1e9
            let large = try recover(family, options: options)
            options.lambda = .greatestFiniteMagnitude
            let huge = try recover(family, options: options)
            XCTAssertEqual(huge.parents, large.parents, "\(metric)")
            XCTAssertEqual(huge.trees.map(\.direction), large.trees.map(\.direction), "\(metric)")
            XCTAssertEqual(huge.edges.count, large.edges.count, "\(metric)")
            for (x, y) in zip(huge.edges, large.edges) {
                XCTAssertEqual(x.confidence, y.confidence, accuracy: 1e-9, "\(metric)")
            }
        }
    }

    /// Three architectures of 1, 2 and 2 models: the progress fractions never go down, not even
    /// by a rounding (finding 2: 1/5 + 2/5 > 3/5), and end at 1.
    func testProgressNeverGoesDownAcrossArchitectures() throws {
        var s = Sampler(seed: 45)
        var family: [Model] = []
        for (arch, count) in [("x", 1), ("y", 2), ("z", 2)] {
            let w = (0..<64).map { _ in s.laplace(0.05) }
            for k in 0..<count {
                family.append(try makeModel("\(arch)\(k)", [("\(arch).w", [8, 8], w.map { $0 + Double(k) * 0.01 * s.gaussian() })]))
            }
        }
        final class Log: @unchecked Sendable { var fractions: [Double] = [] }
        let log = Log()
        var options = RecoveryOptions()
        options.progress = { f, _ in log.fractions.append(f); return true }
        _ = try recover(family, options: options)
        XCTAssertGreaterThan(log.fractions.count, 5)
        for (x, y) in zip(log.fractions, log.fractions.dropFirst()) { XCTAssertLessThanOrEqual(x, y) }
        XCTAssertEqual(log.fractions.last, 1)
    }

    /// `trees` equal to the number of architectures is one tree each; more than that cannot be
    /// shared out between them, and the warning says the request was not applied.
    func testTreesAcrossArchitectures() throws {
        var s = Sampler(seed: 46)
        var family: [Model] = []
        for arch in ["x", "y"] {
            let w = (0..<64).map { _ in s.laplace(0.05) }
            for k in 0..<3 {   // per architecture: two related models and an unrelated one
                let base = k == 2 ? (0..<64).map { _ in s.laplace(0.05) } : w
                family.append(try makeModel("\(arch)\(k)", [("\(arch).w", [8, 8], base.map { $0 + 0.01 * s.gaussian() })]))
            }
        }
        var options = RecoveryOptions()
        options.trees = 2
        let two = try recover(family, options: options)
        XCTAssertEqual(two.roots.count, 2)
        XCTAssertFalse(two.warnings.contains { $0.contains("trees were asked for") })
        options.trees = 5
        let five = try recover(family, options: options)
        XCTAssertTrue(five.warnings.contains { $0.hasPrefix("5 trees were asked for") && $0.contains("(\(five.roots.count) in all)") },
                      "\(five.warnings)")
    }

    func testSingleModelAndDuplicates() throws {
        var s = Sampler(seed: 12)
        let r = root(&s)
        let single = try recover(try models([("only", r)]))
        XCTAssertEqual(single.parents, [-1])
        XCTAssertEqual(single.roots, [0])
        XCTAssertTrue(single.edges.isEmpty)
        let dup = try recover(try models([("a", r), ("b", r)]))
        XCTAssertEqual(dup.parents.filter { $0 == -1 }.count, 1)
        XCTAssertTrue(dup.warnings.contains { $0.contains("identical") })
        XCTAssertTrue(dup.edges.contains { $0.unsure })
    }
}
