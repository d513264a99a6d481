import Glibc
import Testing
@testable import ModelTree

/// The untouched-rows evidence (`UntouchedRows`): rows of a child's embedding that training never
/// updated are the parent's scaled by AdamW's decoupled weight decay. Pairs are built here the way
/// AdamW builds them — each step rounds p · (1 − lr_t · wd) to F32 — so the factor and the rows are
/// known by construction, not from the code under test.
@Suite struct UntouchedRowsTests {
    static let rows = 160, columns = 32
    /// Rows 0..<untouched never get a gradient.
    static let untouched = 40

    /// A parent embedding (Laplace rows) and a square matrix (no lookup table: never read).
    static func parent(seed: UInt64) -> (embedding: [Double], matrix: [Double]) {
        var s = Sampler(seed: seed)
        return ((0..<(rows * columns)).map { _ in s.laplace(0.05) }, (0..<(columns * columns)).map { _ in s.laplace(0.05) })
    }

    /// `steps` AdamW steps at a constant lr with weight decay `wd`, in F32 as torch does: untouched
    /// rows are only decayed; the others also move by ±lr per step (Adam's normalised update).
    /// Returns the child and Π(1 − lr · wd), with 1 − lr · wd as F32 stores it, computed in Double.
    static func train(_ w: [Double], steps: Int, lr: Double, wd: Double, seed: UInt64) -> (child: [Double], factor: Double) {
        var s = Sampler(seed: seed)
        var x = w.map { Float($0) }
        let decay = Float(1 - lr * wd)
        for _ in 0..<steps {
            for k in x.indices {
                x[k] = x[k] * decay
                if k / columns >= untouched { x[k] -= Float(lr) * (s.uniform() < 0.5 ? 1 : -1) }
            }
        }
        // The factor applied is the F32 one, to the power of the steps (each step's product is
        // rounded too: the rows' factors scatter by a few F32 roundings around it).
        return (x.map { Double($0) }, Glibc.pow(Double(decay), Double(steps)))
    }

    static func model(_ id: String, embedding: [Double], matrix: [Double], dtype: DType = .f32) throws -> Model {
        try makeModel(id, [("embed.weight", [rows, columns], embedding), ("layer.weight", [columns, columns], matrix)], dtype: dtype)
    }

    /// 40 steps at lr 2e-5, wd 0.1 (zoo 1's light fine-tune): the 40 untouched rows are found, with
    /// Π(1 − lr·wd) to a few F32 roundings; decisive, the parent the ancestor whichever way the
    /// pair is read; the reverse reads 1/c.
    @Test func weightDecayOrdersALightFineTune() throws {
        let (e, m) = Self.parent(seed: 1)
        let (child, c) = Self.train(e, steps: 40, lr: 2e-5, wd: 0.1, seed: 2)
        let p = try Self.model("p", embedding: e, matrix: m), k = try Self.model("k", embedding: child, matrix: m)
        let forward = try #require(try UntouchedRows.measure(p.tensor(named: "embed.weight")!, k.tensor(named: "embed.weight")!))
        #expect(forward.scaled == Self.untouched)
        #expect(forward.rows == Self.rows)
        #expect(Swift.abs(forward.factor - c) < 1e-6, "\(forward.factor) against \(c)")
        #expect(forward.decisive)
        let reverse = try #require(try UntouchedRows.measure(k.tensor(named: "embed.weight")!, p.tensor(named: "embed.weight")!))
        #expect(Swift.abs(reverse.factor - 1 / c) < 1e-6)
        #expect(reverse.decisive && reverse.scaled == Self.untouched)
        for models in [[p, k], [k, p]] {
            let tester = try #require(UntouchedRows.Tester(models: models, tensors: ["embed.weight", "layer.weight"]))
            #expect(tester.tables == ["embed.weight"])
            let orders = try tester.orders([(0, 1)])
            #expect(orders.count == 1)
            #expect(orders.first.map { models[$0.ancestor].id } == "p")
            #expect(orders.first.map { Swift.abs($0.scaling.factor - c) < 1e-6 } == true)
            #expect(try tester.orders([(1, 0)]).isEmpty, "a pair is read once")
        }
    }

    /// Without weight decay the untouched rows are bit-equal: scaled by exactly 1, not decisive,
    /// no order.
    @Test func noWeightDecayMeansEqualRowsAndNoOrder() throws {
        let (e, m) = Self.parent(seed: 3)
        let (child, _) = Self.train(e, steps: 40, lr: 2e-5, wd: 0, seed: 4)
        let p = try Self.model("p", embedding: e, matrix: m), k = try Self.model("k", embedding: child, matrix: m)
        let s = try #require(try UntouchedRows.measure(p.tensor(named: "embed.weight")!, k.tensor(named: "embed.weight")!))
        #expect(s.factor == 1 && s.scaled == Self.untouched && !s.decisive)
        #expect(try UntouchedRows.Tester(models: [p, k], tensors: ["embed.weight"])!.orders([(0, 1)]).isEmpty)
    }

    /// A child stored in BF16: its untouched rows are the decayed rows rounded to the BF16 grid,
    /// within one unit roundoff. 300 steps at lr 5e-4 (c ≈ 0.985, zoo 1's full fine-tunes) are
    /// told apart from 1; 40 steps at lr 2e-5 (c ≈ 0.99996) are not — the grid's step (2^-8) hides
    /// the decay, so the test says nothing rather than guess.
    @Test func bf16ChildrenWithinTheirGrid() throws {
        let (e, m) = Self.parent(seed: 5)
        let p = try Self.model("p", embedding: e, matrix: m)
        let (full, c) = Self.train(e, steps: 300, lr: 5e-4, wd: 0.1, seed: 6)
        let k = try Self.model("k", embedding: full, matrix: m, dtype: .bf16)
        let s = try #require(try UntouchedRows.measure(p.tensor(named: "embed.weight")!, k.tensor(named: "embed.weight")!))
        #expect(s.scaled == Self.untouched)
        // A row's factor is off by about 2^-8 / √columns; the median of 40 by less.
        #expect(Swift.abs(s.factor - c) < 0x1p-8 / Double(Self.columns).squareRoot(), "\(s.factor) against \(c)")
        #expect(s.decisive)
        let (light, _) = Self.train(e, steps: 40, lr: 2e-5, wd: 0.1, seed: 7)
        let l = try Self.model("l", embedding: light, matrix: m, dtype: .bf16)
        let t = try UntouchedRows.measure(p.tensor(named: "embed.weight")!, l.tensor(named: "embed.weight")!)
        #expect(t.map { !$0.decisive } ?? true)
    }

    /// The same BF16 children saved as F32 files (a BF16 model cast back with `.float()` before
    /// saving): their values still lie on BF16's grid, so the rows are judged at BF16's rounding,
    /// not the file's — as the BF16 files above. Two such siblings (one decay, so bit-equal
    /// untouched rows) and their F32 parent: the parent holds the rows scaled too, so it is on
    /// the path between them (no off-path rows); at F32's rounding its rows looked trained, which
    /// made a latent parent above every such family's root.
    @Test func bf16ValuesInF32FilesAreJudgedOnTheirGrid() throws {
        let (e, m) = Self.parent(seed: 5)
        // Round to nearest even on BF16's grid, as torch's `.to(torch.bfloat16)` does.
        let bf16 = { (w: [Double]) in
            w.map { x -> Double in
                let bits = Float(x).bitPattern
                return Double(Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000))
            }
        }
        let (one, c) = Self.train(e, steps: 300, lr: 5e-4, wd: 0.1, seed: 6)
        let (two, _) = Self.train(e, steps: 300, lr: 5e-4, wd: 0.1, seed: 16)
        let p = try Self.model("p", embedding: e, matrix: m)
        let u = try Self.model("u", embedding: bf16(one), matrix: m), v = try Self.model("v", embedding: bf16(two), matrix: m)
        let pe = p.tensor(named: "embed.weight")!, ue = u.tensor(named: "embed.weight")!, ve = v.tensor(named: "embed.weight")!
        #expect(try UntouchedRows.sampledRows(ue).roundoff == DType.bf16.unitRoundoff)
        #expect(try UntouchedRows.sampledRows(pe).roundoff == DType.f32.unitRoundoff)
        let s = try #require(try UntouchedRows.measure(pe, ue))
        #expect(s.scaled == Self.untouched && s.decisive)
        #expect(Swift.abs(s.factor - c) < 0x1p-8 / Double(Self.columns).squareRoot(), "\(s.factor) against \(c)")
        #expect(try UntouchedRows.offPath(pe, between: ue, ve) == 0)
    }

    /// The grid a tensor's values lie on: BF16's when every F32 pattern ends in 16 zero bits,
    /// F16's when every value is an F16 value, else the stored type's; never finer than stored.
    @Test func theGridOfTheValues() {
        let f32 = DType.f32.unitRoundoff
        #expect(UntouchedRows.roundoff(of: [1, 0.5, -3, 0], stored: f32) == DType.bf16.unitRoundoff)
        #expect(UntouchedRows.roundoff(of: [1 + 0x1p-10, 0.5], stored: f32) == DType.f16.unitRoundoff)
        #expect(UntouchedRows.roundoff(of: [1 + 0x1p-20, 0.5], stored: f32) == f32)
        #expect(UntouchedRows.roundoff(of: [1 + 0x1p-10], stored: DType.bf16.unitRoundoff) == DType.bf16.unitRoundoff)
        #expect(UntouchedRows.roundoff(of: [65536, 1], stored: f32) == DType.bf16.unitRoundoff, "beyond F16's range")
        #expect(UntouchedRows.roundoff(of: [70001], stored: f32) == f32, "neither grid")
    }

    /// Every row updated (a dense matrix's rows, or an embedding whose every token was seen): no
    /// scaled rows. Square matrices are no lookup table: nothing is read.
    @Test func denseUpdatesAndSquareMatricesSayNothing() throws {
        var s = Sampler(seed: 8)
        let (e, m) = Self.parent(seed: 9)
        let moved = e.map { $0 * 0.999 + s.laplace(1e-3) }
        let p = try Self.model("p", embedding: e, matrix: m), k = try Self.model("k", embedding: moved, matrix: m)
        #expect(try UntouchedRows.measure(p.tensor(named: "embed.weight")!, k.tensor(named: "embed.weight")!) == nil)
        #expect(UntouchedRows.Tester(models: [p, k], tensors: ["layer.weight"]) == nil)
    }

    /// The tree: a known order overrides kurtosis and norm in both modes, and chooses the mode under
    /// auto from the known pairs' kurtosis. Two models at one distance whose kurtosis and norm
    /// both say 1 → 0 under fine-tuning: known 0 → 1 makes 0 the parent; the known pair's
    /// kurtosis rises from 0 to 1, so auto reads further training.
    @Test func knownOrderOverridesTheVotes() throws {
        var d = SquareMatrix<Double>(count: 2, repeating: 0)
        d[0, 1] = 1; d[1, 0] = 1
        var solver = TreeSolver(distance: d, kurtosis: [[1, 1], [3, 3]], sumSquares: [[2, 2], [1, 1]], lambda: 0.3)
        #expect(try solver.solve(direction: .finetune).parent == [1, -1])
        solver.known = [[0, 1]]
        for mode in [DirectionMode.finetune, .generalization] {
            #expect(try solver.solve(direction: mode).parent == [-1, 0])
        }
        let auto = try solver.solve(direction: .auto)
        #expect(auto.direction == .generalization && !auto.directionUnsure)
        #expect(solver.modeOfKnownPairs().finetuneShare == 0)
    }

    /// An unsure edge whose runner-up is its parent's parent, known to come first, hangs from
    /// that ancestor, still unsure, the old parent its runner-up: 2 is 1e-4 nearer 1 (a light
    /// fine-tune of 0) than 0. Without the known order it stays under 1.
    @Test func nearEqualParentsPreferTheKnownAncestor() throws {
        var d = SquareMatrix<Double>(count: 3, repeating: 0)
        for (i, j, v) in [(0, 1, 0.01), (0, 2, 1.0001), (1, 2, 1.0)] { d[i, j] = v; d[j, i] = v }
        var solver = TreeSolver(distance: d, kurtosis: [[1], [1], [1]], sumSquares: [[1], [1], [1]], lambda: 0.3)
        solver.known = [[0, 1]]
        let s = try solver.solve(direction: .finetune)
        #expect(s.parent == [-1, 0, 0])
        #expect(s.runnerUp[2] == 1)
        #expect(s.confidence[2] < tieConfidence)
        solver.known = []
        #expect(try solver.solve(direction: .finetune).parent[2] == 1)
    }

    /// Zoo 1 (examples/typed_zoo, made by real AdamW training): lm-a is the root of its family and
    /// lm-a-light (40 steps at lr 2e-5 from lm-a, truth.json) its child, with the direction from
    /// the untouched rows said in the warnings; its BF16 full fine-tunes, an adapter and a layer
    /// subset hang from lm-a (truth.json).
    @Test func zoo1LightFineTuneHangsFromItsBase() throws {
        let zoo = SampleDrawings.root + "/examples/typed_zoo"
        let ids = ["lm-a", "lm-a-light", "lm-a-gpl", "lm-a-apache", "lm-a-gpl-gfdl", "lm-a-int8", "lm-a-adapter-bsd", "lm-a-half"]
        let g = try recover(try ids.map { try ModelLoader.load(ModelLocation(id: $0, path: zoo + "/" + $0)) })
        let index = { (id: String) in g.ids.firstIndex(of: id)! }
        #expect(g.primaryParent(of: index("lm-a")) == nil)
        #expect(g.primaryParent(of: index("lm-a-light")) == index("lm-a"))
        #expect(g.primaryParent(of: index("lm-a-gpl-gfdl")) == index("lm-a-gpl"))
        for child in ["lm-a-gpl", "lm-a-apache"] {
            #expect(g.primaryParent(of: index(child)) == index("lm-a"), "\(child)")
        }
        #expect(g.warnings.contains { $0.hasPrefix("edge 'lm-a' → 'lm-a-light': 207 of 384 rows") }, "\(g.warnings)")
        // The adapter and the layer subset: lm-a and its light fine-tune are within noise of each
        // other for the layer subset; lm-a, the ancestor, is chosen, unsure, lm-a-light named.
        for (child, type) in [("lm-a-adapter-bsd", EdgeType.adapter), ("lm-a-half", .layerSubset)] {
            let edge = try #require(g.primaryEdge(into: index(child)))
            #expect(edge.parent == index("lm-a") && edge.type == type, "\(child): \(edge)")
            #expect(edge.unsure == !(edge.confidence >= g.unsureThreshold), "\(child): \(edge)")
        }
        let half = try #require(g.primaryEdge(into: index("lm-a-half")))
        #expect(half.unsure && half.evidence?.runnerUp?.parent == index("lm-a-light"), "\(half)")
        // The light fine-tune's edge is ordered by its rows: sure, even if the tree's kurtosis
        // direction is not.
        let light = try #require(g.primaryEdge(into: index("lm-a-light")))
        #expect(!light.unsure && light.confidence >= g.unsureThreshold, "\(light)")
    }
}
