/// Running first four moments of a stream of values, accumulated in double precision.
///
/// Sums are taken of `x − shift` where `shift` is the mean of the first block seen: weights are
/// centred near zero with a small spread, so shifted power sums lose nothing in double, and one
/// pass suffices (no second read of the tensor). Non-finite values are counted, not summed.
struct Moments {
    private(set) var count = 0
    private(set) var nonFinite = 0
    private(set) var minimum = Float.infinity
    private(set) var maximum = -Float.infinity
    private var shift = 0.0
    private var s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0

    /// Adds `n` values; the first call fixes the shift.
    mutating func add(_ x: UnsafePointer<Float>, count n: Int) {
        guard n > 0 else { return }
        if count == 0 && nonFinite == 0 {
            var sum = 0.0, finite = 0
            for i in 0..<n where x[i].isFinite { sum += Double(x[i]); finite += 1 }
            shift = finite > 0 ? sum / Double(finite) : 0
        }
        var a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0
        var lo = minimum, hi = maximum, bad = 0
        for i in 0..<n {
            let v = x[i]
            guard v.isFinite else { bad += 1; continue }
            lo = Swift.min(lo, v)
            hi = Swift.max(hi, v)
            let d = Double(v) - shift
            let d2 = d * d
            a1 += d; a2 += d2; a3 += d2 * d; a4 += d2 * d2
        }
        s1 += a1; s2 += a2; s3 += a3; s4 += a4
        minimum = lo; maximum = hi
        count += n - bad
        nonFinite += bad
    }

    var mean: Double { count == 0 ? .nan : shift + s1 / Double(count) }

    /// Population variance (divides by the count, as `numpy.var`).
    var variance: Double {
        guard count > 0 else { return .nan }
        let n = Double(count), m = s1 / n
        return Swift.max(0, s2 / n - m * m)
    }

    /// Excess (Fisher) kurtosis m4 / m2² − 3 with population moments — `scipy.stats.kurtosis`
    /// with its defaults (`fisher=True, bias=True`). NaN for a constant or empty stream.
    var excessKurtosis: Double {
        guard count > 0 else { return .nan }
        let n = Double(count)
        let m1 = s1 / n, e2 = s2 / n, e3 = s3 / n, e4 = s4 / n
        let m2 = e2 - m1 * m1
        let m4 = e4 - 4 * m1 * e3 + 6 * m1 * m1 * e2 - 3 * m1 * m1 * m1 * m1
        guard m2 > 0 else { return .nan }
        return m4 / (m2 * m2) - 3
    }
}
