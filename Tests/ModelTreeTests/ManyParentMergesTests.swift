import Testing
@testable import ModelTree

/// Merges of more than three parents, and TIES merges whose base has coefficient 0 (issue 12).
/// The families are built here by mergekit's formulas (task arithmetic `base + Σ λᵢ(Aᵢ − base)`;
/// TIES: each update trimmed to its largest `density` share, the sign elected by the weighted
/// sum, disagreeing entries dropped, divided by the kept weights), so parents and coefficients
/// are known by construction; beside them, fine-tunes of fine-tunes, siblings and a light
/// fine-tune that are no merges.
@Suite struct ManyParentMergesTests {
    typealias T = TypedStructureTests

    /// The coefficients' error: BF16 rounding of the merge (RMS ≈ 2^-8 · 0.05 / √3 per element)
    /// projected on updates of RMS 0.004 over 6912 elements is about 3e-4; the Gram matrix of
    /// four or five parents widens it a few times. 0.02 leaves a wide margin and still tells 0.1
    /// from 0 or 0.2.
    static let tolerance = 0.02

    /// mergekit's TIES (magnitude trimming, consensus "sum", normalize: true) of `parents` with
    /// `weights` on `base`, tensor by tensor.
    static func ties(base: [[Double]], parents: [[[Double]]], weights: [Double], density: Double) -> [[Double]] {
        base.indices.map { t in
            let deltas = parents.map { p in zip(p[t], base[t]).map { $0 - $1 } }
            let trimmed = deltas.map { d -> [Double] in
                let keep = Int(density * Double(d.count))
                let order = d.indices.sorted { (Swift.abs(d[$0]), -$0) > (Swift.abs(d[$1]), -$1) }
                var out = [Double](repeating: 0, count: d.count)
                for k in order.prefix(keep) { out[k] = d[k] }
                return out
            }
            return base[t].indices.map { k in
                let wd = zip(weights, trimmed).map { $0 * $1[k] }
                let majority: Double = wd.reduce(0, +) >= 0 ? 1 : -1
                var mixed = 0.0, divisor = 0.0
                for (w, x) in zip(weights, wd) where x != 0 && (x > 0) == (majority > 0) {
                    mixed += x
                    divisor += w
                }
                return base[t][k] + mixed / (divisor == 0 ? 1 : divisor)
            }
        }
    }

    /// Task arithmetic of three fine-tunes (four parents: the base at 0.2) and of four (five
    /// parents: the base at 0.1), among five fine-tunes, two fine-tunes of one of them and a
    /// light one, stored in BF16 (the base F32): each merge lists exactly its parents with the
    /// construction's coefficients; no other model is typed merge.
    @Test(arguments: [DType.bf16, .f32])
    func taskArithmeticOfManyFineTunes(dtype: DType) throws {
        let (base, tau) = T.family(seed: 41, updates: 8)
        let ft = tau.prefix(5).map { T.add(base, $0) }
        let merges: [(id: String, parts: [(Int, Double)])] = [      // −1: the base
            ("ta4", [(-1, 0.2), (1, 0.4), (3, 0.3), (4, 0.1)]),
            ("ta5", [(-1, 0.1), (0, 0.3), (2, 0.2), (3, 0.2), (4, 0.2)]),
        ]
        var models = [try T.model("base", base, .f32)]
        for (k, w) in ft.enumerated() { models.append(try T.model("ft\(k)", w, dtype)) }
        models += [try T.model("ft0a", T.add(ft[0], tau[5]), dtype), try T.model("ft0b", T.add(ft[0], tau[6]), dtype),
                   try T.model("ft1-light", T.add(ft[1], T.combine([(0.25, tau[7])])), dtype)]
        for m in merges {
            models.append(try T.model(m.id, T.combine(m.parts.map { ($0.1, $0.0 < 0 ? base : ft[$0.0]) }), dtype))
        }
        let g = try recover(models)
        let id = { (k: Int) in k < 0 ? "base" : "ft\(k)" }
        for m in merges {
            let into = Array(g.edges(into: g.ids.firstIndex(of: m.id)!))
            #expect(into.allSatisfy { $0.type == .merge }, "\(m.id): \(into.map(\.type))")
            let got = Dictionary(uniqueKeysWithValues: into.map { (g.ids[$0.parent], $0.coefficient ?? .nan) })
            let want = Dictionary(uniqueKeysWithValues: m.parts.map { (id($0.0), $0.1) })
            #expect(Set(got.keys) == Set(want.keys), "\(m.id): parents \(got)")
            for (p, c) in want { #expect(Swift.abs((got[p] ?? .nan) - c) <= Self.tolerance, "\(m.id) ← \(p): \(got[p] ?? .nan) vs \(c)") }
        }
        let merged = Set(merges.map(\.id))
        for k in 0..<g.count where !merged.contains(g.ids[k]) {
            #expect(g.edges(into: k).allSatisfy { $0.type == .finetune }, "\(g.ids[k]) is no merge")
        }
        let parent = { (child: String) in g.primaryParent(of: g.ids.firstIndex(of: child)!).map { g.ids[$0] } }
        #expect(parent("ft0a") == "ft0" && parent("ft0b") == "ft0")
    }

    /// TIES of two fine-tunes with weights 0.5 / 0.5 on their base (the base's coefficient 0):
    /// the base, found by the values the merge keeps, is listed with coefficient 0, beside both
    /// fine-tunes. A chain of fine-tunes continuing one update's direction, its siblings and
    /// the base's other fine-tunes stay fine-tunes.
    @Test func tiesWithTheBaseAtZero() throws {
        let (base, tau) = T.family(seed: 43, updates: 6)
        let ft = tau.prefix(4).map { T.add(base, $0) }
        let merged = Self.ties(base: base, parents: [ft[0], ft[1]], weights: [0.5, 0.5], density: 0.7)
        var models = [try T.model("base", base, .f32)]
        for (k, w) in ft.enumerated() { models.append(try T.model("ft\(k)", w, .bf16)) }
        // ft2 trained on: its child continues half its update, plus one of its own.
        models += [try T.model("ft2-more", T.combine([(1, ft[2]), (0.5, tau[2]), (1, tau[4])]), .bf16),
                   try T.model("ft2-other", T.add(ft[2], tau[5]), .bf16),
                   try T.model("ties", merged, .bf16)]
        let g = try recover(models)
        let into = Array(g.edges(into: g.ids.firstIndex(of: "ties")!))
        let got = Dictionary(uniqueKeysWithValues: into.map { (g.ids[$0.parent], $0.coefficient ?? .nan) })
        #expect(into.allSatisfy { $0.type == .merge } && Set(got.keys) == ["base", "ft0", "ft1"], "\(got)")
        #expect(got["base"] == 0, "\(got)")
        #expect(Swift.abs((got["ft0"] ?? 0) + (got["ft1"] ?? 0) - 1) < 1e-9)
        for k in 0..<g.count where g.ids[k] != "ties" {
            #expect(g.edges(into: k).allSatisfy { $0.type == .finetune }, "\(g.ids[k]) is no merge")
        }
    }
}
