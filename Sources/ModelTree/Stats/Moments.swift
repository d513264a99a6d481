/// Running first four moments of a stream of values, accumulated in double precision.
///
/// Sums are taken of `x − shift`, where the shift is fixed per model and tensor before the pass
/// (`TensorMoments.initialShift`): weights are centred near zero with a small spread, so shifted
/// power sums lose nothing in double, and one pass suffices (no second read of the tensor).
/// Non-finite values are counted, not summed.
struct Moments {
    private(set) var count = 0
    private(set) var nonFinite = 0
    private(set) var minimum = Float.infinity
    private(set) var maximum = -Float.infinity
    private var shift = 0.0
    /// Σ (x − shift)ᵏ for k = 1…4 over the finite values.
    private(set) var s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0

    /// Empty moments whose sums will be taken about `shift` (the streaming pass fixes one shift
    /// per model and tensor so that partial sums of different segments can be added).
    init(shift: Double) {
        self.shift = shift
    }

    /// Moments as stored (a signature's): the sums about `shift` and the counts and extremes.
    init(count: Int, nonFinite: Int, minimum: Float, maximum: Float, shift: Double, sums: (Double, Double, Double, Double)) {
        self.count = count
        self.nonFinite = nonFinite
        self.minimum = minimum
        self.maximum = maximum
        self.shift = shift
        (s1, s2, s3, s4) = sums
    }

    /// The shift the sums are taken about.
    var center: Double { shift }

    /// Adds the moments of another stream taken about the same shift (`merge` in segment order
    /// keeps results independent of how segments were spread over threads).
    mutating func merge(_ other: Moments) {
        precondition(other.shift == shift || other.count + other.nonFinite == 0)
        count += other.count
        nonFinite += other.nonFinite
        minimum = Swift.min(minimum, other.minimum)
        maximum = Swift.max(maximum, other.maximum)
        s1 += other.s1; s2 += other.s2; s3 += other.s3; s4 += other.s4
    }

    /// Adds `n` values through the moment kernel of `kernels` (`KernelSet.momentSums`); a block
    /// holding NaN or infinity is redone by `addExact`, which counts them.
    /// - Parameter extremes: also track minimum and maximum (without, they stay ±infinity).
    mutating func addFast(_ x: UnsafePointer<Float>, count n: Int, extremes: Bool = true, kernels: KernelSet) {
        let r = kernels.momentSums(x, count: n, shift: Float(center), extremes: extremes)
        if r.s1.isFinite && r.s2.isFinite && r.s3.isFinite && r.s4.isFinite
            && (!extremes || (r.minimum.isFinite && r.maximum.isFinite)) {
            count += n
            s1 += r.s1; s2 += r.s2; s3 += r.s3; s4 += r.s4
            minimum = Swift.min(minimum, r.minimum)
            maximum = Swift.max(maximum, r.maximum)
        } else {
            addExact(x, count: n)
        }
    }

    /// Adds `n` values with the scalar loop, whatever they are (the fallback for a block that
    /// holds NaN or infinity).
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

    /// Σ x² over the finite values: the squared norm of the tensor.
    var sumOfSquares: Double { Double(count) * (variance + mean * mean) }

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
