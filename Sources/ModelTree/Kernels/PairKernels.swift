import ModelTreeKernels

/// The pair kernels of the statistics pass (`pair.inc`): every pair of rows of one decoded block.
extension KernelSet {
    /// For every pair a < b of the `rows` rows of `block` (row r holds `count` floats at
    /// `block + r * stride`): `sums[a * rows + b]` += Σᵢ (x_a[i] − x_b[i])², and when `maxAbs` is
    /// given, `maxAbs[a * rows + b]` = max(itself, maxᵢ |x_a[i] − x_b[i]|). Entries with a ≥ b are
    /// not touched.
    ///
    /// Squares are accumulated in Float lanes over runs of `MTK_RUN_TERMS` terms and flushed into
    /// Double: each sum is exact to Float rounding of its terms. A pair of rows flagged finite in
    /// `finite` (nil: all) whose Float arithmetic overflows (|x| beyond ~1.8e19) is redone in
    /// Double; a pair with a non-finite row gives a non-finite sum (the pass skips its tensor).
    /// The result of a pair does not depend on the other rows of the block.
    ///
    /// Cost: rows(rows − 1)/2 · count pair-elements, 2 vector operations each (4 with the maximum).
    func addSquaredDistances(_ block: UnsafePointer<Float>, rows: Int, stride: Int, count: Int,
                             finite: UnsafePointer<UInt8>?, sums: UnsafeMutablePointer<Double>,
                             maxAbs: UnsafeMutablePointer<Double>?) {
        table.pointee.pair_block(block, stride, rows, count, finite, sums, maxAbs)
    }

    /// The sums of `addSquaredDistances` (without the maximum) by the Gram form: with
    /// c = x − (the block's column mean), Σ (x_a − x_b)² = ‖c_a‖² + ‖c_b‖² − 2 c_a·c_b, one fused
    /// multiply-add per pair-element. A pair is taken from the identity only where its
    /// cancellation is bounded (‖c_a‖² + ‖c_b‖² ≤ 64 · the result, so its error stays within 64
    /// roundings of the terms); any other pair — duplicates, rounded copies, pairs far from the
    /// mean, overflow — is computed by the direct kernel, with the same bits as
    /// `addSquaredDistances`. Every row must be finite.
    ///
    /// `scratch` holds rows · (count + `MTK_ROW_PAD`) + count floats, `norms` rows doubles.
    /// - Returns: the number of pairs that took the direct kernel.
    @discardableResult
    func addSquaredDistancesGram(_ block: UnsafePointer<Float>, rows: Int, stride: Int, count: Int,
                                 scratch: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Double>,
                                 sums: UnsafeMutablePointer<Double>) -> Int {
        table.pointee.gram_block(block, stride, rows, count, nil, Self.gramKappa, scratch, norms, sums)
    }

    /// The Gram form's acceptance bound (see `addSquaredDistancesGram`).
    static let gramKappa = 1.0 / 64
}
