/// The noise model of the LoRA distance: how large a singular value of the difference of two
/// stored matrices must be to count towards its rank.
enum NumericalRank {
    /// The rank tolerance for the difference of two stored matrices.
    ///
    /// Each stored weight carries a rounding error of at most `u·|w|` (`u` the unit roundoff of
    /// its dtype, and at least that of Float, in which the engine computes). Modelled as
    /// independent and uniform, the error of a difference has entries of standard deviation
    /// `s = u · rms(w) · √(2/3)`, and a random `rows × cols` matrix of such entries has spectral
    /// norm close to `s · (√rows + √cols)` (Marchenko–Pastur edge). A singular value counts when
    /// it exceeds twice that: rounding noise never does, a real update above the storage precision
    /// does. `scale` is the gain of a sketch applied to the columns (1 without a sketch).
    static func tolerance(unitRoundoff u: Double, rmsWeight: Double, rows: Int, cols: Int, scale: Double = 1) -> Double {
        let s = u * rmsWeight * (2.0 / 3.0).squareRoot()
        return 2 * s * scale * (Double(rows).squareRoot() + Double(cols).squareRoot())
    }
}
