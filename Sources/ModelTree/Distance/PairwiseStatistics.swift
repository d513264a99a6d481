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
    /// Elements per block: n blocks of 64 KiB stay in L2 for the pair loop.
    static let blockSize = 16_384

    /// Streams `tensorNames` of every model once (tensor by tensor, block by block).
    /// - Parameter progress: called after each tensor with the fraction done; returns false to stop.
    static func gather(models: [Model], tensorNames: [String],
                       progress: (Double) throws -> Void) throws -> PairwiseStatistics {
        let n = models.count
        var result = PairwiseStatistics(modelCount: n)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: n * blockSize)
        defer { buffer.deallocate() }
        var sumSquares = [Double](repeating: 0, count: n * n)
        var maxAbs = [Float](repeating: 0, count: n * n)
        var rmsSum = [Double](repeating: 0, count: n * n)
        var correlationSum = [Double](repeating: 0, count: n * n)
        var correlationCount = [Int](repeating: 0, count: n * n)

        for (tensorIndex, name) in tensorNames.enumerated() {
            let views = models.map { $0.tensor(named: name)! }
            let count = views[0].count
            var moments = [Moments](repeating: Moments(), count: n)
            for i in 0..<(n * n) { sumSquares[i] = 0; maxAbs[i] = 0 }

            var start = 0
            while start < count {
                let len = Swift.min(blockSize, count - start)
                for m in 0..<n {
                    let v = views[m]
                    let row = buffer + m * blockSize
                    v.dtype.decode(v.bytes.baseAddress! + start * v.dtype.size, count: len, into: row)
                    moments[m].add(row, count: len)
                }
                for a in 0..<n {
                    for b in (a + 1)..<n {
                        let (ss, mx) = squaredDistanceAndMax(buffer + a * blockSize, buffer + b * blockSize, len)
                        sumSquares[a * n + b] += ss
                        maxAbs[a * n + b] = Swift.max(maxAbs[a * n + b], mx)
                    }
                }
                start += len
            }

            if let bad = moments.firstIndex(where: { $0.nonFinite > 0 }) {
                result.skipped.append((name, "non-finite values (NaN or Inf) in model '\(models[bad].id)'"))
                try progress(Double(tensorIndex + 1) / Double(tensorNames.count))
                continue
            }
            let kurt = moments.map(\.excessKurtosis)
            result.tensors.append(name)
            result.kurtosis.append(kurt)
            let total = Double(count)
            for a in 0..<n {
                for b in (a + 1)..<n {
                    let ss = sumSquares[a * n + b]
                    let r = (ss / total).squareRoot()
                    rmsSum[a * n + b] += r
                    let range = Double(Swift.max(moments[a].maximum, moments[b].maximum))
                        - Double(Swift.min(moments[a].minimum, moments[b].minimum))
                    let normalized = range > 0 ? Double(maxAbs[a * n + b]) / range : 0
                    result.maxNormalized[a * n + b] = Swift.max(result.maxNormalized[a * n + b], normalized)
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
            maxLanes = pointwiseMax(maxLanes, pointwiseMax(pointwiseMax(d0, -d0), pointwiseMax(d1, -d1)))
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
