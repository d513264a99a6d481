/// Rows one model holds as a scalar multiple of another's: which way training went, from the rows
/// a fine-tune never touched.
///
/// A row of a lookup table (a token embedding) whose token never occurs in a fine-tune's data
/// gets zero gradient, so AdamW moves it only by its decoupled weight decay: every such row of the
/// child is the parent's times one c = Π(1 − lr_t · wd) < 1, to float rounding. Measured on zoo 1
/// (`tools/untouched_rows.py`): lm-a → lm-a-light (40 steps at lr 2e-5) 207 of 384 embedding rows
/// scaled by c = 0.999958 within 4e-7 of their norm, the next row 8e-4 away; the full fine-tunes,
/// stored in BF16, 184–192 rows by 0.99249, within their grid's rounding (2e-3) against 1.2e-2
/// for the next. Weight decay cannot make c > 1, so c orders the pair: a kurtosis or norm vote
/// cannot order an update that small (issue 12). The order is an ancestry, not an edge: a
/// grandchild's rows are its grandparent's times c₁c₂, and two siblings' common untouched rows
/// differ by c₂/c₁, which orders them by their decay (never against a true edge). With weight
/// decay 0 the rows are bit-equal (a merged LoRA's embedding): related, but no direction.
///
/// Which tensors: the 2-D tensors with the most rows, when those are more than `tallness` times
/// the columns — a vocabulary's rows (the embedding and an untied head; 30k–256k rows of 0.7–8k
/// columns in BERT, GPT-2, Llama 3, zoo 1's 384 of 64), not a dense matrix, whose rows all get
/// gradient (an MLP's up-projection is 2.7–4 times as tall as wide in Llama, GPT-2 and ViT, and is
/// not the tallest where there is a vocabulary). The ViT zoos and a synthetic family of square
/// matrices read nothing. Cost per model tested: at most
/// `sampledRows` rows of each such tensor, decoded once while `Tester.keptBytes` holds them
/// (1024 × 4096 × 2 tensors for a Llama-3 8B, against the pass's 8e9 elements per model).
enum UntouchedRows {
    /// A row is scaled when its residual ‖b − αa‖ is within this many of the coarser side's unit
    /// roundoff of ‖b‖, plus `trainingRounding`: rounding a scaled row to a storage grid moves
    /// each element by at most one unit roundoff of its value (measured at most 0.55 on zoo 1's
    /// BF16 children).
    static let rowTolerance = 1.0
    /// AdamW rounds p·(1 − lr·wd) in F32 at every step, up to an ulp each time: measured 4e-7 of
    /// the row's norm after 40 steps; 2^-16 leaves room for hundreds of steps and stays 50 times
    /// below the smallest update measured on a touched row (8e-4, the light fine-tune's).
    static let trainingRounding = 0x1p-16
    /// A row's α is the common c when within this many standard errors of the median — a row's α
    /// is off by about its residual over √columns — and c is told from 1 (decisive) when the
    /// median is farther from 1 than that.
    static let factorTolerance = 4.0
    /// Fewer scaled rows than this say nothing (a row of a dense matrix that happened to move
    /// along itself).
    static let minimumRows = 8
    /// A lookup table has more than this many rows per column (see the type's comment).
    static let tallness = 4
    /// Rows read per tensor and model, evenly spaced when there are more.
    static let sampledRows = 1024

    /// What the rows of one pair say: b's rows as a's times `factor`.
    struct Scaling: Equatable, Sendable {
        var tensor: String
        /// Rows read.
        var rows: Int
        /// Rows that are a's times `factor` (to rounding).
        var scaled: Int
        /// The median α of the scaled rows: b ≈ factor · a.
        var factor: Double
        /// Whether `factor` is told from 1: below 1, a is an ancestor of b; above, b of a.
        var decisive: Bool
    }

    /// The tensors the test reads (see the type's comment), among `names`, of `model`.
    static func lookupTables(_ model: Model, among names: [String]) -> [String] {
        let tables = names.compactMap { name -> (String, Int)? in
            guard let t = model.tensor(named: name), t.isWeight, t.shape.count == 2, t.undecodableReason == nil,
                  t.shape[0] > tallness * t.shape[1], t.shape[1] >= 2 else { return nil }
            return (name, t.shape[0])
        }
        let most = tables.map(\.1).max() ?? 0
        return tables.filter { $0.1 == most }.map(\.0).sorted()
    }

    /// The rows read of a tensor of `rows` rows: all, or `sampledRows` evenly spaced.
    static func sample(rows: Int) -> [Int] {
        rows <= sampledRows ? Array(0..<rows) : (0..<sampledRows).map { $0 * rows / sampledRows }
    }

    /// The scaling of `b`'s rows from `a`'s (two tensors of one 2-D shape); nil when fewer than
    /// `minimumRows` rows are scaled by one common factor.
    static func measure(_ a: TensorView, _ b: TensorView) throws -> Scaling? {
        guard comparable(a, b) else { return nil }
        return measure(try sampledRows(a), try sampledRows(b), of: a, b)
    }

    /// `measure` over the `sample` rows (`sampledRows`) of `a` and `b`, two `comparable` tensors.
    static func measure(_ x: Rows, _ y: Rows, of a: TensorView, _ b: TensorView) -> Scaling? {
        let columns = a.shape[1]
        let tolerance = tolerance(x, y)
        let spread = spread(tolerance, columns: columns)
        var factors: [Double] = []
        for start in stride(from: 0, to: x.values.count, by: columns) {
            let row = start..<(start + columns)
            if let f = fit(x.values[row], y.values[row]), f.residual <= tolerance { factors.append(f.alpha) }
        }
        guard factors.count >= minimumRows else { return nil }
        let median = factors.median!      // at least `minimumRows` factors
        let scaled = factors.filter { Swift.abs($0 - median) <= spread }.count
        guard scaled >= minimumRows else { return nil }
        return Scaling(tensor: a.name, rows: x.values.count / columns, scaled: scaled, factor: median,
                       decisive: Swift.abs(median - 1) > spread)
    }

    /// Whether `views` are 2-D tensors of one non-empty shape: the rows the test compares.
    static func comparable(_ views: TensorView...) -> Bool {
        let shape = views[0].shape
        return shape.count == 2 && shape[0] > 0 && shape[1] > 0 && views.allSatisfy { $0.shape == shape }
    }

    /// The largest residual (a share of the row's norm) of a scaled row between `rows`: the
    /// coarsest grid's rounding plus the training's (see `rowTolerance`).
    static func tolerance(_ rows: Rows...) -> Double {
        rowTolerance * rows.map(\.roundoff).max()! + trainingRounding
    }

    /// How far a scaled row's α may lie from the common factor (see `factorTolerance`).
    static func spread(_ tolerance: Double, columns: Int) -> Double {
        factorTolerance * tolerance / Double(columns).squareRoot()
    }

    /// Row `y` as α times row `x` (least squares, in Double): α, and the residual ‖y − αx‖ as a
    /// share of ‖y‖; nil when a row is zero or not finite.
    static func fit(_ x: ArraySlice<Float>, _ y: ArraySlice<Float>) -> (alpha: Double, residual: Double)? {
        var aa = 0.0, ab = 0.0, bb = 0.0
        for (p, q) in zip(x, y) {
            let u = Double(p), v = Double(q)
            aa += u * u; ab += u * v; bb += v * v
        }
        guard aa > 0, bb > 0, aa.isFinite, bb.isFinite else { return nil }
        let alpha = ab / aa
        var residual = 0.0
        for (p, q) in zip(x, y) { let e = Double(q) - alpha * Double(p); residual += e * e }
        return (alpha, (residual / bb).squareRoot())
    }

    /// A row `x` holds touched, by this many times the tolerance, when two others hold it scaled:
    /// a training's update of a row is 30–190 times the tolerance on zoo 1 (the light fine-tune's
    /// 8e-4 of the norm included), rounding stays within 1.
    static let touchedMargin = 4.0

    /// Rows of `u` and `v` that are scalar multiples of each other by their common factor — no
    /// training between them touched those rows — and that `x` holds otherwise (its training
    /// touched them): then `x` is not on the path from `u` to `v` — not their common ancestor,
    /// nor between them — for every model on that path holds those rows scaled too. Counted over
    /// the `sample` rows; 0 when the shapes differ or `u` and `v` share fewer than `minimumRows`
    /// scaled rows. Independent of how far the three are apart (`LatentParents` uses it where the
    /// angles cannot tell a small sibling from a parent).
    static func offPath(_ x: TensorView, between u: TensorView, _ v: TensorView) throws -> Int {
        guard comparable(x, u, v) else { return 0 }
        return offPath(try sampledRows(x), between: try sampledRows(u), try sampledRows(v), columns: u.shape[1])
    }

    /// `offPath` over the `sample` rows of three tensors of one shape (`sampledRows`).
    static func offPath(_ x: Rows, between u: Rows, _ v: Rows, columns: Int) -> Int {
        let tolerance = tolerance(x, u, v)
        var scaled: [(alpha: Double, touched: Bool)] = []
        for start in stride(from: 0, to: u.values.count, by: columns) {
            let row = start..<(start + columns)
            guard let uv = fit(u.values[row], v.values[row]), uv.residual <= tolerance, let ux = fit(u.values[row], x.values[row]) else { continue }
            scaled.append((uv.alpha, ux.residual > touchedMargin * tolerance))
        }
        guard scaled.count >= minimumRows else { return 0 }
        let common = scaled.map(\.alpha).median!, spread = spread(tolerance, columns: columns)
        return scaled.filter { $0.touched && Swift.abs($0.alpha - common) <= spread }.count
    }

    /// A tensor's `sample` rows, decoded one after another, and the relative rounding of the grid
    /// their values lie on.
    struct Rows {
        var values: [Float]
        var roundoff: Double
    }

    /// The relative rounding of the grid `values` lie on: the stored type's, or a coarser one's
    /// when every value is one of its values — BF16 (the low 16 bits of each F32 pattern zero) or
    /// F16. A model cast to BF16 and saved again as F32 (`model.float()`, a conversion script)
    /// holds BF16 values in an F32 file, and its scaled rows are rounded to BF16's grid: at F32's
    /// tolerance they would look trained (measured: a false latent parent above the root of
    /// every synthetic family of `tools/measure_adapter_attachment.py`, whose BF16 fine-tunes are
    /// saved that way).
    static func roundoff(of values: [Float], stored: Double) -> Double {
        Swift.max(stored, FloatGrids.narrowest(values)?.unitRoundoff ?? 0)
    }

    /// The `sample` rows of a 2-D tensor (`Rows`).
    static func sampledRows(_ t: TensorView) throws -> Rows {
        let columns = t.shape[1]
        let picked = sample(rows: t.shape[0])
        var rows = [Float](repeating: 0, count: picked.count * columns)
        try rows.withUnsafeMutableBufferPointer { out in
            for (k, r) in picked.enumerated() {
                try t.decode((r * columns)..<((r + 1) * columns), into: out.baseAddress! + k * columns)
            }
        }
        return Rows(values: rows, roundoff: roundoff(of: rows, stored: t.unitRoundoff))
    }

    /// One pair's verdict: `ancestor`'s rows, scaled by `scaling.factor` < 1, are `descendant`'s
    /// (the factor is the descendant's over the ancestor's, whichever way the pair was read).
    struct Order: Equatable, Sendable {
        var ancestor: Int
        var descendant: Int
        var scaling: Scaling
    }

    /// Models nearest each model whose pair is tested first: its parent is nearly always among
    /// them (a fine-tune is nearer its parent than its siblings and grandparent are); the tree's
    /// edges and runners-up are tested next (`RelationAnalysis`).
    static let neighbours = 3
    /// Solves after the first that test the new tree's edges and runners-up, at most: each adds
    /// only pairs not tested before, and a tree whose pairs add nothing ends it.
    static let rounds = 3

    /// The test over one architecture group's models, each pair read at most once.
    final class Tester {
        let models: [Model]
        /// The lookup tables read (`lookupTables`), never empty.
        let tables: [String]
        private var tested: Set<[Int]> = []

        /// Nil when the models have no lookup table: nothing is read.
        init?(models: [Model], tensors names: [String]) {
            guard let first = models.first else { return nil }
            let tables = UntouchedRows.lookupTables(first, among: names)
            guard !tables.isEmpty else { return nil }
            self.models = models
            self.tables = tables
        }

        /// The decisive verdicts of the pairs (model indices, either order) not tested before. A
        /// pair whose tables disagree (one decisive one way, one the other) says nothing.
        func orders(_ pairs: [(Int, Int)]) throws -> [Order] {
            var result: [Order] = []
            for (x, y) in pairs where x != y && tested.insert([Swift.min(x, y), Swift.max(x, y)]).inserted {
                let (a, b) = (Swift.min(x, y), Swift.max(x, y))
                var verdicts: [Scaling] = []
                for name in tables {
                    guard let ta = models[a].tensor(named: name), let tb = models[b].tensor(named: name),
                          UntouchedRows.comparable(ta, tb),
                          let s = UntouchedRows.measure(try rows(a, name), try rows(b, name), of: ta, tb) else { continue }
                    verdicts.append(s)
                }
                let decisive = verdicts.filter(\.decisive)
                guard let best = decisive.max(by: { ($0.scaled, $1.tensor) < ($1.scaled, $0.tensor) }),
                      decisive.allSatisfy({ ($0.factor < 1) == (best.factor < 1) }) else { continue }
                if best.factor < 1 {
                    result.append(Order(ancestor: a, descendant: b, scaling: best))
                } else {
                    var reversed = best
                    reversed.factor = 1 / best.factor
                    result.append(Order(ancestor: b, descendant: a, scaling: reversed))
                }
            }
            return result
        }

        /// `offPath` over the lookup tables (the most rows any says): rows showing model `x` is
        /// not on the path between models `u` and `v`.
        func offPathRows(_ x: Int, between u: Int, _ v: Int) throws -> Int {
            try tables.map { name in
                guard let tx = models[x].tensor(named: name), let tu = models[u].tensor(named: name),
                      let tv = models[v].tensor(named: name), UntouchedRows.comparable(tx, tu, tv) else { return 0 }
                return UntouchedRows.offPath(try rows(x, name), between: try rows(u, name), try rows(v, name), columns: tu.shape[1])
            }.max() ?? 0
        }

        /// Decoded rows kept, at most (bytes): a model's rows are read once while they fit (a model
        /// is in several tested pairs, and one of many children is in a triangle with each pair of
        /// them), else again each time.
        static let keptBytes = 1 << 28
        private var kept: [String: Rows] = [:]
        private var keptCount = 0

        /// `sampledRows` of model `m`'s table `name` (a tensor `tables` names, which it holds).
        private func rows(_ m: Int, _ name: String) throws -> Rows {
            let key = "\(m) \(name)"
            if let r = kept[key] { return r }
            let r = try UntouchedRows.sampledRows(models[m].tensor(named: name)!)
            if 4 * (keptCount + r.values.count) <= Self.keptBytes {
                kept[key] = r
                keptCount += r.values.count
            }
            return r
        }

        /// Each of `members` with its `neighbours` nearest other members by `distance` (indexed
        /// like `members`).
        static func nearestPairs(_ members: [Int], distance: SquareMatrix<Double>) -> [(Int, Int)] {
            members.indices.flatMap { c in
                members.indices.filter { $0 != c }.sorted { (distance[$0, c], $0) < (distance[$1, c], $1) }
                    .prefix(neighbours).map { (members[c], members[$0]) }
            }
        }
    }
}

extension UntouchedRows.Order {
    /// Why the edge's direction is known, for the graph's warnings (`ids`: the models' ids).
    func note(_ ids: [String]) -> String {
        "edge '\(ids[ancestor])' → '\(ids[descendant])': \(scaling.scaled) of \(scaling.rows) rows of '\(scaling.tensor)' are the parent's "
            + "scaled by \(Formatting.significant(scaling.factor, 6)) (weight decay on rows the training never updated): "
            + "the direction is the weights'"
    }
}
