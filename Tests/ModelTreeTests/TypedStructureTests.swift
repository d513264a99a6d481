import Testing
@testable import ModelTree

/// The typed structure inside one architecture group (issue 12): merges found from the squared
/// distances with their coefficients, quantized copies fixed as leaves before the tree solve.
/// Families are built here from random weights, so the truth (parents, coefficients) is known
/// by construction; tolerances come from the construction's storage rounding.
@Suite struct TypedStructureTests {
    static let side = 48
    static let names = ["q", "k", "v"]

    /// Base weights (Laplace, RMS ≈ 0.05) and `count` fine-tune updates (Laplace, RMS ≈ `update`).
    static func family(seed: UInt64, updates count: Int, update: Double = 0.004) -> (base: [[Double]], updates: [[[Double]]]) {
        var s = Sampler(seed: seed)
        let n = side * side
        let base = names.map { _ in (0..<n).map { _ in s.laplace(0.035) } }
        let updates = (0..<count).map { _ in names.map { _ in (0..<n).map { _ in s.laplace(update / 2.0.squareRoot()) } } }
        return (base, updates)
    }

    static func model(_ id: String, _ w: [[Double]], _ dtype: DType = .f32) throws -> Model {
        try makeModel(id, zip(names, w).map { ($0, [side, side], $1) }, dtype: dtype)
    }

    /// Σ cᵢ · wᵢ, tensor by tensor.
    static func combine(_ parts: [(Double, [[Double]])]) -> [[Double]] {
        parts[0].1.indices.map { t in
            parts[0].1[t].indices.map { k in parts.reduce(0) { $0 + $1.0 * $1.1[t][k] } }
        }
    }

    static func add(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] { combine([(1, a), (1, b)]) }

    /// A linear merge (0.5 / 0.5), task arithmetic (base + 0.5 τ₀ + 0.3 τ₂: the base's coefficient
    /// 0.2) and a 0.7 / 0.3 interpolation, of four fine-tunes of a base, stored in F32 and BF16:
    /// each merge gets one `merge` edge per parent with the construction's coefficient, the
    /// largest first; fine-tunes hang from the base, which is the root.
    @Test(arguments: [DType.f32, .bf16])
    func mergesAndTheirCoefficients(dtype: DType) throws {
        let (base, tau) = Self.family(seed: 7, updates: 4)
        let ft = tau.map { Self.add(base, $0) }
        let merges: [(id: String, parts: [(Int, Double)])] = [     // −1: the base
            ("linear", [(0, 0.5), (1, 0.5)]),
            ("task-arithmetic", [(0, 0.5), (2, 0.3), (-1, 0.2)]),
            ("interpolation", [(3, 0.7), (1, 0.3)]),
        ]
        var models = [try Self.model("base", base, .f32)]
        for (k, w) in ft.enumerated() { models.append(try Self.model("ft\(k)", w, dtype)) }
        for m in merges {
            models.append(try Self.model(m.id, Self.combine(m.parts.map { ($0.1, $0.0 < 0 ? base : ft[$0.0]) }), dtype))
        }
        let g = try recover(models)
        let id = { (k: Int) in k < 0 ? "base" : "ft\(k)" }
        // The coefficients' error comes from rounding the stored weights (relative `unitRoundoff`
        // of weights of RMS 0.05) against updates of RMS 0.004: a few times their ratio.
        let tolerance = 4 * Swift.max(dtype.unitRoundoff, DType.f32.unitRoundoff) * 0.05 / 0.004
        for m in merges {
            let child = g.ids.firstIndex(of: m.id)!
            let into = Array(g.edges(into: child))
            #expect(into.allSatisfy { $0.type == .merge }, "\(m.id): \(into.map(\.type))")
            let got = Dictionary(uniqueKeysWithValues: into.map { (g.ids[$0.parent], $0.coefficient ?? .nan) })
            let want = Dictionary(uniqueKeysWithValues: m.parts.map { (id($0.0), $0.1) })
            #expect(Set(got.keys) == Set(want.keys), "\(m.id): parents \(got)")
            for (p, c) in want { #expect(Swift.abs((got[p] ?? .nan) - c) <= tolerance, "\(m.id) ← \(p): \(got[p] ?? .nan) vs \(c)") }
            #expect(Swift.abs(into.reduce(0) { $0 + ($1.coefficient ?? 0) } - 1) < 1e-9)
            #expect(into.first?.coefficient == into.compactMap(\.coefficient).max(), "the primary edge has the largest coefficient")
            let residual = into.first?.evidence?.residualRatio ?? .nan
            #expect(residual < Merges.residualRatio)
        }
        for k in 0..<4 {
            let e = g.primaryEdge(into: g.ids.firstIndex(of: "ft\(k)")!)
            #expect(e.map { g.ids[$0.parent] } == "base" && e?.type == .finetune && e?.coefficient == nil)
        }
        #expect(g.roots.map { g.ids[$0] } == ["base"])
    }

    /// Fine-tunes of fine-tunes, and their root, are no merges: nothing combines them.
    @Test func fineTunesAreNotMerges() throws {
        let (base, tau) = Self.family(seed: 11, updates: 6)
        let a = Self.add(base, tau[0]), b = Self.add(base, tau[1]), c = Self.add(base, tau[2])
        let models = [try Self.model("base", base), try Self.model("a", a), try Self.model("b", b), try Self.model("c", c),
                      try Self.model("a1", Self.add(a, tau[3])), try Self.model("a2", Self.add(a, tau[4])),
                      try Self.model("b1", Self.add(b, tau[5]), .bf16)]
        let g = try recover(models)
        #expect(g.edges.allSatisfy { $0.type == .finetune })
        let parent = Dictionary(uniqueKeysWithValues: (0..<g.count).compactMap { k in g.primaryParent(of: k).map { (g.ids[k], g.ids[$0]) } })
        #expect(parent == ["a": "base", "b": "base", "c": "base", "a1": "a", "a2": "a", "b1": "b"])
    }

    /// The affine fit from squared distances against a direct least-squares fit on the vectors:
    /// random points, a child that is a combination of three of them plus a perpendicular part.
    @Test func fitFromDistancesMatchesDirectLeastSquares() throws {
        var s = Sampler(seed: 3)
        let dim = 40
        let points = (0..<4).map { _ in s.gaussians(dim, std: 1) }
        let c = [0.6, 0.3, 0.1]
        var child = (0..<dim).map { k in c[0] * points[0][k] + c[1] * points[1][k] + c[2] * points[2][k] }
        // A part orthogonal to the parents' affine hull, by Gram–Schmidt against the differences.
        var extra = points[3]
        var basis: [[Double]] = []
        for v in [points[1], points[2]].map({ p in zip(p, points[0]).map { $0 - $1 } }) {
            var u = v
            for b in basis { let d = zip(u, b).reduce(0) { $0 + $1.0 * $1.1 }; u = zip(u, b).map { $0 - d * $1 } }
            let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
            basis.append(u.map { $0 / norm })
        }
        for b in basis { let d = zip(extra, b).reduce(0) { $0 + $1.0 * $1.1 }; extra = zip(extra, b).map { $0 - d * $1 } }
        let scale = 0.05 / extra.reduce(0) { $0 + $1 * $1 }.squareRoot()
        child = zip(child, extra).map { $0 + scale * $1 }
        let all = [points[0], points[1], points[2], child]
        var d2 = SquareMatrix<Double>(count: 4, repeating: 0)
        for i in 0..<4 { for j in 0..<4 { d2[i, j] = zip(all[i], all[j]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } } }
        let fit = try #require(Merges.fit(child: 3, parents: [0, 1, 2], meanSquare: d2))
        for k in 0..<3 { #expect(Swift.abs(fit.coefficients[k] - c[k]) < 1e-9) }
        #expect(Swift.abs(fit.residual2.squareRoot() - 0.05) < 1e-9)
        // Solved for a parent, the same dependence has a negative coefficient: not a merge.
        let reversed = try #require(Merges.fit(child: 0, parents: [3, 1, 2], meanSquare: d2))
        #expect(reversed.coefficients.contains { $0 < 0 })
        #expect(Merges.subsets(of: [4, 5, 6, 7], size: 2).count == 6)
        #expect(Merges.subsets(of: [4, 5, 6, 7], size: 3) == [[4, 5, 6], [4, 5, 7], [4, 6, 7], [5, 6, 7]])
    }

    /// Quantized copies are fixed before the tree solve: an F16 and a BF16 copy of the base stay
    /// leaves of the base, even with light fine-tunes stored in F16 whose distance to the F16 copy
    /// is within a few per cent of their distance to the base (so nearness alone could hang
    /// them from it, and kurtosis could make the copy the root). The copy's edge carries the
    /// grid's share as its evidence.
    @Test func quantizedCopiesStayLeavesOfTheirSource() throws {
        let (base, tau) = Self.family(seed: 5, updates: 3, update: 3e-5)
        var models = [try Self.model("base", base, .f32), try Self.model("base-f16", base, .f16),
                      try Self.model("base-bf16", base, .bf16)]
        for k in 0..<3 { models.append(try Self.model("light\(k)", Self.add(base, tau[k]), .f16)) }
        let g = try recover(models)
        let b = g.ids.firstIndex(of: "base")!, f16 = g.ids.firstIndex(of: "base-f16")!
        let near = (0..<3).map { k -> Double in
            let l = g.ids.firstIndex(of: "light\(k)")!
            return g.distance(l, f16) / g.distance(l, b)
        }
        try #require(near.allSatisfy { $0 < 1.05 }, "the construction puts the light fine-tunes near the F16 copy: \(near)")
        for copy in ["base-f16", "base-bf16"] {
            let k = g.ids.firstIndex(of: copy)!
            let e = g.primaryEdge(into: k)
            #expect(e?.type == .quantized && e.map { g.ids[$0.parent] } == "base", "\(copy): \(String(describing: e))")
            #expect(!g.edges.contains { $0.parent == k }, "\(copy) is a leaf")
            #expect((e?.evidence?.gridShare ?? 0) >= QuantizedCopies.minimumShare)
        }
        // The light fine-tunes' direction is within their rounding (nothing in the weights orders
        // them against the base); wherever they hang, it is from a model that is not a copy.
        let copies = Set(["base-f16", "base-bf16"].map { g.ids.firstIndex(of: $0)! })
        #expect(g.edges.allSatisfy { !copies.contains($0.parent) })
        #expect(!g.roots.contains { copies.contains($0) })
    }

    /// A DARE merge (each parent's update kept at random with probability 0.6 and rescaled, then
    /// summed with weights 0.4 / 0.4 onto the base, stored in BF16) keeps the base's values where
    /// both updates were dropped, (1 − 0.6)² = 0.16 of its elements: it is a merge of the base and
    /// both parents. A fine-tune that froze one of the three tensors keeps all of that tensor and
    /// none of the others: not a merge. Each fine-tune is stored in BF16 too.
    @Test func trimmedMergesKeepTheirBase() throws {
        let (base, tau) = Self.family(seed: 13, updates: 4)
        let ft = tau.prefix(3).map { Self.add(base, $0) }
        var s = Sampler(seed: 17)
        let density = 0.6
        let dare = base.indices.map { t in
            base[t].indices.map { k -> Double in
                var x = base[t][k]
                for p in 0..<2 where s.uniform() < density { x += 0.4 * tau[p][t][k] / density }
                return x
            }
        }
        var frozen = Self.add(base, tau[3])
        frozen[1] = base[1]                                   // the "k" tensor was not trained
        var models = [try Self.model("base", base)]
        for (k, w) in ft.enumerated() { models.append(try Self.model("ft\(k)", w, .bf16)) }
        models += [try Self.model("dare", dare, .bf16), try Self.model("frozen", frozen)]
        let g = try recover(models)
        let into = Array(g.edges(into: g.ids.firstIndex(of: "dare")!))
        #expect(Set(into.map { g.ids[$0.parent] }) == ["base", "ft0", "ft1"] && into.allSatisfy { $0.type == .merge },
                "\(into.map { (g.ids[$0.parent], $0.type, $0.coefficient ?? .nan) })")
        let f = g.primaryEdge(into: g.ids.firstIndex(of: "frozen")!)
        #expect(f?.type == .finetune && f.map { g.ids[$0.parent] } == "base")
        #expect(g.roots.map { g.ids[$0] } == ["base"])
    }

    /// The share a rounding keeps, counted over every element compared (equal ones included).
    @Test func retainedShareCountsEqualElements() {
        let fit = GridEvidence.Fit(withinChildGrid: 10, withinParentGrid: 0, changed: 40, compared: 100, childSteps: 0, parentSteps: 0)
        #expect(fit.retainedShare == 0.7)
        #expect(GridEvidence.Fit().retainedShare == 0)
    }
}
