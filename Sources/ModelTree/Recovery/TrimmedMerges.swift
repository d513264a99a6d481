/// The evidence of TIES and DARE merges that distances alone do not give: the share of a model's
/// elements that sit exactly at another model's value (rounded to the model's own grid) —
/// that model being the merge's base.
///
/// Why: TIES trims each parent's update `Pᵢ − base` to its largest entries and DARE drops
/// entries at random, so at every element where all parents' updates were cut the merge *is*
/// the base (stored on its grid): about (1 − density)² of the elements for two parents, spread
/// over every tensor. The remaining noise is as large as an update, so the affine fit of
/// `Merges` explains such a merge no better than a fine-tune (zoo 1: 0.60 and 0.94 of the nearest
/// distance). Training moves every element, so a fine-tune keeps almost none of its parent's
/// values; a layer the training froze keeps all of one tensor and none of another, which the
/// per-tensor minimum tells apart from the merges' spread.
enum TrimmedMerges {
    /// The least share, in every compared tensor, of a model's elements at a candidate base's
    /// values (rounded to the model's grid) that makes the candidate its base. Measured on zoo 1
    /// (issue 12): its TIES merge (density 0.5) keeps 0.249 of the base, its DARE merge (density
    /// 0.6) 0.164; its fine-tunes stored in BF16 at most 0.012 of their parent, the F32 light
    /// fine-tune 0.000, its exact merges (linear, task arithmetic, SLERP) at most 0.018. The
    /// threshold is the geometric middle of 0.018 and 0.164 rounded down, 0.05. A merge whose
    /// parents keep more than 0.95 density each (under 0.05 retained) is not seen.
    static let retainedShare = 0.05

    /// Candidate bases per model: its nearest models that are not copies, as many as the merge
    /// fit's candidates (`Merges.neighbours`; a merge's nearest models are often other merges).
    static let candidates = Merges.neighbours

    /// One model that keeps a candidate base's values at `share` of its elements (the smallest
    /// share over the compared tensors).
    struct Retention: Equatable {
        var child: Int
        var base: Int
        var share: Double
    }

    /// The retentions at or above `retainedShare` among `models` (one architecture group),
    /// testing each model that is not a copy (`copies`) nor a duplicate's other member against
    /// its `candidates` nearest such models. Each tensor is measured on its first
    /// `QuantizedCopies.screenElements` elements (a share over that many is precise to about
    /// 0.004, well inside the gap the threshold sits in).
    /// Elements of the first tensor the screen reads per pair (see `find`).
    static let screenElements = 4096

    static func find(models: [Model], tensors: [String], rms: SquareMatrix<Double>, copies: Set<Int>,
                     threads: Int, kernels: KernelSet) throws -> [Retention] {
        let n = models.count
        let standIn = Duplicates.standIns(groups: Duplicates.groups(count: n, identical: { rms[$0, $1] == 0 }), count: n)
        let eligible = (0..<n).filter { standIn[$0] == $0 && !copies.contains($0) }
        var pairs: [(parent: Int, child: Int)] = []
        for c in eligible {
            let near = eligible.filter { $0 != c }.sorted { (rms[$0, c], $0) < (rms[$1, c], $1) }.prefix(candidates)
            pairs += near.map { ($0, c) }
        }
        guard !pairs.isEmpty else { return [] }
        var least = [Double](repeating: .infinity, count: pairs.count)
        // The share must reach the threshold in every tensor: a pair below it in one is out, and
        // is not read in the next (a fine-tune keeps ≤ 0.012 of its parent's values, so nearly
        // every pair of a collection without such merges is settled by its first tensor).
        var open = Array(pairs.indices)
        // First a screen on `screenElements` of the first tensor, at half the threshold: a share
        // measured on 4096 elements is within ±0.01 of the whole segment's at the shares that
        // matter (binomial, 3σ at 0.05), so no pair that could reach the threshold is dropped.
        if let first = tensors.first {
            let fits = try GridEvidence.gather(models: models, pairs: pairs, tensorNames: [first],
                                               prefix: screenElements, threads: threads, kernels: kernels)
            open.removeAll { fits[$0].compared > 0 && fits[$0].retainedShare < retainedShare / 2 }
        }
        for name in tensors where !open.isEmpty {
            let fits = try GridEvidence.gather(models: models, pairs: open.map { pairs[$0] }, tensorNames: [name],
                                               prefix: QuantizedCopies.screenElements, threads: threads, kernels: kernels)
            for (k, fit) in zip(open, fits) where fit.compared > 0 { least[k] = Swift.min(least[k], fit.retainedShare) }
            open.removeAll { least[$0] < retainedShare }
        }
        return zip(pairs, least).compactMap { pair, share in
            share.isFinite && share >= retainedShare ? Retention(child: pair.child, base: pair.parent, share: share) : nil
        }
    }
}
