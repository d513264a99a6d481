/// The distances a recovery builds its trees on, in the metric asked for or, with `auto`, the one
/// the data calls for: one matrix per measured block of the evidence (`RelationEvidence`).
enum Distances {
    /// - `rms`, `max`: read from the evidence (`max` only where it was measured).
    /// - `rank`: the LoRA distance over every measured pair (`rankMatrices`).
    /// - `auto`: `rank` when every model's nearest neighbour under RMS differs from it by a
    ///   low-rank update (rank ≤ half the smaller side, and below the evidence's rank capacity) in
    ///   every tensor, and some difference is not zero (a LoRA family); `rms` otherwise. A model
    ///   alone in its block has its nearest neighbour among unrelated models, whose difference
    ///   is full rank: it makes the group `rms` (with one block — the exact pass — this is the
    ///   plain rule). A neighbour within storage rounding (an export) does not count as the
    ///   nearest, and models stored coarser than BF16 (block quantizations) take no part in the
    ///   test when others do. The test stops at the first rank above its limit, so a full fine-tune costs
    ///   one pair's column subset; while it holds, the ranks of every pair come from the same
    ///   sketches (`RankEvidence.screenedRanks`).
    /// - Parameter progress: the fraction of this stage done, with the stage's name; throws to stop.
    /// - Returns: the metric used, one matrix per block (local indices) and, under `rank`, per
    ///   block the largest rank of each pair's difference over the tensors (evidence for the
    ///   edges: a merged LoRA adapter's r).
    static func matrices(_ requested: Metric, evidence: RelationEvidence, threads: Int,
                         progress: (Double, String) throws -> Void)
        throws -> (metric: Metric, distances: [SquareMatrix<Double>], largestRanks: [SquareMatrix<Int>]?) {
        let blocks = evidence.blocks
        switch requested {
        case .rms: return (.rms, blocks.map(\.rms), nil)
        case .max:
            let max = blocks.compactMap(\.maxNormalized)
            guard max.count == blocks.count else {
                throw ModelTreeError.invalidArgument("the max metric needs the weights themselves (max |W_a − W_b|), "
                    + "which signatures do not keep; use auto, rms or rank")
            }
            return (.max, max, nil)
        case .rank:
            let pairs = blockPairs(evidence)
            let ranks = try evidence.ranks.ranks(pairs: pairs, threads: threads) { try progress($0, "computing ranks of differences") }
            let (d, largest) = rankMatrices(evidence, ranks: ranks)
            return (.rank, d, largest)
        case .auto:
            guard evidence.count > 1 else { return (.rms, blocks.map(\.rms), nil) }
            // An export (a cast, a GGUF or int8 quantization) differs from its source by storage
            // rounding, which the rank test ignores — and which hides a fine-tune's difference
            // too: a fine-tune whose nearest model is its own export would pass the test. So a
            // pair whose RMS difference is within 4 × the coarser side's rounding of the weights'
            // RMS is no one's nearest pair here, and models stored coarser than BF16 (block
            // quantizations) are not screened, unless all of a block's are.
            let storage = evidence.storage ?? Array(repeating: (0, 0), count: evidence.count)
            let coarse = storage.map { $0.rounding > DType.bf16.unitRoundoff }
            var pairs = Set<Pair>()
            for block in blocks {
                let s = block.members.count
                guard s > 1 else { return (.rms, blocks.map(\.rms), nil) }
                let local = Array(0..<s)
                let screened = local.allSatisfy { coarse[block.members[$0]] } ? local : local.filter { !coarse[block.members[$0]] }
                func withinRounding(_ i: Int, _ j: Int) -> Bool {
                    RelationEvidence.withinRounding(storage[block.members[i]], storage[block.members[j]], rms: block.rms[i, j])
                }
                for i in screened {
                    let others = screened.filter { $0 != i && !withinRounding(i, $0) }
                    guard let j = others.min(by: { block.rms[i, $0] < block.rms[i, $1] }) else { continue }
                    let (a, b) = (block.members[i], block.members[j])
                    pairs.insert(Pair(Swift.min(a, b), Swift.max(a, b)))
                }
            }
            guard !pairs.isEmpty else { return (.rms, blocks.map(\.rms), nil) }
            let nearest = pairs.sorted { ($0.a, $0.b) < ($1.a, $1.b) }
            let limits = lowRankLimits(shapes: evidence.shapes, capacity: evidence.ranks.rankCapacity)
            guard let ranks = try evidence.ranks.screenedRanks(nearest: nearest.map { ($0.a, $0.b) }, limits: limits,
                                                               pairs: blockPairs(evidence), threads: threads, progress: { f in
                                                                   try progress(f, "computing ranks of differences")
                                                               }),
                  ranks.nearest.contains(where: { $0.contains { $0 > 0 } })
            else { return (.rms, blocks.map(\.rms), nil) }
            let (d, largest) = rankMatrices(evidence, ranks: ranks.pairs)
            return (.rank, d, largest)
        }
    }

    /// The largest rank of a difference that still counts as a low-rank update, per tensor: half
    /// the smaller side, and below what the rank evidence can tell from full rank.
    static func lowRankLimits(shapes: [[Int]], capacity: Int) -> [Int] {
        shapes.map { shape in
            let r = shape.first ?? 1, c = shape.dropFirst().reduce(1, *)
            return Swift.min(Swift.min(r, c) / 2, capacity - 1)
        }
    }

    /// Every pair of each block, block by block (model indices of the evidence).
    private static func blockPairs(_ evidence: RelationEvidence) -> [(Int, Int)] {
        var pairs: [(Int, Int)] = []
        for block in evidence.blocks {
            for a in 0..<block.members.count {
                for b in (a + 1)..<block.members.count { pairs.append((block.members[a], block.members[b])) }
            }
        }
        return pairs
    }

    /// Per block: Σ over tensors of the rank of the difference (`ranks[p][t]` for the p-th pair
    /// of `blockPairs`), plus RMS / (2 · max RMS of the block) < 1/2 to break the ties that
    /// integer ranks leave (all LoRA children of one parent sit at the same rank); and each
    /// pair's largest rank over the tensors.
    private static func rankMatrices(_ evidence: RelationEvidence, ranks: [[Int]]) -> ([SquareMatrix<Double>], [SquareMatrix<Int>]) {
        var p = 0
        var distances: [SquareMatrix<Double>] = [], largestRanks: [SquareMatrix<Int>] = []
        for block in evidence.blocks {
            let s = block.members.count
            let maxRMS = block.rms.elements.max() ?? 0
            var d = SquareMatrix<Double>(count: s, repeating: 0)
            var largest = SquareMatrix<Int>(count: s, repeating: 0)
            for a in 0..<s {
                for b in (a + 1)..<s {
                    let tie = maxRMS > 0 ? block.rms[a, b] / (2 * maxRMS) : 0
                    let value = Double(ranks[p].reduce(0, +)) + tie
                    d[a, b] = value
                    d[b, a] = value
                    largest[a, b] = ranks[p].max() ?? 0
                    largest[b, a] = largest[a, b]
                    p += 1
                }
            }
            distances.append(d)
            largestRanks.append(largest)
        }
        return (distances, largestRanks)
    }

    private struct Pair: Hashable { var a: Int, b: Int; init(_ a: Int, _ b: Int) { self.a = a; self.b = b } }
}

/// The rank evidence of the exact pass: the models' weights, sketched on demand
/// (`RankDistances`).
struct WeightRankEvidence: RankEvidence {
    let models: [Model]
    let tensorNames: [String]
    /// Σ w² per tensor (outer) and model (inner): the rank tolerance's scale.
    let sumSquares: [[Double]]
    let kernels: KernelSet

    var rankCapacity: Int { RankDistances.sketchColumns }

    func ranks(pairs: [(Int, Int)], threads: Int, progress: (Double) throws -> Void) throws -> [[Int]] {
        try RankDistances.ranks(models: models, tensorNames: tensorNames, pairs: pairs, threads: threads, kernels: kernels,
                                progress: progress)
    }

    func screenedRanks(nearest: [(Int, Int)], limits: [Int], pairs: [(Int, Int)], threads: Int,
                       progress: (Double) throws -> Void) throws -> (nearest: [[Int]], pairs: [[Int]])? {
        try RankDistances.screenedRanks(models: models, tensorNames: tensorNames, nearest: nearest, limits: limits,
                                        sumSquares: sumSquares, pairs: pairs, threads: threads, kernels: kernels,
                                        progress: progress)
    }
}
