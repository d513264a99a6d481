import ModelTreeKernels

/// The moment kernel of the statistics passes (`moments.inc`): power sums of one decoded block.
extension KernelSet {
    /// Σ d, Σ d², Σ d³, Σ d⁴ for d = x − shift, and the extremes of x.
    struct MomentSums {
        var s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0
        var minimum = Float.infinity, maximum = -Float.infinity
    }

    /// The power sums of `count` floats about `shift`, and (with `extremes`) their minimum and
    /// maximum (±infinity without). Accumulated in Float lanes over runs of `MTK_RUN_TERMS` and
    /// flushed into Double: each sum within a few units of Float rounding of its terms. NaN or
    /// infinity in x make a sum (or an extreme) non-finite, which is how the caller finds them.
    func momentSums(_ x: UnsafePointer<Float>, count: Int, shift: Float, extremes: Bool) -> MomentSums {
        var sums = (0.0, 0.0, 0.0, 0.0)
        var range = (Float.infinity, -Float.infinity)
        withUnsafeMutableBytes(of: &sums) { s in
            withUnsafeMutableBytes(of: &range) { r in
                table.pointee.moments(x, count, shift, extremes ? 1 : 0,
                                      s.baseAddress!.assumingMemoryBound(to: Double.self),
                                      r.baseAddress!.assumingMemoryBound(to: Float.self))
            }
        }
        return MomentSums(s1: sums.0, s2: sums.1, s3: sums.2, s4: sums.3, minimum: range.0, maximum: range.1)
    }
}
