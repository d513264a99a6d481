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

    /// Numerical rank of `a − b`, two column-major `rows × columns` sketches of two
    /// `matrixRows × matrixColumns` matrices (the matrices themselves when the sizes agree),
    /// against `tolerance` for weights of squared norms summing to `sumSquares` (both matrices)
    /// and the coarser storage's `unitRoundoff`. A side reduced by a sketch multiplies the noise
    /// by the square root of its reduction (the gain of a Gaussian or sparse sign embedding).
    /// Pivoted QR (`LinearAlgebra.pivotedQRRank`).
    static func rankOfDifference(_ a: [Double], _ b: [Double], rows: Int, columns: Int, matrixRows: Int, matrixColumns: Int,
                                 sumSquares: Double, unitRoundoff: Double, kernels: KernelSet = .active) -> Int {
        let rmsWeight = (sumSquares / Double(2 * matrixRows * matrixColumns)).squareRoot()
        let rowGain = rows < matrixRows ? Double(matrixRows) / Double(rows) : 1
        let colGain = columns < matrixColumns ? Double(matrixColumns) / Double(columns) : 1
        var d = [Double](repeating: 0, count: rows * columns)
        for i in 0..<d.count { d[i] = a[i] - b[i] }
        let tol = tolerance(unitRoundoff: unitRoundoff, rmsWeight: rmsWeight, rows: rows, cols: columns,
                            scale: (rowGain * colGain).squareRoot())
        return LinearAlgebra.pivotedQRRank(&d, rows: rows, cols: columns, tolerance: tol, kernels: kernels)
    }
}
