import ModelTreeKernels

/// Everything the recovery needs from the weights, gathered in one streaming pass over the
/// selected tensors: per-model moments and, for every pair of models, how far apart they are.
///
/// Memory: n blocks of `blockSize` floats and the cursors' reads per thread, plus a few n × n
/// matrices; no tensor is ever held whole.
struct PairwiseStatistics {
    /// Names of the tensors that entered the statistics (selected, finite in every model).
    var tensors: [String] = []
    /// Tensors left out, with the reason (non-finite values, constant weights).
    var skipped: [(tensor: String, reason: String)] = []
    /// Per tensor (in `tensors` order), per model: excess kurtosis.
    var kurtosis: [[Double]] = []
    /// Per tensor (in `tensors` order), per model: the moments kurtosis came from (so that later
    /// stages need not read these tensors again).
    var moments: [[Moments]] = []
    /// Mean over tensors of RMS(W_a − W_b).
    var rms: SquareMatrix<Double>
    /// Max over tensors of max|W_a − W_b| / (range of both).
    var maxNormalized: SquareMatrix<Double>
    /// Mean over tensors of the Pearson correlation of the two models' weights.
    var correlation: SquareMatrix<Double>
    /// Mean over tensors of the mean squared difference (`RelationEvidence.PairBlock.meanSquare`).
    var meanSquare: SquareMatrix<Double>

    init(modelCount n: Int) {
        rms = SquareMatrix(count: n, repeating: 0)
        maxNormalized = SquareMatrix(count: n, repeating: 0)
        correlation = SquareMatrix(count: n, repeating: 0)
        meanSquare = SquareMatrix(count: n, repeating: 0)
        for i in 0..<n { correlation[i, i] = 1 }
    }
}

extension PairwiseStatistics {
    /// Elements per block: the n decoded blocks of one step stay in L2 (≈ 512 KiB) while every
    /// pair of them is compared. A power of two of at least 256 (`StreamingPass`).
    static func blockSize(models n: Int) -> Int {
        var b = 8_192
        while b > 256 && b * Swift.max(n, 1) * 4 > 524_288 { b /= 2 }
        return b
    }

    /// The most bytes of file reads one thread holds at a time (n models' parts of a segment).
    /// 16 MiB lets 128 models read a BF16 segment each in one 128 KiB read (4 MiB needed four
    /// reads of 32 KiB: a quarter more CPU time in `pread` and the opens around it).
    static let readBudget = 16 << 20

    /// Bytes each model's cursor stages per read: a multiple of the block for any element size,
    /// as much of a segment as the read budget allows.
    static func stagingBytes(models n: Int, block: Int) -> Int {
        let chunk = Swift.max(block, Swift.min(StreamingPass.segmentSize, readBudget / (8 * Swift.max(n, 1)) / block * block))
        return chunk * 8
    }

    /// Streams `tensorNames` of every model once (tensor by tensor, segment by segment, on
    /// `StreamingPass`).
    ///
    /// Each segment yields partial sums (per model: moments about a shift fixed per tensor; per
    /// pair: Σ (a − b)² and max |a − b|), added in segment order, so results do not depend on the
    /// thread count. Within a segment, blocks of all n models are decoded into cache and compared
    /// pair by pair from there (`KernelSet.addSquaredDistances`, or its Gram form from
    /// `gramMinimumModels(kernels)` models: `usesGram`): the weights are read once.
    ///
    /// Cost: O(n² · elements) arithmetic, O(n · elements) bytes read.
    /// - Parameters:
    ///   - maxDifference: also compute `maxNormalized` (the `max` metric); without it the pair
    ///     loop does less work and `maxNormalized` is NaN off the diagonal.
    ///   - threads: worker threads.
    ///   - kernels: the vector kernels (tests force each set the CPU runs).
    ///   - gramFrom: the fewest models summed by the Gram form (nil: `gramMinimumModels(kernels)`;
    ///     tests lower it).
    ///   - progress: called on the caller's thread after each tensor with the fraction done;
    ///     throws to stop.
    /// - Throws: what `progress` throws; `.io` when a file cannot be read or has changed.
    static func gather(models: [Model], tensorNames: [String], maxDifference: Bool = true,
                       threads: Int = defaultThreadCount, kernels: KernelSet = .active,
                       gramFrom: Int? = nil,
                       progress: (Double) throws -> Void) throws -> PairwiseStatistics {
        let n = models.count
        var result = PairwiseStatistics(modelCount: n)
        let block = blockSize(models: n)
        let gram = usesGram(models: n, maxDifference: maxDifference, kernels: kernels, from: gramFrom)
        // Rows: the n decoded blocks, and for the Gram form their centred copies and the mean.
        let pass = StreamingPass(threads: threads, slots: n, stagingBytes: stagingBytes(models: n, block: block),
                                 rows: gram ? 2 * n + 1 : n, block: block, doubles: 2 * n * n + n, kernels: kernels)
        var pairs = SquareMatrix<PairAccumulator>(count: n, repeating: PairAccumulator())

        for (tensorIndex, name) in tensorNames.enumerated() {
            let views = models.map { $0.tensor(named: name)! }
            let count = views[0].count
            // One shift per model: the mean of the first values (see `Moments`).
            var moments = try views.map { Moments(shift: try TensorMoments.initialShift($0)) }
            let shifts = moments.map(\.center)
            var sumSquares = SquareMatrix<Double>(count: n, repeating: 0)
            var maxAbs = SquareMatrix<Double>(count: n, repeating: 0)
            try pass.stream(count: count, unit: { _, range, worker in
                try segmentPartial(views: views, range: range, shifts: shifts, worker: worker,
                                   maxDifference: maxDifference, gram: gram)
            }, reduce: { _, p in
                for m in 0..<n { moments[m].merge(p.moments[m]) }
                for a in 0..<n {
                    for b in (a + 1)..<n {
                        sumSquares[a, b] += p.sumSquares[a, b]
                        if maxDifference { maxAbs[a, b] = Swift.max(maxAbs[a, b], p.maxAbs[a, b]) }
                    }
                }
            })

            if let bad = moments.firstIndex(where: { $0.nonFinite > 0 }) {
                result.skipped.append((name, "non-finite values (NaN or Inf, or F64 beyond Float's range) in model '\(models[bad].id)'"))
                try progress(Double(tensorIndex + 1) / Double(tensorNames.count))
                continue
            }
            result.tensors.append(name)
            result.kurtosis.append(moments.map(\.excessKurtosis))
            result.moments.append(moments)
            for a in 0..<n {
                for b in (a + 1)..<n {
                    pairs[a, b].add(sumSquares: sumSquares[a, b], count: count, moments[a], moments[b])
                    if maxDifference {
                        let range = Double(Swift.max(moments[a].maximum, moments[b].maximum))
                            - Double(Swift.min(moments[a].minimum, moments[b].minimum))
                        let normalized = range > 0 ? maxAbs[a, b] / range : 0
                        result.maxNormalized[a, b] = Swift.max(result.maxNormalized[a, b], normalized)
                    }
                }
            }
            try progress(Double(tensorIndex + 1) / Double(tensorNames.count))
        }

        for a in 0..<n {
            for b in (a + 1)..<n {
                let d = pairs[a, b].rms
                result.rms[a, b] = d
                result.rms[b, a] = d
                result.meanSquare[a, b] = pairs[a, b].meanSquare
                result.meanSquare[b, a] = pairs[a, b].meanSquare
                if !maxDifference { result.maxNormalized[a, b] = .nan }
                result.maxNormalized[b, a] = result.maxNormalized[a, b]
                let c = pairs[a, b].correlation
                result.correlation[a, b] = c
                result.correlation[b, a] = c
            }
        }
        return result
    }

    /// Whether the pass sums pairs by the Gram form (`KernelSet.addSquaredDistancesGram`): a
    /// fixed rule, never a timing. Only for the sums alone (the maximum needs the differences),
    /// on sets with a fused multiply-add, from `gramMinimumModels(kernels)` models (`from`, for
    /// tests): the centring costs O(n) per element against the O(n²) pair work.
    static func usesGram(models n: Int, maxDifference: Bool, kernels: KernelSet, from: Int? = nil) -> Bool {
        !maxDifference && kernels.fusesMultiplyAdd && n >= (from ?? gramMinimumModels(kernels))
    }

    /// The fewest models the Gram form sums (measured on one block of the driver's size, rows
    /// 10 % apart, bench/kernels/README.md). With AVX2 it is 1.1x the direct kernel from 96 models
    /// (36 against 41 G pair-elements/s at 128), and where adds and FMAs share ports (Intel
    /// cores) it halves the pair arithmetic. With AVX-512 on Zen 4 the direct kernel's
    /// subtraction has pipes of its own: the two run at 44.7 and 44.0 G/s at 128 models, and the
    /// whole n128 x 25M run took 1-2 % less CPU without the form (its centred copy of the block
    /// doubles what the pass keeps in L2); it gains 2 % from 192 models and 6 % from 384.
    static func gramMinimumModels(_ kernels: KernelSet) -> Int {
        kernels.table.pointee.isa == MTK_ISA_AVX512 ? 384 : 96
    }

    /// Rows ahead of the decoding that a model's block is prefetched again. The pass stages a
    /// segment of every model (16 MiB per thread at n = 128) and decodes it block by block
    /// between pair steps, by which time the staged bytes have left the caches: decoding waited
    /// for memory, 11 % of an n128 × 25M BF16 run. Prefetching every model's next block before
    /// the pair step, and again a few rows ahead while decoding (for the lines the pair step
    /// evicted), halved that (bench/kernels/README.md, "session 6").
    static let prefetchDistance = 8

    /// What one segment contributes: per-model moments and per-pair sums (a < b).
    struct SegmentPartial: Sendable {
        var moments: [Moments]
        var sumSquares: SquareMatrix<Double>
        var maxAbs: SquareMatrix<Double>
    }

    /// Decodes `range` of every model's tensor block by block into the worker's rows and compares
    /// every pair of models there (`KernelSet.addSquaredDistances`, or its Gram form when `gram`
    /// and every row of the block is finite).
    static func segmentPartial(views: [TensorView], range: Range<Int>, shifts: [Double],
                               worker: StreamingPass.Worker, maxDifference: Bool, gram: Bool) throws -> SegmentPartial {
        let n = views.count, block = worker.block, kernels = worker.kernels
        var moments = shifts.map { Moments(shift: $0) }
        var finite = [UInt8](repeating: 1, count: n)      // the block of each model
        // The segment's sums, added to block by block by the kernels.
        let sums = worker.doubles, maxima = worker.doubles + n * n, norms = worker.doubles + 2 * n * n
        sums.update(repeating: 0, count: n * n)
        maxima.update(repeating: 0, count: n * n)
        var start = range.lowerBound
        while start < range.upperBound {
            let len = Swift.min(block, range.upperBound - start)
            for m in 0..<n {
                try worker.decode(views[m], slot: m, start..<(start + len), into: m)
                // This block of a model a few rows on, if the pair step's prefetch (below) lost it.
                if m + prefetchDistance < n { worker.prefetch(slot: m + prefetchDistance) }
                let nonFinite = moments[m].nonFinite
                moments[m].addFast(worker.row(m), count: len, extremes: maxDifference, kernels: kernels)
                finite[m] = moments[m].nonFinite == nonFinite ? 1 : 0
            }
            // Every model's next block, staged by now, is fetched while the pairs are compared:
            // otherwise the decoding waits for it (see `prefetchDistance`).
            for m in 0..<n { worker.prefetch(slot: m) }
            if gram && !finite.contains(0) {
                // Scratch: rows n ... 2n, (n + 1) · stride floats ≥ n · (len + MTK_ROW_PAD) + len.
                kernels.addSquaredDistancesGram(worker.row(0), rows: n, stride: worker.stride, count: len,
                                                scratch: worker.row(n), norms: norms, sums: sums)
            } else {
                kernels.addSquaredDistances(worker.row(0), rows: n, stride: worker.stride, count: len, finite: finite,
                                            sums: sums, maxAbs: maxDifference ? maxima : nil)
            }
            start += len
        }
        return SegmentPartial(moments: moments,
                              sumSquares: SquareMatrix(count: n, elements: Array(UnsafeBufferPointer(start: sums, count: n * n))),
                              maxAbs: SquareMatrix(count: maxDifference ? n : 0,
                                                   elements: maxDifference ? Array(UnsafeBufferPointer(start: maxima, count: n * n)) : []))
    }
}
