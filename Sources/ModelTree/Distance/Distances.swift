/// The distance matrix a recovery builds its trees on, in the metric asked for or, with `auto`,
/// the one the data calls for.
enum Distances {
    /// - `rms`, `max`: read from the statistics.
    /// - `rank`: the LoRA distance over every pair (`rankMatrix`).
    /// - `auto`: `rank` when every model's nearest neighbour under RMS differs from it by a
    ///   low-rank update (rank ≤ half the smaller side) in every tensor, and some difference is
    ///   not zero (a LoRA family); `rms` otherwise. A neighbour within storage rounding (an
    ///   export) does not count as the nearest, and models stored coarser than BF16 (block
    ///   quantizations) take no part in the test when others do. The test stops at the first rank above its
    ///   limit, so a full fine-tune costs one pair's column subset; while it holds, the ranks of
    ///   every pair are computed from the same sketches (`RankDistances.screenedRanks`).
    /// - Parameter progress: the fraction of this stage done, with the stage's name; throws to stop.
    /// - Returns: the metric, the distances and, under `rank`, the largest rank of each pair's
    ///   difference over the tensors (evidence for the edges: a merged LoRA adapter's r).
    static func matrix(_ requested: Metric, stats: PairwiseStatistics, models: [Model], threads: Int,
                       kernels: KernelSet, progress: (Double, String) throws -> Void)
        throws -> (metric: Metric, distance: SquareMatrix<Double>, largestRank: SquareMatrix<Int>?) {
        let n = models.count
        switch requested {
        case .rms: return (.rms, stats.rms, nil)
        case .max: return (.max, stats.maxNormalized, nil)
        case .rank:
            let pairs = allPairs(n)
            let ranks = try RankDistances.ranks(models: models, tensorNames: stats.tensors, pairs: pairs, threads: threads,
                                                kernels: kernels) { try progress($0, "computing ranks of differences") }
            let (d, largest) = rankMatrix(stats, models: models, pairs: pairs, ranks: ranks)
            return (.rank, d, largest)
        case .auto:
            guard n > 1 else { return (.rms, stats.rms, nil) }
            // An export (a cast, a GGUF or int8 quantization) differs from its source by storage
            // rounding, which the rank test ignores — and which hides a fine-tune's difference
            // too: a fine-tune whose nearest model is its own export would pass the test. So a
            // pair whose RMS difference is within 4 × the coarser side's rounding of the weights'
            // RMS is no one's nearest pair here; models stored coarser than BF16 (block
            // quantizations) are not screened at all, unless all are.
            let rounding = (0..<n).map { i in
                stats.tensors.map { models[i].tensor(named: $0)!.unitRoundoff }.max() ?? 0
            }
            let weightRMS = (0..<n).map { i in
                stats.tensors.indices.map { t -> Double in
                    let count = Double(Swift.max(1, models[i].tensor(named: stats.tensors[t])!.count))
                    return (stats.moments[t][i].sumOfSquares / count).squareRoot()
                }.reduce(0, +) / Double(Swift.max(1, stats.tensors.count))
            }
            let coarse = rounding.map { $0 > DType.bf16.unitRoundoff }
            let screened = coarse.allSatisfy { $0 } ? Array(0..<n) : (0..<n).filter { !coarse[$0] }
            func withinRounding(_ i: Int, _ j: Int) -> Bool {
                stats.rms[i, j] <= 4 * Swift.max(rounding[i], rounding[j]) * Swift.max(weightRMS[i], weightRMS[j])
            }
            var pairs = Set<Pair>()
            for i in screened {
                let others = screened.filter { $0 != i && !withinRounding(i, $0) }
                guard let j = others.min(by: { stats.rms[i, $0] < stats.rms[i, $1] }) else { continue }
                pairs.insert(Pair(Swift.min(i, j), Swift.max(i, j)))
            }
            guard !pairs.isEmpty else { return (.rms, stats.rms, nil) }
            let nearest = pairs.sorted { ($0.a, $0.b) < ($1.a, $1.b) }
            let limits = stats.tensors.map { name -> Int in
                let shape = models[0].tensor(named: name)!.shape
                let r = shape.first ?? 1, c = shape.dropFirst().reduce(1, *)
                return Swift.min(Swift.min(r, c) / 2, RankDistances.sketchColumns - 1)
            }
            // The test and, while it holds, every pair's ranks, on one set of sketches per tensor.
            let all = allPairs(n)
            guard let ranks = try RankDistances.screenedRanks(models: models, tensorNames: stats.tensors,
                                                              nearest: nearest.map { ($0.a, $0.b) }, limits: limits,
                                                              sumSquares: stats.moments.map { $0.map(\.sumOfSquares) }, pairs: all,
                                                              threads: threads, kernels: kernels, progress: { f in
                                                                  try progress(f, "computing ranks of differences")
                                                              }),
                  ranks.nearest.contains(where: { $0.contains { $0 > 0 } })
            else { return (.rms, stats.rms, nil) }
            let (d, largest) = rankMatrix(stats, models: models, pairs: all, ranks: ranks.pairs)
            return (.rank, d, largest)
        }
    }

    /// Σ over tensors of the rank of the difference (`ranks[p][t]` for `pairs[p]`), plus
    /// RMS / (2 · max RMS) < 1/2 to break the ties that integer ranks leave (all LoRA children
    /// of one parent sit at the same rank); and each pair's largest rank over the tensors.
    private static func rankMatrix(_ stats: PairwiseStatistics, models: [Model], pairs: [(Int, Int)],
                                   ranks: [[Int]]) -> (SquareMatrix<Double>, SquareMatrix<Int>) {
        let maxRMS = stats.rms.elements.max() ?? 0
        var d = SquareMatrix<Double>(count: models.count, repeating: 0)
        var largest = SquareMatrix<Int>(count: models.count, repeating: 0)
        for (p, pair) in pairs.enumerated() {
            let tie = maxRMS > 0 ? stats.rms[pair.0, pair.1] / (2 * maxRMS) : 0
            let value = Double(ranks[p].reduce(0, +)) + tie
            d[pair.0, pair.1] = value
            d[pair.1, pair.0] = value
            largest[pair.0, pair.1] = ranks[p].max() ?? 0
            largest[pair.1, pair.0] = largest[pair.0, pair.1]
        }
        return (d, largest)
    }

    private struct Pair: Hashable { var a: Int, b: Int; init(_ a: Int, _ b: Int) { self.a = a; self.b = b } }

    private static func allPairs(_ n: Int) -> [(Int, Int)] {
        var pairs: [(Int, Int)] = []
        for a in 0..<n { for b in (a + 1)..<n { pairs.append((a, b)) } }
        return pairs
    }
}
