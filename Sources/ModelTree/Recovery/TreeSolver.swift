/// Orients and connects the models of one tree (Horwitz et al. 2025, step 4), and measures how
/// sure each edge is.
///
/// The tree is the minimum spanning arborescence of `M = D + λ · mean(D) · K` (Chu-Liu/Edmonds),
/// where `K[i][j]` in [0, 1] says how much the evidence disagrees with "i is the parent of j".
///
/// The paper sets `K[i][j]` to 1 when one kurtosis per model is in the wrong order. Here `K[i][j]`
/// is the mean of two per-tensor votes (`DirectionEvidence`): the fraction of tensors whose
/// kurtosis is in the wrong order for the tree's direction mode, and the fraction whose norm is
/// (a child's is the larger, in either mode); ties count half. When every tensor agrees on both
/// this is the paper's K; a near-tie costs half a penalty instead of a whole one.
///
/// Where the weights order a pair outright (`UntouchedRows`: rows of the descendant are the
/// ancestor's scaled by weight decay), that order overrides both votes, in either mode: K is 0
/// for ancestor → descendant and 1 for the reverse. Those pairs also choose the mode under
/// `auto`: the one whose kurtosis order agrees more with them (a kurtosis vote cannot order a
/// light fine-tune; it can still say which way kurtosis moves in a family whose pairs are known).
struct TreeSolver {
    /// Distances between the tree's members.
    var distance: SquareMatrix<Double>
    /// Excess kurtosis per member (outer) and direction tensor (inner); NaN where undefined.
    var kurtosis: [[Double]]
    /// Squared norm per member and direction tensor; NaN where undefined.
    var sumSquares: [[Double]]
    var lambda: Double
    /// Pairs [ancestor, descendant] (local indices) whose order the weights decide.
    var known: Set<[Int]> = []

    var size: Int { kurtosis.count }

    struct Solution {
        var parent: [Int]          // local indices, −1 for the root
        var confidence: [Double]   // NaN for the root
        /// Each child's parent in the best tree without its chosen edge (`confidences`); −1 for
        /// the root, for a child that tree makes the root, and for a member outside
        /// `confidenceFor`.
        var runnerUp: [Int]
        var direction: DirectionMode
        var directionUnsure: Bool
    }

    /// Trees up to this size get exact confidences (one constrained arborescence per edge, O(s⁴)
    /// in all); larger ones compare each chosen parent with the runner-up only.
    static let exactConfidenceLimit = 200

    /// - Parameter confidenceFor: the members (local indices) whose edge confidence is wanted;
    ///   nil: every member's. The others get NaN (a parent query needs one edge's, and exact
    ///   confidences cost one constrained arborescence each).
    func solve(direction requested: DirectionMode, confidenceFor: Set<Int>? = nil) throws -> Solution {
        let s = size
        if s == 1 {
            return Solution(parent: [-1], confidence: [.nan], runnerUp: [-1], direction: requested == .auto ? .finetune : requested,
                            directionUnsure: requested == .auto)
        }
        var best: (mode: DirectionMode, cost: SquareMatrix<Double>, parent: [Int], total: Double)?
        var unsure = false
        let told = requested == .auto ? modeOfKnownPairs().mode : nil
        let modes: [DirectionMode] = requested != .auto ? [requested] : told.map { [$0] } ?? [.finetune, .generalization]
        for mode in modes {
            let m = objective(mode)
            guard let parent = Arborescence.minimum(cost: m) else {
                throw ModelTreeError.internal("no spanning arborescence over a complete graph")
            }
            let total = Self.cost(parent, m)
            if let b = best {
                // Auto: the orientation whose best tree needs fewer kurtosis violations (lower
                // total objective) wins. Equal totals — a chain reads the same both ways — cannot
                // be told apart: keep fine-tuning, the common case on hubs, and say so.
                let tie = Swift.abs(total - b.total) <= 1e-9 * Swift.max(1, Swift.abs(b.total))
                if tie { unsure = true } else if total < b.total { best = (mode, m, parent, total) }
            } else {
                best = (mode, m, parent, total)
            }
        }
        let chosen = best!
        let (confidence, runnerUp) = confidences(chosen.parent, chosen.cost, chosen.total, only: confidenceFor)
        return preferringAncestors(Solution(parent: chosen.parent, confidence: confidence, runnerUp: runnerUp, direction: chosen.mode,
                                            directionUnsure: unsure))
    }

    /// An unsure edge p → j whose runner-up is p's own parent q, where the weights order q before
    /// p (`known`) and not j before q, hangs from q instead, still unsure, p its runner-up: the
    /// tree cannot tell the two parents apart, and of a model and its light fine-tune the model
    /// is more often the parent of the rest (`NearIdenticalCandidates`; zoo 1's full fine-tunes
    /// sat under lm-a's 40-step fine-tune by 1e-5 of distance).
    func preferringAncestors(_ solution: Solution) -> Solution {
        var result = solution
        for j in solution.parent.indices {
            let p = solution.parent[j], q = solution.runnerUp[j]
            guard p >= 0, q >= 0, !(solution.confidence[j] >= unsureConfidence), solution.parent[p] == q,
                  known.contains([q, p]), !known.contains([j, q]) else { continue }
            result.parent[j] = q
            result.runnerUp[j] = p
        }
        return result
    }

    /// The mode whose kurtosis order agrees more with the `known` pairs: the share of their
    /// kurtosis votes (mean over the pairs of the fraction of tensors) that agree under fine-tuning,
    /// and the mode — nil when no pair has votes, or the share is within `modeMargin` of ½.
    func modeOfKnownPairs() -> (mode: DirectionMode?, finetuneShare: Double) {
        var sum = 0.0, count = 0
        for pair in known.sorted(by: { ($0[0], $0[1]) < ($1[0], $1[1]) }) {
            guard let v = votes(parent: pair[0], child: pair[1], .finetune).kurtosis else { continue }
            sum += v.agreeing / Double(v.total)
            count += 1
        }
        guard count > 0 else { return (nil, .nan) }
        let share = sum / Double(count)
        return (Swift.abs(share - 0.5) <= Self.modeMargin ? nil : (share > 0.5 ? .finetune : .generalization), share)
    }

    /// Known pairs whose kurtosis votes split this close to even do not choose the mode.
    static let modeMargin = 0.05

    /// M = D + λ · mean(D) · K for one orientation.
    ///
    /// When λ · mean(D) is so large that the costs or their sums over a tree could overflow (λ is
    /// the caller's, up to 1.8e308), every cost is divided by it: M / (λ · mean(D)) =
    /// (D / mean(D)) / λ + K. The trees and the confidences are unchanged by a positive scale;
    /// the default λ on real distances never comes near.
    func objective(_ mode: DirectionMode) -> SquareMatrix<Double> {
        let s = size
        var sum = 0.0
        for i in 0..<s { for j in 0..<s where i != j { sum += distance[i, j] } }
        let mean = sum / Double(s * (s - 1))
        let penalty = lambda * mean
        let direct = penalty * Double(s) <= 1e300          // false for an infinite product too
        var m = SquareMatrix<Double>(count: s, repeating: 0)
        for i in 0..<s {
            for j in 0..<s where i != j {
                let k = disagreement(parent: i, child: j, mode)
                m[i, j] = direct ? distance[i, j] + penalty * k : distance[i, j] / mean / lambda + k
            }
        }
        return m
    }

    /// K[i][j]: how much the evidence disagrees with i → j under `mode`, in [0, 1]: 0 or 1 where
    /// the weights order the pair (`known`), else the mean of the fractions of tensors voting
    /// against it (`votes`).
    func disagreement(parent i: Int, child j: Int, _ mode: DirectionMode) -> Double {
        if known.contains([i, j]) { return 0 }
        if known.contains([j, i]) { return 1 }
        let (kurt, norm) = votes(parent: i, child: j, mode)
        // Votes are multiples of 1/2, so total − agreeing is exactly the count against.
        func against(_ v: ModelGraph.EdgeEvidence.Votes?) -> Double? { v.map { (Double($0.total) - $0.agreeing) / Double($0.total) } }
        switch (against(kurt), against(norm)) {
        case let (k?, n?): return (k + n) / 2
        case let (k?, nil): return k
        case let (nil, n?): return n
        case (nil, nil): return 0
        }
    }

    /// The direction tensors' votes on i → j under `mode`: kurtosis (the parent's higher when
    /// fine-tuning, lower under further general training) and norm (the child's larger). Nil
    /// where no tensor has finite values in both models.
    func votes(parent i: Int, child j: Int, _ mode: DirectionMode)
        -> (kurtosis: ModelGraph.EdgeEvidence.Votes?, norm: ModelGraph.EdgeEvidence.Votes?) {
        (Self.tally(kurtosis[i], kurtosis[j]) { p, c in (mode == .generalization) == (p > c) },
         Self.tally(sumSquares[i], sumSquares[j]) { p, c in p > c })
    }

    /// The finite (parent, child) value pairs, and how many of them agree — `disagrees` does not
    /// hold; ties count half; nil when no pair is finite.
    static func tally(_ parent: [Double], _ child: [Double], disagrees: (Double, Double) -> Bool) -> ModelGraph.EdgeEvidence.Votes? {
        var against = 0.0, count = 0
        for (p, c) in zip(parent, child) where p.isFinite && c.isFinite {
            count += 1
            if p == c { against += 0.5 } else if disagrees(p, c) { against += 1 }
        }
        return count == 0 ? nil : ModelGraph.EdgeEvidence.Votes(agreeing: Double(count) - against, total: count)
    }

    static func cost(_ parent: [Int], _ m: SquareMatrix<Double>) -> Double {
        var total = 0.0
        for (j, p) in parent.enumerated() where p >= 0 { total += m[p, j] }
        return total
    }

    /// Confidence of each edge p → j: how much worse the best tree without that edge is; and
    /// j's parent in that tree, the runner-up (−1 when that tree makes j the root).
    ///
    /// With `margin` = cost(best tree avoiding p → j) − cost(chosen tree) and `e` = M[p][j],
    /// confidence = 1 − (e / (e + margin))². 0 means an equally good tree exists without the edge;
    /// a runner-up parent at √2 times the distance (a sibling under RMS) gives 0.5; a runner-up
    /// twice as far (a sibling under the rank distance) gives 0.75. Forbidding the edge also
    /// lets the solver reverse it, so the margin covers the direction as well as the placement.
    func confidences(_ parent: [Int], _ m: SquareMatrix<Double>, _ total: Double,
                     only: Set<Int>? = nil) -> (confidence: [Double], runnerUp: [Int]) {
        let s = size
        var result = [Double](repeating: .nan, count: s)
        var runnerUp = [Int](repeating: -1, count: s)
        for j in 0..<s where only?.contains(j) ?? true {
            let p = parent[j]
            guard p >= 0 else { continue }
            let e = m[p, j]
            var margin: Double
            if s <= Self.exactConfidenceLimit {
                var constrained = m
                constrained[p, j] = .infinity
                if let alt = Arborescence.minimum(cost: constrained) {
                    margin = Self.cost(alt, constrained) - total
                    runnerUp[j] = alt[j]
                } else {
                    margin = .infinity
                }
            } else {
                var best = Double.infinity
                for k in 0..<s where k != p && k != j && m[k, j] < best { best = m[k, j]; runnerUp[j] = k }
                margin = best - e
            }
            margin = Swift.max(0, margin)
            if margin.isInfinite { result[j] = 1; continue }
            if e + margin <= 0 { result[j] = 0; continue }
            let ratio = e / (e + margin)
            result[j] = Swift.min(1, Swift.max(0, 1 - ratio * ratio))
        }
        return (result, runnerUp)
    }
}
