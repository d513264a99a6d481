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
    }

    /// The residual ratio below which a combination counts as a merge.
    ///
    /// Measured (issue 12), as the best fit with positive coefficients of 2 or 3 of a model's 12
    /// nearest others: exact combinations stored in BF16 fit to 0.017 (task arithmetic), 0.051
    /// (linear) and 0.13 (SLERP, its curvature) of their nearest model's distance on zoo 1, and to
    /// 0.03–0.08 on synthetic families of Laplace weights and updates (the residual is BF16
    /// rounding; `Tests/ModelTreeTests/TypedStructureTests.swift` builds such). Every model that is
    /// not such a merge fits at 0.48 or more: on zoo 1 its root and fine-tunes at 0.79–1.0, its
    /// TIES merge at 0.60 and DARE merge at 0.94 (their trimming and dropout noise is as large as
    /// an update); on the synthetic families 0.48 and more. The threshold is the geometric middle
    /// of the gap between 0.13 and 0.48, 0.25: a factor 1.9 from either side.
    static let residualRatio = 0.25

    /// Candidate parents per child: its nearest models (every subset of up to `maximumParents`
    /// of them is fitted: 286 fits of at most 2 unknowns for 12 and 3).
    static let neighbours = 12
    /// The most parents one merge is searched with: two and a base, mergekit's common form.
    static let maximumParents = 3

    /// The merges among `children`, each a combination of `parents` (indices into `meanSquare`,
    /// a block's `meanSquare` matrix).
    ///
    /// Greedy, best explained first: the child with the smallest residual ratio under the
    /// threshold is taken, then leaves the candidate parents of the rest (so no merge is the
    /// parent of one found before it, and the result is acyclic); repeated until no child
    /// qualifies. A child's set of parents is the best-fitting subset whose coefficients are all
    /// positive and whose every parent is needed — the fit without it leaves at least
    /// 1 / `residualRatio` times more unexplained, the rule that admits a merge against its
    /// nearest single model applied to each parent: a parent whose coefficient is noise is not
    /// listed, a base whose coefficient is 1 − Σ λᵢ is (zoo 1's task arithmetic: 0.017 with its
    /// base, 0.235 without).
    ///
    /// Then the trimmed merges (TIES, DARE): a child that keeps a base's values (`bases`, from
    /// `TrimmedMerges`) is a merge of that base and the others of the best fit with positive
    /// coefficients that contains it (up to `maximumParents`), when that fit explains it better
    /// than its nearest model does (ratio below 1: a fine-tune of the base is explained by the
    /// base alone); taken best explained first, as above.
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
        accept { c in bestFit(child: c, among: candidates.filter { $0 != c }, meanSquare: d2) }
        accept { c in
            (bases[c] ?? []).filter { candidates.contains($0) }
                .compactMap { trimmedFit(child: c, base: $0, among: candidates.filter { $0 != c }, meanSquare: d2) }
                .min { $0.residual < $1.residual }
        }
        return found.sorted { $0.child < $1.child }
    }

    /// The best fit of `child` with positive coefficients from `base` and up to
    /// `maximumParents` − 1 of its nearest others, when it explains the child better than its
    /// nearest model; nil otherwise.
    static func trimmedFit(child c: Int, base: Int, among: [Int], meanSquare d2: SquareMatrix<Double>) -> Merge? {
        let near = among.filter { $0 != base }.sorted { (d2[c, $0], $0) < (d2[c, $1], $1) }.prefix(neighbours)
        guard let first = among.min(by: { (d2[c, $0], $0) < (d2[c, $1], $1) }) else { return nil }
        let nearest = d2[c, first].squareRoot()
        guard nearest > 0 else { return nil }
        var best: Merge?
        for size in 1..<maximumParents where size <= near.count {
            for others in subsets(of: Array(near), size: size) {
                let subset = [base] + others
                guard let (coefficients, residual2) = fit(child: c, parents: subset, meanSquare: d2),
                      coefficients.allSatisfy({ $0 > 0 }) else { continue }
                let residual = residual2.squareRoot()
                guard residual < nearest, residual < (best?.residual ?? .infinity) else { continue }
                let without = subset.indices.map { k -> Double in
                    let rest = subset.enumerated().filter { $0.offset != k }.map(\.element)
                    return rest.count == 1 ? d2[c, rest[0]].squareRoot() : (fit(child: c, parents: rest, meanSquare: d2).map { $0.residual2.squareRoot() } ?? .infinity)
                }
                let order = subset.indices.sorted { (-coefficients[$0], subset[$0]) < (-coefficients[$1], subset[$1]) }
                best = Merge(child: c, parents: order.map { subset[$0] }, coefficients: order.map { coefficients[$0] },
                             residual: residual, ratio: residual / nearest, without: order.map { without[$0] })
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
        let limit = residualRatio * nearest
        var best: Merge?
        for size in 2...Swift.min(maximumParents, near.count) {
            for subset in subsets(of: Array(near), size: size) {
                guard let (coefficients, residual2) = fit(child: c, parents: subset, meanSquare: d2),
                      coefficients.allSatisfy({ $0 > 0 }) else { continue }
                let residual = residual2.squareRoot()
                guard residual <= limit, residual < (best?.residual ?? .infinity) else { continue }
                // Every parent needed: the fit without it leaves 1 / residualRatio times more
                // unexplained (the same rule as against the nearest single model).
                let without = subset.indices.map { k -> Double in
                    let rest = subset.enumerated().filter { $0.offset != k }.map(\.element)
                    return rest.count == 1 ? d2[c, rest[0]].squareRoot() : (fit(child: c, parents: rest, meanSquare: d2).map { $0.residual2.squareRoot() } ?? .infinity)
                }
                guard without.allSatisfy({ residual <= residualRatio * $0 }) else { continue }
                let order = subset.indices.sorted { (-coefficients[$0], subset[$0]) < (-coefficients[$1], subset[$1]) }
                best = Merge(child: c, parents: order.map { subset[$0] }, coefficients: order.map { coefficients[$0] },
                             residual: residual, ratio: residual / nearest, without: order.map { without[$0] })
            }
        }
        return best
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
