/// The moment kernel of the statistics passes: power sums of one decoded block.
///
/// As for `PairKernels`, the signature is the contract a run-time dispatched C implementation
/// keeps; the Swift SIMD body is the portable fallback.
enum MomentKernels {
    /// Σ d, Σ d², Σ d³, Σ d⁴ for d = x − shift over `count` floats, and (with `extremes`) the
    /// minimum and maximum of x (±infinity without).
    struct Sums {
        var s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0
        var minimum = Float.infinity, maximum = -Float.infinity
    }

    /// Sums accumulated in Float lanes over runs of 256 values (32 per lane) and flushed into
    /// Double, which keeps every sum within a few units of Float rounding of its terms (relative
    /// error ≲ 1e-6 on kurtosis). NaN propagation in the extremes is not relied on: a NaN or an
    /// infinity poisons the sums, and the caller checks them and redoes such a block exactly.
    static func sums(_ x: UnsafePointer<Float>, count n: Int, shift: Float, extremes: Bool) -> Sums {
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
        return Sums(s1: t1, s2: t2, s3: t3, s4: t4, minimum: mn, maximum: mx)
    }
}
