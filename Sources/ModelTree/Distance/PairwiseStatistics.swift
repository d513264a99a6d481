/// Everything the recovery needs from the weights, gathered in one streaming pass over the
/// selected tensors: per-model moments and, for every pair of models, how far apart they are.
///
/// Memory: n blocks of `blockSize` floats plus a few n × n matrices; no tensor is ever held whole.
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
    /// Mean over tensors of RMS(W_a − W_b). Row-major n × n.
    var rms: [Double]
    /// Max over tensors of max|W_a − W_b| / (range of both). Row-major n × n.
    var maxNormalized: [Double]
    /// Mean over tensors of the Pearson correlation of the two models' weights. Row-major n × n.
    var correlation: [Double]

    init(modelCount n: Int) {
        rms = Array(repeating: 0, count: n * n)
        maxNormalized = Array(repeating: 0, count: n * n)
        correlation = Array(repeating: 0, count: n * n)
        for i in 0..<n { correlation[i * n + i] = 1 }
    }
}

extension PairwiseStatistics {
    /// Elements per segment: the unit of parallel work and of the deterministic reduction.
    static let segmentSize = 65_536

    /// Elements per block: the n decoded blocks of one step stay in L2 (≈ 512 KiB) while every
    /// pair of them is compared.
    static func blockSize(models n: Int) -> Int {
        var b = 8_192
        while b > 256 && b * Swift.max(n, 1) * 4 > 524_288 { b /= 2 }
        return b
    }

    /// Streams `tensorNames` of every model once (tensor by tensor, segment by segment).
    ///
    /// Each tensor is cut into segments of `segmentSize` elements; segments are spread over
    /// `threads` threads, each segment yields partial sums (per model: moments about a shift fixed
    /// per tensor; per pair: Σ (a − b)² and max |a − b|), and partials are added in segment order,
    /// so results do not depend on the thread count. Within a segment, blocks of all n models are
    /// decoded into cache and compared pair by pair from there: the weights are read once.
    ///
    /// Cost: O(n² · elements) arithmetic (3 vector operations per pair and element, 5 with the
    /// maximum), O(n · elements) bytes read. Memory: per thread, n × `blockSize` floats and
    /// `readBudget` bytes of file reads, plus O(n²) per segment in flight (at most 16 segments),
    /// however large the models are.
    /// - Parameters:
    ///   - maxDifference: also compute `maxNormalized` (the `max` metric); without it the pair
    ///     loop does less work and `maxNormalized` is NaN off the diagonal.
    ///   - threads: worker threads (default: `defaultThreadCount()`).
    ///   - progress: called on the caller's thread after each tensor with the fraction done;
    ///     throws to stop.
    /// - Throws: what `progress` throws; `.io` when a file cannot be read or has changed.
    static func gather(models: [Model], tensorNames: [String], maxDifference: Bool = true,
                       threads: Int = defaultThreadCount(),
                       progress: (Double) throws -> Void) throws -> PairwiseStatistics {
        let n = models.count
        var result = PairwiseStatistics(modelCount: n)
        let block = blockSize(models: n)
        let scratch = (0..<Swift.max(1, threads)).map { _ in Scratch(models: n, block: block) }
        var rmsSum = [Double](repeating: 0, count: n * n)
        var correlationSum = [Double](repeating: 0, count: n * n)
        var correlationCount = [Int](repeating: 0, count: n * n)
        let maxBatch = 16      // segments in flight: 1M elements of every model

        for (tensorIndex, name) in tensorNames.enumerated() {
            let views = models.map { $0.tensor(named: name)! }
            let count = views[0].count
            // One shift per model: the mean of the first values (see `Moments`).
            var moments = try views.map { Moments(shift: try TensorMoments.initialShift($0)) }
            var sumSquares = [Double](repeating: 0, count: n * n)
            var maxAbs = [Double](repeating: 0, count: n * n)

            let segments = (count + segmentSize - 1) / segmentSize
            var first = 0
            while first < segments {
                let batch = Swift.min(maxBatch, segments - first)
                var parts = [SegmentPartial?](repeating: nil, count: batch)
                let shifts = moments.map(\.center)
                try parts.withUnsafeMutableBufferPointer { buf in
                    nonisolated(unsafe) let out = buf.baseAddress!
                    try parallelForEach(batch, threads: threads) { item, worker in
                        let seg = first + item
                        let start = seg * segmentSize, end = Swift.min(count, start + segmentSize)
                        out[item] = try segmentPartial(
                            views: views, range: start..<end, shifts: shifts,
                            scratch: scratch[worker], maxDifference: maxDifference)
                    }
                }
                for item in 0..<batch {
                    let p = parts[item]!
                    for m in 0..<n { moments[m].merge(p.moments[m]) }
                    for i in 0..<(n * n) { sumSquares[i] += p.sumSquares[i] }
                    if maxDifference { for i in 0..<(n * n) { maxAbs[i] = Swift.max(maxAbs[i], p.maxAbs[i]) } }
                }
                first += batch
            }

            if let bad = moments.firstIndex(where: { $0.nonFinite > 0 }) {
                result.skipped.append((name, "non-finite values (NaN or Inf, or F64 beyond Float's range) in model '\(models[bad].id)'"))
                try progress(Double(tensorIndex + 1) / Double(tensorNames.count))
                continue
            }
            let kurt = moments.map(\.excessKurtosis)
            result.tensors.append(name)
            result.kurtosis.append(kurt)
            result.moments.append(moments)
            let total = Double(count)
            for a in 0..<n {
                for b in (a + 1)..<n {
                    let ss = sumSquares[a * n + b]
                    let r = (ss / total).squareRoot()
                    rmsSum[a * n + b] += r
                    if maxDifference {
                        let range = Double(Swift.max(moments[a].maximum, moments[b].maximum))
                            - Double(Swift.min(moments[a].minimum, moments[b].minimum))
                        let normalized = range > 0 ? maxAbs[a * n + b] / range : 0
                        result.maxNormalized[a * n + b] = Swift.max(result.maxNormalized[a * n + b], normalized)
                    }
                    // Pearson correlation from the variance of the difference:
                    // cov = (var a + var b − var(a − b)) / 2, var(a − b) = E[(a−b)²] − (mean a − mean b)².
                    let va = moments[a].variance, vb = moments[b].variance
                    if va > 0 && vb > 0 {
                        let dm = moments[a].mean - moments[b].mean
                        let vd = Swift.max(0, ss / total - dm * dm)
                        let c = (va + vb - vd) / (2 * (va * vb).squareRoot())
                        correlationSum[a * n + b] += Swift.min(1, Swift.max(-1, c))
                        correlationCount[a * n + b] += 1
                    }
                }
            }
            try progress(Double(tensorIndex + 1) / Double(tensorNames.count))
        }

        let used = Double(result.tensors.count)
        for a in 0..<n {
            for b in (a + 1)..<n {
                let d = used > 0 ? rmsSum[a * n + b] / used : 0
                result.rms[a * n + b] = d
                result.rms[b * n + a] = d
                if !maxDifference { result.maxNormalized[a * n + b] = .nan }
                result.maxNormalized[b * n + a] = result.maxNormalized[a * n + b]
                // Two models whose every used tensor is constant: equal means related only if equal.
                let k = correlationCount[a * n + b]
                let c = k > 0 ? correlationSum[a * n + b] / Double(k) : (d == 0 ? 1 : 0)
                result.correlation[a * n + b] = c
                result.correlation[b * n + a] = c
            }
        }
        return result
    }

    /// What one segment contributes: per-model moments and per-pair sums (row-major n × n, a < b).
    struct SegmentPartial {
        var moments: [Moments]
        var sumSquares: [Double]
        var maxAbs: [Double]
    }

    /// The most bytes of file reads one thread holds at a time (n models' parts of a segment).
    static let readBudget = 4 << 20

    /// One thread's buffers: the decoded blocks (n × block floats), and the raw bytes of every
    /// model's part of the segment read from files (n × `chunk` elements of up to 8 bytes).
    final class Scratch: @unchecked Sendable {
        let block: Int, chunk: Int
        let floats: UnsafeMutablePointer<Float>
        let raw: UnsafeMutableRawPointer

        init(models n: Int, block: Int) {
            self.block = block
            // Reads of `chunk` elements, a multiple of the block, as large as the budget allows.
            chunk = Swift.max(block, Swift.min(PairwiseStatistics.segmentSize, readBudget / (8 * Swift.max(n, 1)) / block * block))
            floats = .allocate(capacity: n * block)
            raw = .allocate(byteCount: n * chunk * 8, alignment: 64)
        }

        deinit { floats.deallocate(); raw.deallocate() }
    }

    /// Reads `range` of every model's tensor, `scratch.chunk` elements at a time (in place for
    /// tensors in memory), decodes it block by block into `scratch.floats` and compares every
    /// pair of models there.
    static func segmentPartial(views: [TensorView], range: Range<Int>, shifts: [Double],
                               scratch: Scratch, maxDifference: Bool) throws -> SegmentPartial {
        let n = views.count, block = scratch.block
        var part = SegmentPartial(moments: shifts.map { Moments(shift: $0) },
                                  sumSquares: [Double](repeating: 0, count: n * n),
                                  maxAbs: maxDifference ? [Double](repeating: 0, count: n * n) : [])
        let buffer = scratch.floats
        var finite = [Bool](repeating: true, count: n)      // the block of each model
        var sources = [UnsafeRawPointer?](repeating: nil, count: n)
        var chunkStart = range.lowerBound, chunkEnd = range.lowerBound
        var start = range.lowerBound
        while start < range.upperBound {
            if start == chunkEnd {
                chunkStart = start
                chunkEnd = Swift.min(range.upperBound, start + scratch.chunk)
                for m in 0..<n {
                    sources[m] = try views[m].bytes(chunkStart..<chunkEnd, buffer: scratch.raw + m * scratch.chunk * 8, prefetch: true)
                }
            }
            let len = Swift.min(block, chunkEnd - start)
            for m in 0..<n {
                let v = views[m]
                let row = buffer + m * block
                v.dtype.decode(sources[m]! + (start - chunkStart) * v.dtype.size, count: len, into: row)
                let nonFinite = part.moments[m].nonFinite
                part.moments[m].addFast(row, count: len, extremes: maxDifference)
                finite[m] = part.moments[m].nonFinite == nonFinite
            }
            // The Float kernels square differences in Float: one above ~1.8e19 overflows. Such a
            // pair of finite blocks is redone in Double (a block with NaN or Inf skips its tensor).
            func exact(_ a: Int, _ b: Int) -> (Double, Double)? {
                finite[a] && finite[b] ? exactSquaredDistanceAndMax(buffer + a * block, buffer + b * block, len) : nil
            }
            part.sumSquares.withUnsafeMutableBufferPointer { ss in
                if maxDifference {
                    part.maxAbs.withUnsafeMutableBufferPointer { mx in
                        for a in 0..<n {
                            for b in (a + 1)..<n {
                                var (s, m) = squaredDistanceAndMax(buffer + a * block, buffer + b * block, len)
                                var mm = Double(m)
                                if !(s.isFinite && m.isFinite), let e = exact(a, b) { (s, mm) = e }
                                ss[a * n + b] += s
                                mx[a * n + b] = Swift.max(mx[a * n + b], mm)
                            }
                        }
                    }
                } else {
                    for a in 0..<n {
                        let x = buffer + a * block
                        var b = a + 1
                        // Two partners per pass: one load of x serves both.
                        while b + 1 < n {
                            var (s0, s1) = squaredDistances2(x, buffer + b * block, buffer + (b + 1) * block, len)
                            if !s0.isFinite, let e = exact(a, b) { s0 = e.0 }
                            if !s1.isFinite, let e = exact(a, b + 1) { s1 = e.0 }
                            ss[a * n + b] += s0
                            ss[a * n + b + 1] += s1
                            b += 2
                        }
                        if b < n {
                            var s0 = squaredDistances2(x, buffer + b * block, buffer + b * block, len).0
                            if !s0.isFinite, let e = exact(a, b) { s0 = e.0 }
                            ss[a * n + b] += s0
                        }
                    }
                }
            }
            start += len
        }
        return part
    }
}

/// Σ (x − y)² and max |x − y| in Double: the fallback of the Float kernels for a block whose
/// Float squares overflow (finite weights beyond ~1.8e19; in Double nothing a Float holds can).
func exactSquaredDistanceAndMax(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> (Double, Double) {
    var sum = 0.0, largest = 0.0
    for i in 0..<count {
        let d = Double(x[i]) - Double(y[i])
        sum += d * d
        largest = Swift.max(largest, Swift.abs(d))
    }
    return (sum, largest)
}

/// Lane-wise max(|a|, |b|).
@inline(__always)
func magnitudeMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    let mask = SIMD8<UInt32>(repeating: 0x7FFF_FFFF)
    let x = unsafeBitCast(unsafeBitCast(a, to: SIMD8<UInt32>.self) & mask, to: SIMD8<Float>.self)
    let y = unsafeBitCast(unsafeBitCast(b, to: SIMD8<UInt32>.self) & mask, to: SIMD8<Float>.self)
    return x.replacing(with: y, where: y .> x)
}

/// Σ (x − y)² and Σ (x − z)² over `count` floats, accumulated as in `squaredDistanceAndMax`:
/// one load of x serves two partners.
@inline(__always)
func squaredDistances2(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafePointer<Float>,
                       _ count: Int) -> (Double, Double) {
    typealias V = SIMD8<Float>
    var ty = 0.0, tz = 0.0
    var i = 0
    let vectorEnd = count & ~15
    while i < vectorEnd {
        let runEnd = Swift.min(vectorEnd, i + 512)
        var y0 = V(repeating: 0), y1 = V(repeating: 0), z0 = V(repeating: 0), z1 = V(repeating: 0)
        while i < runEnd {
            let x0 = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            let x1 = UnsafeRawPointer(x + i + 8).loadUnaligned(as: V.self)
            let dy0 = x0 - UnsafeRawPointer(y + i).loadUnaligned(as: V.self)
            let dy1 = x1 - UnsafeRawPointer(y + i + 8).loadUnaligned(as: V.self)
            let dz0 = x0 - UnsafeRawPointer(z + i).loadUnaligned(as: V.self)
            let dz1 = x1 - UnsafeRawPointer(z + i + 8).loadUnaligned(as: V.self)
            y0 += dy0 * dy0; y1 += dy1 * dy1
            z0 += dz0 * dz0; z1 += dz1 * dz1
            i += 16
        }
        ty += Double((y0 + y1).sum())
        tz += Double((z0 + z1).sum())
    }
    while i < count {
        let dy = x[i] - y[i], dz = x[i] - z[i]
        ty += Double(dy * dy)
        tz += Double(dz * dz)
        i += 1
    }
    return (ty, tz)
}

/// Σ (x − y)² (in double) and max |x − y| over `count` floats.
///
/// SIMD lanes accumulate in Float over short runs that are flushed into a Double, which keeps the
/// sum exact to float rounding of each term while running at memory speed.
@inline(__always)
func squaredDistanceAndMax(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> (Double, Float) {
    typealias V = SIMD8<Float>
    var total = 0.0
    var maxLanes = V(repeating: 0)
    var i = 0
    let vectorEnd = count & ~15
    while i < vectorEnd {
        let runEnd = Swift.min(vectorEnd, i + 512)
        var acc0 = V(repeating: 0), acc1 = V(repeating: 0)
        while i < runEnd {
            let d0 = UnsafeRawPointer(x + i).loadUnaligned(as: V.self) - UnsafeRawPointer(y + i).loadUnaligned(as: V.self)
            let d1 = UnsafeRawPointer(x + i + 8).loadUnaligned(as: V.self) - UnsafeRawPointer(y + i + 8).loadUnaligned(as: V.self)
            acc0 += d0 * d0
            acc1 += d1 * d1
            // |d| by clearing the sign bit; max by masks (the generic pointwiseMax is a call).
            let m = magnitudeMax(d0, d1)
            maxLanes = maxLanes.replacing(with: m, where: m .> maxLanes)
            i += 16
        }
        total += Double((acc0 + acc1).sum())
    }
    var maxValue = maxLanes.max()
    while i < count {
        let d = x[i] - y[i]
        total += Double(d * d)
        maxValue = Swift.max(maxValue, Swift.abs(d))
        i += 1
    }
    return (total, maxValue)
}
