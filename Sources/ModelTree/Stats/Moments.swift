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
        addExact(x, count: n)
    }

    /// Empty moments whose sums will be taken about `shift` (the streaming pass fixes one shift
    /// per model and tensor so that partial sums of different blocks can be added).
    init(shift: Double) {
        self.shift = shift
    }

    init() {}

    /// The shift the sums are taken about.
    var center: Double { shift }

    /// Adds the moments of another stream taken about the same shift (`merge` in block order
    /// keeps results independent of how blocks were spread over threads).
    mutating func merge(_ other: Moments) {
        precondition(other.shift == shift || other.count + other.nonFinite == 0)
        count += other.count
        nonFinite += other.nonFinite
        minimum = Swift.min(minimum, other.minimum)
        maximum = Swift.max(maximum, other.maximum)
        s1 += other.s1; s2 += other.s2; s3 += other.s3; s4 += other.s4
    }

    /// Adds `n` finite values whose power sums about the shift were computed elsewhere (the SIMD
    /// kernel `Moments.fastSums`).
    mutating func add(count n: Int, sums: (Double, Double, Double, Double), minimum lo: Float, maximum hi: Float) {
        count += n
        s1 += sums.0; s2 += sums.1; s3 += sums.2; s4 += sums.3
        minimum = Swift.min(minimum, lo)
        maximum = Swift.max(maximum, hi)
    }

    /// Adds `n` values with the scalar loop, whatever they are (the fallback for a block that
    /// holds NaN or infinity); the shift must already be set.
    mutating func addExact(_ x: UnsafePointer<Float>, count n: Int) {
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

extension Moments {
    /// Adds `n` values through the SIMD kernel: power sums of `x − shift` accumulated in Float
    /// over runs of 256 values (32 per lane) and flushed into Double, which keeps every sum
    /// within a few units of Float rounding of its terms (relative error ≲ 1e-6 on kurtosis)
    /// at several times the speed of the Double loop. A block holding NaN or infinity is redone
    /// by `addExact`, which counts them.
    /// - Parameter extremes: also track minimum and maximum (without, they stay ±infinity).
    mutating func addFast(_ x: UnsafePointer<Float>, count n: Int, extremes: Bool = true) {
        let r = Moments.fastSums(x, count: n, shift: Float(center), extremes: extremes)
        if r.sums.0.isFinite && r.sums.1.isFinite && r.sums.2.isFinite && r.sums.3.isFinite
            && (!extremes || (r.minimum.isFinite && r.maximum.isFinite)) {
            add(count: n, sums: r.sums, minimum: r.minimum, maximum: r.maximum)
        } else {
            addExact(x, count: n)
        }
    }

    /// Σ d, Σ d², Σ d³, Σ d⁴ for d = x − shift, and min / max of x (NaN-propagation not relied on:
    /// the caller checks the sums and extremes for finiteness).
    @inline(__always)
    static func fastSums(_ x: UnsafePointer<Float>, count n: Int, shift: Float, extremes: Bool = true)
        -> (sums: (Double, Double, Double, Double), minimum: Float, maximum: Float) {
        typealias V = SIMD8<Float>
        let s = V(repeating: shift)
        var t1 = 0.0, t2 = 0.0, t3 = 0.0, t4 = 0.0
        var lo = V(repeating: .infinity), hi = V(repeating: -.infinity)
        var i = 0
        let vectorEnd = n & ~7
        while i < vectorEnd {
            let runEnd = Swift.min(vectorEnd, i + 256)
            var a1 = V(repeating: 0), a2 = V(repeating: 0), a3 = V(repeating: 0), a4 = V(repeating: 0)
            while i < runEnd {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
                if extremes {
                    lo = lo.replacing(with: v, where: v .< lo)
                    hi = hi.replacing(with: v, where: v .> hi)
                }
                let d = v - s
                let d2 = d * d
                a1 += d; a2 += d2; a3 += d2 * d; a4 += d2 * d2
                i += 8
            }
            t1 += Double(a1.sum()); t2 += Double(a2.sum()); t3 += Double(a3.sum()); t4 += Double(a4.sum())
        }
        var mn = lo.min(), mx = hi.max()
        while i < n {
            let v = x[i]
            if extremes { mn = Swift.min(mn, v); mx = Swift.max(mx, v) }
            let d = Double(v - shift), d2 = d * d
            t1 += d; t2 += d2; t3 += d2 * d; t4 += d2 * d2
            i += 1
        }
        // min/max of SIMD lanes drop NaN; a NaN still poisons the sums.
        return ((t1, t2, t3, t4), mn, mx)
    }
}
