/// The working memory of a recovery, estimated before any weight is read, for
/// `RecoveryOptions.memoryBudget`: what the passes and the graph algorithms allocate besides the
/// weights (which are read in pieces and never held whole, except one tensor per thread by the
/// rank sketches). An upper estimate of the large terms; small objects are left out.
struct WorkingMemory {
    /// Models recovered together (one architecture).
    var models: Int
    /// Elements of the largest tensor the distances read.
    var largestTensor: Int
    /// Shape of that tensor seen as a matrix (rows × columns), for the sketches.
    var largestRows: Int, largestColumns: Int
    /// Tensors whose statistics are kept (distance and direction tensors).
    var tensors: Int
    /// Whether the rank distance may be computed (metric `rank` or `auto`).
    var rank: Bool
    /// Whether the pair pass sums by the Gram form, which keeps centred copies of the blocks
    /// (`PairwiseStatistics.usesGram`).
    var gram: Bool = false

    /// Bytes on `threads` threads.
    func bytes(threads: Int) -> Int {
        let n = models, t = threads
        let pairsBlock = PairwiseStatistics.blockSize(models: n)
        let momentsSize = MemoryLayout<Moments>.stride
        // The pair pass, per thread: staged reads, decoded blocks (and their centred copies and
        // mean for the Gram form), the segment's sums.
        let rows = gram ? 2 * n + 1 : n
        var perThread = n * PairwiseStatistics.stagingBytes(models: n, block: pairsBlock) + rows * (pairsBlock + StreamingPass.rowPad) * 4 + (2 * n * n + n) * 8
        // The moments pass, per thread (it runs after the pair pass has released its own).
        perThread = Swift.max(perThread, StreamingPass.segmentSize * 8 + TensorMoments.block * 4)
        // Partial results in flight: a segment's moments and pair sums for the pair pass.
        let inFlight = StreamingPass.maxBatch * (n * momentsSize + 2 * n * n * 8)
        // Pairwise matrices (statistics, their sums, distances, the graph's copy, similarity,
        // the arborescence's working copy and a tree's cost matrices).
        let matrices = 24 * n * n * 8
        // Moments and per-tensor values kept for every tensor and model.
        let perTensor = tensors * n * (momentsSize + 3 * 8)
        var total = t * perThread + inFlight + matrices + perTensor
        if rank {
            // Per thread one tensor decoded, reoriented and converted (Float, Float, Double) and
            // its sketch products; the reference tensor; the random matrices; every model's sketch.
            let sketchRows = RankDistances.sketchColumns + RankDistances.extraRows
            let sketch = sketchRows * RankDistances.sketchColumns * 8
            total += t * (largestTensor * 16 + largestRows * RankDistances.sketchColumns * 8 + sketch)
            total += largestTensor * 4 + (largestRows + largestColumns) * sketchRows * 8
            total += n * (sketch + RankDistances.smallRows * RankDistances.smallColumns * 8)
        }
        return total
    }

    /// The most threads, up to `threads`, whose estimate fits `budget`.
    /// - Throws: `.outOfMemory` when not even one thread fits, naming both figures.
    func threads(upTo threads: Int, budget: Int?) throws -> Int {
        guard let budget else { return threads }
        var t = threads
        while t > 1 && bytes(threads: t) > budget { t -= 1 }
        let needed = bytes(threads: t)
        guard needed <= budget else {
            throw ModelTreeError.outOfMemory("memory_budget is \(budget) bytes, and recovering these \(models) models "
                + "needs about \(needed) bytes of working memory on one thread (largest tensor: \(largestTensor) elements)")
        }
        return t
    }
}
