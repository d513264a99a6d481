/// Models that are an affine combination of two or more others — linear averages and model
/// soups, task arithmetic `base + Σ λᵢ(Aᵢ − base)` (the base's coefficient is 1 − Σ λᵢ), SLERP
/// (a linear interpolation to within its curvature) — found from the squared distances the pass
/// already measured, with no second pass over the weights.
///
/// Why from distances: under an inner product, ⟨a − r, b − r⟩ = (d²(a, r) + d²(b, r) − d²(a, b)) / 2,
/// so the least-squares fit child ≈ Σ cᵢ Pᵢ with Σ cᵢ = 1 (the Gram matrix of the parents
/// about one of them) and its residual follow from `RelationEvidence.PairBlock.meanSquare` (mean
/// over tensors of the mean squared difference, an inner product's squared norm; the reported
/// RMS metric, a mean of square roots, is not one). Why affine and positive: a merge lies inside
/// its parents' hull. Any affine dependence among models can be solved for each of them — the
/// base is `(child − Σ λᵢAᵢ) / (1 − Σ λᵢ)` — but only the merge has every coefficient positive
/// (solved for a parent the others turn negative), which picks the child; extrapolating task
/// arithmetic (Σ λᵢ > 1) is outside this rule and stays a fine-tune. Why a residual ratio: a
/// merge is explained to within its storage rounding, a fine-tune carries an update of its own
/// that no combination of others explains; the fit's residual over the child's distance to its
/// nearest model (`residualRatio`) separates them by an order of magnitude (measured, see
/// there). TIES and DARE trim or drop most of their parents' updates element by element: that
/// noise is as large as a fine-tune's own update, so this geometric test does not see them.
enum Merges {
    /// One merge: the child, its parents with their fitted coefficients (summing to 1, largest
    /// first), and how well the combination explains it.
    struct Merge: Equatable {
        var child: Int
        var parents: [Int]
        var coefficients: [Double]
        /// √ of the fit's mean squared residual (the units of `meanSquare`'s square root).
        var residual: Double
        /// `residual` over the child's distance (same units) to its nearest candidate parent.
        var ratio: Double
        /// Per parent: the residual of the best fit without it (the parent's own necessity;
        /// a single remaining parent's is its distance).
        var without: [Double]

        /// Adds a trimmed merge's base that the fit gives no share: coefficient 0, last; the fit
        /// is no evidence for it (its `without` is the residual itself: confidence 0), the
        /// values the merge keeps of it are (`TrimmedMerges`).
        mutating func listing(base: Int) {
            parents.append(base)
            coefficients.append(0)
            without.append(residual)
        }
    }

    /// The residual ratio below which a combination counts as a merge.
    ///
    /// Measured (issue 12), as the best fit with positive coefficients of 2 or 3 of a model's 12
    /// nearest others (of up to 5: `maximumParents`): exact combinations stored in BF16 fit to
    /// 0.017 (task arithmetic), 0.051 (linear) and 0.13 (SLERP, its curvature) of their nearest
    /// model's distance on zoo 1, and to 0.03–0.08 on synthetic families of Laplace weights and
    /// updates (the residual is BF16 rounding; `Tests/ModelTreeTests/TypedStructureTests.swift`
    /// builds such). Every model that is not such a merge fits at 0.48 or more: on zoo 1 its root and fine-tunes at 0.79–1.0, its
    /// TIES merge at 0.60 and DARE merge at 0.94 (their trimming and dropout noise is as large as
    /// an update); on the synthetic families 0.48 and more. The threshold is the geometric middle
    /// of the gap between 0.13 and 0.48, 0.25: a factor 1.9 from either side.
    static let residualRatio = 0.25

    /// The fewest elements compared (over all tensors) for merges to be sought: a fit to k
    /// parents explains about (k − 1) / D of an unrelated model in D dimensions by chance, and
    /// with few elements any model is a combination of others (n models span n − 1 dimensions).
    /// From 256, the best of the 1573 fits explains a few per cent by chance, far from the
    /// 94 % (`residualRatio`²) a merge needs.
    static let minimumElements = 256

    /// Candidate parents per child: its nearest models (every subset of up to `maximumParents`
    /// of them is fitted: 1573 fits of at most 4 unknowns for 12 and 5).
    static let neighbours = 12

    /// The most parents one merge is searched with: task arithmetic of four fine-tunes on their
    /// base. Measured (issue 12, numpy over zoo 1's square matrices and synthetic families of a
    /// Laplace base with fine-tunes sharing half or 0.9 of their update's direction, fine-tunes
    /// of fine-tunes, light fine-tunes and siblings, merged by mergekit's formulas and stored
    /// BF16): the best fit with positive coefficients of a model that is no exact merge stays at
    /// 0.60 (TIES) and 0.64 (a fine-tune beside its light child) of its nearest distance or more
    /// for every size from 2 to 5, so more parents find no chance merge under `residualRatio`;
    /// 4- and 5-parent task arithmetic fits to 0.07–0.10.
    static let maximumParents = 5

    /// How much more the fit without one of its parents must leave unexplained for that parent
    /// to be listed (every parent needed; a trimmed merge's base is exempt, `TrimmedMerges`
    /// finds it). Measured as above, as the residual without the parent over the residual with
    /// it: a parent added to a merge's true set (a fine-tune, another merge, a sibling) gains at
    /// most 1.0074 (SLERP's curvature; 1.0010 elsewhere), a true parent at least 2.74 in exact
    /// merges (task arithmetic's λ = 0.1 parent; 4× as the rule used to be dropped it, and a
    /// base of coefficient 0.1 at 3.26) and 1.074 in trimmed ones (zoo 1's DARE, whose dropout
    /// noise is as large as an update). The threshold is the geometric middle of 1.0074 and
    /// 1.074, 1.04; what tells a merge from a fine-tune is `residualRatio`, not this.
    static let parentGain = 1.04

    /// Residuals below this fraction of the nearest distance are the pass's arithmetic, not the
    /// merge's rounding (an F32 merge of F32 parents): a parent's gain is measured against it, so
    /// that a superfluous parent cannot gain by noise.
    static let residualFloor = 0.005

    /// The merges among `children`, each a combination of `parents` (indices into `meanSquare`,
    /// a block's `meanSquare` matrix).
    ///
    /// Greedy, best explained first: the child with the smallest residual ratio under the
    /// threshold is taken, then leaves the candidate parents of the rest (so no merge is the
    /// parent of one found before it, and the result is acyclic); repeated until no child
    /// qualifies. A child's set of parents is the best-fitting subset whose coefficients are all
    /// positive and whose every parent is needed (`parentGain`): a parent whose coefficient is
    /// noise is not listed, a base whose coefficient is 1 − Σ λᵢ is (zoo 1's task arithmetic:
    /// 0.016 with its base, 0.235 without).
    ///
    /// A child found so that keeps a base's values (`bases`, from `TrimmedMerges`, the most
    /// retained first) lists that base too, at coefficient 0 (`withRetainedBase`).
    ///
    /// Then the trimmed merges (TIES, DARE): a child that keeps a base's values is a merge of
    /// that base and the others of the best fit that contains it (up to `maximumParents`), when
    /// that fit explains it better than its nearest model does (ratio below 1: a fine-tune of
    /// the base is explained by the base alone); taken best explained first, as above.
    static func find(meanSquare d2: SquareMatrix<Double>, children: [Int], parents: [Int],
                     bases: [Int: [Int]] = [:]) -> [Merge] {
        var remaining = children
        var candidates = parents
        var found: [Merge] = []
        func accept(_ fitted: (Int) -> Merge?) {
            while true {
                var best: Merge?
                for c in remaining {
                    guard let m = fitted(c) else { continue }
                    if best.map({ (m.ratio, m.child) < ($0.ratio, $0.child) }) ?? true { best = m }
                }
                guard let merge = best else { break }
                found.append(merge)
                remaining.removeAll { $0 == merge.child }
                candidates.removeAll { $0 == merge.child }
            }
        }
        accept { c in
            bestFit(child: c, among: candidates.filter { $0 != c }, meanSquare: d2)
                .map { withRetainedBase($0, bases: (bases[c] ?? []).filter(candidates.contains), meanSquare: d2) }
        }
        accept { c in
            let retained = (bases[c] ?? []).filter(candidates.contains)
            return retained.compactMap { trimmedFit(child: c, base: $0, among: candidates.filter { $0 != c }, meanSquare: d2) }
                .min { $0.residual < $1.residual }
                .map { withRetainedBase($0, bases: retained, meanSquare: d2) }
        }
        return found.sorted { $0.child < $1.child }
    }

    /// `merge` with the most retained of `bases` that is not among its parents added at
    /// coefficient 0 (`Merge.listing`), when the fit can tell it from each of them: farther from
    /// every parent than the fit's residual. A TIES merge keeps its base's values where every
    /// update was trimmed, and its parents' where only theirs survived, so both are retained;
    /// a fit that gives the base no share (a TIES of weights summing to 1, or one whose
    /// trimming left little out and fits as an exact merge of its other parents) still lists
    /// it. A model the fit cannot tell from a parent is that parent's stand-in, not a base: a
    /// light fine-tune of the base keeps the base's rounded values too (zoo 1's F32 `lm-a-light`,
    /// 0.00026 from `lm-a` against its TIES merge's residual 0.0022).
    static func withRetainedBase(_ merge: Merge, bases: [Int], meanSquare d2: SquareMatrix<Double>) -> Merge {
        let r2 = merge.residual * merge.residual
        guard let base = bases.first(where: { b in !merge.parents.contains(b) && merge.parents.allSatisfy { d2[b, $0] > r2 } })
        else { return merge }
        var m = merge
        m.listing(base: base)
        return m
    }

    /// The best fit of `child` from `base` and 1 to `maximumParents` − 1 of its nearest others
    /// with positive coefficients, every other needed, when it explains the child better than
    /// its nearest model; nil otherwise.
    ///
    /// The base's coefficient may come out at or below 0: TIES with weights summing to 1
    /// (mergekit's normalisation) puts the base's share at 0, and where one parent's update
    /// alone survives the trimming the child takes all of it, so the fit gives the others more
    /// than their weights and the base a negative share (synthetic TIES of two fine-tunes at
    /// 0.5 / 0.5, density 0.7: −0.04 to −0.31). The others are then fitted alone; the caller
    /// lists the base at 0 (`withRetainedBase`): its retained values, not the fit, make it a parent.
    static func trimmedFit(child c: Int, base: Int, among: [Int], meanSquare d2: SquareMatrix<Double>) -> Merge? {
        let near = among.filter { $0 != base }.sorted { (d2[c, $0], $0) < (d2[c, $1], $1) }.prefix(neighbours)
        guard let first = among.min(by: { (d2[c, $0], $0) < (d2[c, $1], $1) }) else { return nil }
        let nearest = d2[c, first].squareRoot()
        guard nearest > 0 else { return nil }
        var best: Merge?
        for size in 1..<maximumParents where size <= near.count {
            for others in subsets(of: Array(near), size: size) {
                guard let (coefficients, _) = fit(child: c, parents: [base] + others, meanSquare: d2),
                      coefficients.dropFirst().allSatisfy({ $0 > 0 }) else { continue }
                let candidate = coefficients[0] > 0
                    ? qualified(child: c, parents: [base] + others, nearest: nearest, limit: nearest, exempt: base, meanSquare: d2)
                    : others.count > 1 ? qualified(child: c, parents: others, nearest: nearest, limit: nearest, meanSquare: d2) : nil
                if let m = candidate, m.residual < (best?.residual ?? .infinity) { best = m }
            }
        }
        return best
    }

    /// The best qualifying combination explaining `child` from `among`, nil when none qualifies.
    static func bestFit(child c: Int, among: [Int], meanSquare d2: SquareMatrix<Double>) -> Merge? {
        let near = among.sorted { (d2[c, $0], $0) < (d2[c, $1], $1) }.prefix(neighbours)
        guard near.count >= 2, let first = near.first else { return nil }
        let nearest = d2[c, first].squareRoot()
        guard nearest > 0 else { return nil }
        // Screen: the affine fit to all the candidates, signs free, leaves no more than any
        // subset's fit does; when even it is above the limit (every fine-tune of a family:
        // its own update is no combination of others) none of the 1573 subsets is fitted.
        // This keeps the 5-parent search from costing the n = 128 family ~0.1 s of its 0.4 s.
        if let all = fit(child: c, parents: Array(near), meanSquare: d2), all.residual2.squareRoot() > residualRatio * nearest {
            return nil
        }
        var best: Merge?
        for size in 2...Swift.min(maximumParents, near.count) {
            for subset in subsets(of: Array(near), size: size) {
                guard let m = qualified(child: c, parents: subset, nearest: nearest, limit: residualRatio * nearest, meanSquare: d2),
                      m.residual < (best?.residual ?? .infinity) else { continue }
                best = m
            }
        }
        return best
    }

    /// The fit of `child` from `parents` as a merge, when its coefficients are all positive, its
    /// residual at most `limit` and every parent but `exempt` needed (`parentGain`); nil
    /// otherwise. Parents are listed by coefficient, largest first.
    static func qualified(child c: Int, parents subset: [Int], nearest: Double, limit: Double, exempt: Int? = nil,
                          meanSquare d2: SquareMatrix<Double>) -> Merge? {
        guard let (coefficients, residual2) = fit(child: c, parents: subset, meanSquare: d2),
              coefficients.allSatisfy({ $0 > 0 }) else { return nil }
        let residual = residual2.squareRoot()
        guard residual <= limit, residual < nearest else { return nil }
        let without = subset.indices.map { k -> Double in
            let rest = subset.enumerated().filter { $0.offset != k }.map(\.element)
            return rest.count == 1 ? d2[c, rest[0]].squareRoot() : (fit(child: c, parents: rest, meanSquare: d2).map { $0.residual2.squareRoot() } ?? .infinity)
        }
        let floor = Swift.max(residual, residualFloor * nearest)
        guard subset.indices.allSatisfy({ subset[$0] == exempt || without[$0] >= parentGain * floor }) else { return nil }
        let order = subset.indices.sorted { (-coefficients[$0], subset[$0]) < (-coefficients[$1], subset[$1]) }
        return Merge(child: c, parents: order.map { subset[$0] }, coefficients: order.map { coefficients[$0] },
                     residual: residual, ratio: residual / nearest, without: order.map { without[$0] })
    }

    /// The affine least-squares fit child ≈ Σ cᵢ Pᵢ (Σ cᵢ = 1) and its squared residual, from
    /// squared distances alone; nil when the parents are affinely dependent (a singular Gram
    /// matrix: two parents at the same point).
    ///
    /// With r = parents[0] and vᵢ = Pᵢ − r: G aᵢ = b, Gᵢⱼ = ⟨vᵢ, vⱼ⟩, bᵢ = ⟨vᵢ, child − r⟩, each
    /// from the polarisation identity; c₀ = 1 − Σ aᵢ; residual² = ‖child − r‖² − bᵀa.
    static func fit(child c: Int, parents: [Int], meanSquare d2: SquareMatrix<Double>) -> (coefficients: [Double], residual2: Double)? {
        let r = parents[0], v = Array(parents.dropFirst())
        let m = v.count
        var g = [Double](repeating: 0, count: m * m), b = [Double](repeating: 0, count: m)
        for i in 0..<m {
            for j in 0..<m { g[i * m + j] = (d2[v[i], r] + d2[v[j], r] - d2[v[i], v[j]]) / 2 }
            b[i] = (d2[v[i], r] + d2[c, r] - d2[v[i], c]) / 2
        }
        guard let a = solvePositiveDefinite(g, b, m) else { return nil }
        var explained = 0.0
        for i in 0..<m { explained += b[i] * a[i] }
        return ([1 - a.reduce(0, +)] + a, Swift.max(0, d2[c, r] - explained))
    }

    /// Solves G x = b for a symmetric positive definite m × m G by Cholesky; nil when a pivot
    /// falls below 1e-9 of G's largest diagonal element (the parents are nearly dependent and the
    /// coefficients would be noise).
    static func solvePositiveDefinite(_ g: [Double], _ b: [Double], _ m: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: m * m)
        let scale = (0..<m).map { g[$0 * m + $0] }.max() ?? 0
        guard scale > 0 else { return nil }
        for j in 0..<m {
            var s = g[j * m + j]
            for k in 0..<j { s -= l[j * m + k] * l[j * m + k] }
            guard s > 1e-9 * scale else { return nil }
            l[j * m + j] = s.squareRoot()
            for i in (j + 1)..<m {
                var t = g[i * m + j]
                for k in 0..<j { t -= l[i * m + k] * l[j * m + k] }
                l[i * m + j] = t / l[j * m + j]
            }
        }
        var y = b
        for i in 0..<m {
            for k in 0..<i { y[i] -= l[i * m + k] * y[k] }
            y[i] /= l[i * m + i]
        }
        for i in stride(from: m - 1, through: 0, by: -1) {
            for k in (i + 1)..<m { y[i] -= l[k * m + i] * y[k] }
            y[i] /= l[i * m + i]
        }
        return y
    }

    /// Every subset of `items` of `size` elements, in lexicographic order of positions.
    static func subsets(of items: [Int], size: Int) -> [[Int]] {
        guard size <= items.count else { return [] }
        var result: [[Int]] = [], current: [Int] = []
        func extend(_ from: Int) {
            if current.count == size { result.append(current); return }
            guard from < items.count else { return }
            for k in from..<items.count where items.count - k >= size - current.count {
                current.append(items[k]); extend(k + 1); current.removeLast()
            }
        }
        extend(0)
        return result
    }
}
