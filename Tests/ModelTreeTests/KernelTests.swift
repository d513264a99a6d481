import XCTest
import ModelTreeKernels
@testable import ModelTree

/// The C kernels of `Sources/ModelTreeKernels`, every instruction set this CPU runs
/// forced in turn, against plain Double loops on the same inputs: random rows, deltas a millionth
/// of the weights, magnitudes whose Float squares overflow, NaN and infinity, ragged and empty
/// lengths. Tolerances come from each kernel's documented accuracy, not from its output.
final class KernelTests: XCTestCase {
    /// Every set compiled in that this CPU (and OS) can run, the portable one included.
    let sets: [UnsafePointer<mtk_kernels>] = [MTK_ISA_PORTABLE, MTK_ISA_SSE2, MTK_ISA_AVX2, MTK_ISA_AVX512, MTK_ISA_NEON]
        .compactMap { mtk_kernels_for($0) }

    func name(_ k: UnsafePointer<mtk_kernels>) -> String { String(cString: k.pointee.name) }

    /// Unit roundoff of Float.
    let u = 0x1p-24
    /// A sum's bound relative to its terms: a float run of `MTK_RUN_TERMS` terms per lane, the
    /// rounding of each term and of the difference before it, the lanes' sum (in Double).
    var runBound: Double { (Double(MTK_RUN_TERMS) + 8) * u }

    /// Σ (x − y)² and max |x − y| in Double, element by element (the reference).
    func exactPair(_ rows: [Float], _ stride: Int, _ a: Int, _ b: Int, _ len: Int) -> (ss: Double, max: Double) {
        var ss = 0.0, mx = 0.0
        for i in 0..<len {
            let d = Double(rows[a * stride + i]) - Double(rows[b * stride + i])
            ss += d * d
            mx = Swift.max(mx, Swift.abs(d))
        }
        return (ss, mx)
    }

    /// Runs `k`'s pair kernel; ss and maxabs start at `ss` and `maxabs` (nil: without maximum).
    func pairBlock(_ k: UnsafePointer<mtk_kernels>, _ rows: [Float], stride: Int, n: Int, len: Int,
                   finite: [UInt8]? = nil, ss: inout [Double], maxabs: inout [Double]?) {
        rows.withUnsafeBufferPointer { r in
            ss.withUnsafeMutableBufferPointer { s in
                if var m = maxabs {
                    m.withUnsafeMutableBufferPointer { mp in
                        if let finite {
                            finite.withUnsafeBufferPointer { k.pointee.pair_block(r.baseAddress, stride, n, len, $0.baseAddress, s.baseAddress, mp.baseAddress) }
                        } else {
                            k.pointee.pair_block(r.baseAddress, stride, n, len, nil, s.baseAddress, mp.baseAddress)
                        }
                    }
                    maxabs = m
                } else if let finite {
                    finite.withUnsafeBufferPointer { k.pointee.pair_block(r.baseAddress, stride, n, len, $0.baseAddress, s.baseAddress, nil) }
                } else {
                    k.pointee.pair_block(r.baseAddress, stride, n, len, nil, s.baseAddress, nil)
                }
            }
        }
    }

    func randomRows(_ n: Int, _ stride: Int, seed: UInt64, scale: Double = 1) -> [Float] {
        var s = Sampler(seed: seed)
        return (0..<(n * stride + 1)).map { _ in Float(s.gaussian() * scale) }
    }

    // MARK: - Pair sums

    /// Every n and length shape the tiles can meet (triangles and rectangles of every size,
    /// partial vectors, several runs, nothing): sums within the run bound, maxima within one
    /// rounding, entries off the upper triangle untouched, sums identical with and without the
    /// maximum.
    func testPairBlockMatchesDoubleLoops() {
        for k in sets {
            for n in [1, 2, 3, 4, 5, 7, 8, 9, 13, 17] {
                for len in [0, 1, 5, 15, 16, 17, 33, 100, 511, 512, 513, 1031] {
                    let stride = len + 3
                    let rows = randomRows(n, stride, seed: UInt64(n * 10_000 + len))
                    // Upper triangle starts at 0.5 (the kernel adds), the rest at a sentinel.
                    var start = [Double](repeating: -7, count: n * n)
                    for a in 0..<n { for b in (a + 1)..<n { start[a * n + b] = 0.5 } }
                    var ss = start, lean = start
                    var mx: [Double]? = start.map { $0 == 0.5 ? 0 : -7 }
                    var none: [Double]? = nil
                    pairBlock(k, rows, stride: stride, n: n, len: len, ss: &ss, maxabs: &mx)
                    pairBlock(k, rows, stride: stride, n: n, len: len, ss: &lean, maxabs: &none)
                    XCTAssertEqual(ss, lean, "\(name(k)) n \(n) len \(len): sums with and without the maximum")
                    for a in 0..<n {
                        for b in 0..<n {
                            let i = a * n + b
                            guard b > a else {
                                XCTAssertEqual(ss[i], -7); XCTAssertEqual(mx![i], -7)
                                continue
                            }
                            let e = exactPair(rows, stride, a, b, len)
                            XCTAssertEqual(ss[i] - 0.5, e.ss, accuracy: runBound * e.ss + 1e-12,
                                           "\(name(k)) n \(n) len \(len) pair \(a),\(b)")
                            XCTAssertEqual(mx![i], e.max, accuracy: u * e.max, "\(name(k)) n \(n) len \(len) max \(a),\(b)")
                        }
                    }
                }
            }
        }
    }

    /// Deltas a millionth of the weights (the accuracy case of FastPathTests): the RMS distance
    /// within 1e-6 of the Double loop's, from every set.
    func testTinyDeltasKeepTheirAccuracy() {
        var s = Sampler(seed: 77)
        let n = 9, len = 4_099
        let base = (0..<len).map { _ in s.laplace(0.02) }
        var rows = [Float](repeating: 0, count: n * len)
        for r in 0..<n { for i in 0..<len { rows[r * len + i] = Float(base[i] * (1 + (r == 0 ? 0 : 1e-6 * s.gaussian()))) } }
        for k in sets {
            var ss = [Double](repeating: 0, count: n * n)
            var mx: [Double]? = ss
            pairBlock(k, rows, stride: len, n: n, len: len, ss: &ss, maxabs: &mx)
            for a in 0..<n {
                for b in (a + 1)..<n {
                    let e = exactPair(rows, len, a, b, len)
                    XCTAssertGreaterThan(e.ss, 0)
                    let rms = (e.ss / Double(len)).squareRoot()
                    XCTAssertEqual((ss[a * n + b] / Double(len)).squareRoot(), rms, accuracy: 1e-6 * rms, "\(name(k)) \(a),\(b)")
                    XCTAssertEqual(mx![a * n + b], e.max, accuracy: u * e.max)
                }
            }
        }
    }

    /// Finite weights whose Float squares (1e20) or differences (3e38 − (−3e38)) overflow: the
    /// pair is redone in Double, so every set gives the Double loop's bits.
    func testOverflowingPairsAreRedoneInDouble() {
        let len = 37
        var rows = randomRows(4, len, seed: 3, scale: 0.02)
        rows[1 * len + 5] = 1e20
        rows[2 * len + 30] = 3e38
        rows[3 * len + 30] = -3e38
        for k in sets {
            var ss = [Double](repeating: 0, count: 16)
            var mx: [Double]? = ss
            pairBlock(k, rows, stride: len, n: 4, len: len, ss: &ss, maxabs: &mx)
            for a in 0..<4 {
                for b in (a + 1)..<4 {
                    let e = exactPair(rows, len, a, b, len)
                    XCTAssertTrue(e.ss.isFinite)
                    XCTAssertEqual(ss[a * 4 + b], e.ss, "\(name(k)) \(a),\(b)")
                    XCTAssertEqual(mx![a * 4 + b], e.max, "\(name(k)) \(a),\(b)")
                }
            }
            XCTAssertEqual(mx![2 * 4 + 3], 6e38, accuracy: 1e32)
        }
    }

    /// Rows holding NaN or infinity: their pairs are non-finite (the pass skips the tensor), with
    /// or without the flags; the pairs of finite rows are unaffected.
    func testNonFiniteRowsGiveNonFinitePairsOnly() {
        let n = 5, len = 70
        var rows = randomRows(n, len, seed: 9)
        rows[2 * len + 66] = .nan
        rows[4 * len + 3] = .infinity
        let flags: [UInt8] = [1, 1, 0, 1, 0]
        for k in sets {
            for finite in [flags, nil] {
                var ss = [Double](repeating: 0, count: n * n)
                var none: [Double]? = nil
                pairBlock(k, rows, stride: len, n: n, len: len, finite: finite, ss: &ss, maxabs: &none)
                for a in 0..<n {
                    for b in (a + 1)..<n {
                        if flags[a] == 0 || flags[b] == 0 {
                            XCTAssertFalse(ss[a * n + b].isFinite, "\(name(k)) \(a),\(b)")
                        } else {
                            let e = exactPair(rows, len, a, b, len)
                            XCTAssertEqual(ss[a * n + b], e.ss, accuracy: runBound * e.ss, "\(name(k)) \(a),\(b)")
                        }
                    }
                }
            }
        }
    }

    /// A pair's sums are the same bits whatever tile it lands in (triangle, rectangle, alone),
    /// so how the driver cuts the rows, and its thread count, cannot change a result.
    func testPairResultDoesNotDependOnItsTile() {
        let n = 11, len = 1_000
        let rows = randomRows(n, len, seed: 12)
        for k in sets {
            for withMax in [false, true] {
                var all = [Double](repeating: 0, count: n * n)
                var allMax: [Double]? = withMax ? all : nil
                pairBlock(k, rows, stride: len, n: n, len: len, ss: &all, maxabs: &allMax)
                for a in 0..<n {
                    for b in (a + 1)..<n {
                        let two = Array(rows[(a * len)..<(a * len + len)] + rows[(b * len)..<(b * len + len)])
                        var ss = [Double](repeating: 0, count: 4)
                        var mx: [Double]? = withMax ? ss : nil
                        pairBlock(k, two, stride: len, n: 2, len: len, ss: &ss, maxabs: &mx)
                        XCTAssertEqual(ss[1], all[a * n + b], "\(name(k)) \(a),\(b)")
                        if withMax { XCTAssertEqual(mx![1], allMax![a * n + b]) }
                    }
                }
            }
        }
    }

    // MARK: - The Gram form

    func gramBlock(_ k: UnsafePointer<mtk_kernels>, _ rows: [Float], n: Int, len: Int, reference: [Float]?,
                   kappa: Double, ss: inout [Double]) -> Int {
        var scratch = [Float](repeating: 0, count: n * (len + Int(MTK_ROW_PAD)) + len)
        var norms = [Double](repeating: 0, count: n)
        return rows.withUnsafeBufferPointer { r in
            ss.withUnsafeMutableBufferPointer { s in
                if let reference {
                    return reference.withUnsafeBufferPointer { k.pointee.gram_block(r.baseAddress, len, n, len, $0.baseAddress, kappa, &scratch, &norms, s.baseAddress) }
                }
                return k.pointee.gram_block(r.baseAddress, len, n, len, nil, kappa, &scratch, &norms, s.baseAddress)
            }
        }
    }

    /// One family with deltas a millionth (and a hundredth) of the weights, centred on its first
    /// model or on the mean: ‖a − b‖² = N_a + N_b − 2·D_ab within 1e-6 of the Double loop's RMS
    /// (as the direct kernel), and no pair needed the fallback (the deltas are all alike).
    func testGramIsAccurateWithinOneFamily() {
        var s = Sampler(seed: 5)
        let n = 10, len = 3_001
        let base = (0..<len).map { _ in s.laplace(0.02) }
        for relative in [1e-6, 1e-2] {
            var rows = [Float](repeating: 0, count: n * len)
            for r in 0..<n {
                // A chain: each model a fine-tune of the previous one.
                for i in 0..<len {
                    let parent = r == 0 ? base[i] : Double(rows[(r - 1) * len + i])
                    rows[r * len + i] = Float(r == 0 ? parent : parent + 0.02 * relative * s.gaussian())
                }
            }
            for k in sets {
                for reference in [Array(rows[0..<len]), nil] {
                    var ss = [Double](repeating: 0, count: n * n)
                    let fallbacks = gramBlock(k, rows, n: n, len: len, reference: reference, kappa: 1.0 / 64, ss: &ss)
                    XCTAssertEqual(fallbacks, 0, "\(name(k)) \(relative)")
                    for a in 0..<n {
                        for b in (a + 1)..<n {
                            let rms = (exactPair(rows, len, a, b, len).ss / Double(len)).squareRoot()
                            XCTAssertEqual((ss[a * n + b] / Double(len)).squareRoot(), rms, accuracy: 1e-6 * rms,
                                           "\(name(k)) \(relative) reference \(reference == nil ? "mean" : "first") \(a),\(b)")
                        }
                    }
                }
            }
        }
    }

    /// Where the identity would cancel — an exact duplicate, a copy rounded to BF16-like
    /// precision, two families far apart — those pairs fall back to the direct kernel (the same
    /// bits as mtk_pair_block) and every sum stays accurate; accepting every pair (kappa −∞)
    /// shows the error the check prevents.
    func testGramFallsBackWhereItWouldCancel() {
        var s = Sampler(seed: 6)
        let len = 2_048
        let base = (0..<len).map { _ in s.laplace(0.02) }
        var rowsD = [[Double]]()
        for r in 0..<4 { rowsD.append(base.map { $0 + 0.002 * Double(r) * s.gaussian() }) }   // family A
        rowsD.append(rowsD[1])                                                                 // a duplicate of A1
        var coarse = rowsD[2]                                                                  // A2 with a BF16-sized error
        for i in 0..<len { coarse[i] *= 1 + 0x1p-9 * (s.uniform() - 0.5) }
        rowsD.append(coarse)
        for r in 0..<4 { rowsD.append(base.map { -$0 + 0.05 + 0.002 * Double(r) * s.gaussian() }) } // family B, far away
        let n = rowsD.count
        let rows = rowsD.flatMap { $0.map(Float.init) }
        for k in sets {
            var direct = [Double](repeating: 0, count: n * n)
            var none: [Double]? = nil
            pairBlock(k, rows, stride: len, n: n, len: len, ss: &direct, maxabs: &none)
            var ss = [Double](repeating: 0, count: n * n)
            let fallbacks = gramBlock(k, rows, n: n, len: len, reference: nil, kappa: 1.0 / 64, ss: &ss)
            XCTAssertGreaterThanOrEqual(fallbacks, 2, name(k))             // at least the duplicate and the rounded copy
            var worstUnchecked = 0.0
            var unchecked = [Double](repeating: 0, count: n * n)
            _ = gramBlock(k, rows, n: n, len: len, reference: nil, kappa: -.infinity, ss: &unchecked)
            for a in 0..<n {
                for b in (a + 1)..<n {
                    let e = exactPair(rows, len, a, b, len).ss
                    XCTAssertEqual(ss[a * n + b], e, accuracy: 2e-6 * e, "\(name(k)) \(a),\(b)")
                    worstUnchecked = Swift.max(worstUnchecked, Swift.abs(unchecked[a * n + b] - e) / Swift.max(e, .leastNormalMagnitude))
                }
            }
            XCTAssertEqual(ss[1 * n + 4], 0, "\(name(k)): a duplicate is at distance 0")
            XCTAssertEqual(ss[1 * n + 4], direct[1 * n + 4])
            XCTAssertEqual(ss[2 * n + 5], direct[2 * n + 5], "\(name(k)): the fallback is the direct kernel")
            XCTAssertGreaterThan(worstUnchecked, 1e-4, "\(name(k)): without the check the identity cancels")
        }
    }

    /// The Gram form's work space is what the header says, n·(len + MTK_ROW_PAD) + len floats
    /// (sentinels after it stay untouched), and its sums do not depend on how far apart the
    /// caller's rows are (the driver pads them: `StreamingPass.Worker.stride`): the same bits
    /// from contiguous rows and from rows padded like the driver's, on every set.
    func testGramStaysInItsScratchWhateverTheRowStride() {
        var s = Sampler(seed: 9)
        let pad = Int(MTK_ROW_PAD)
        for (n, len) in [(2, 1), (5, 17), (9, 100), (12, 1_024)] {
            let base = (0..<len).map { _ in s.laplace(0.02) }
            let rowsD = (0..<n).map { r in base.map { $0 + 0.002 * Double(r % 3 + 1) * s.gaussian() } }
            let contiguous = rowsD.flatMap { $0.map(Float.init) }
            let stride = len + pad
            var padded = [Float](repeating: .nan, count: n * stride)       // the padding is never read
            for r in 0..<n { for i in 0..<len { padded[r * stride + i] = contiguous[r * len + i] } }
            for k in sets {
                let need = n * (len + pad) + len, sentinel: Float = -12345
                var scratch = [Float](repeating: sentinel, count: need + 64)
                var norms = [Double](repeating: 0, count: n)
                var fromPadded = [Double](repeating: 0, count: n * n)
                _ = padded.withUnsafeBufferPointer { r in
                    fromPadded.withUnsafeMutableBufferPointer { o in
                        k.pointee.gram_block(r.baseAddress, stride, n, len, nil, 1.0 / 64, &scratch, &norms, o.baseAddress)
                    }
                }
                XCTAssertTrue(scratch[need...].allSatisfy { $0 == sentinel }, "\(name(k)) n \(n) len \(len): wrote past its scratch")
                var fromContiguous = [Double](repeating: 0, count: n * n)
                _ = gramBlock(k, contiguous, n: n, len: len, reference: nil, kappa: 1.0 / 64, ss: &fromContiguous)
                XCTAssertEqual(fromPadded, fromContiguous, "\(name(k)) n \(n) len \(len)")
                for a in 0..<n {
                    for b in (a + 1)..<n {
                        let e = exactPair(contiguous, len, a, b, len).ss
                        XCTAssertEqual(fromPadded[a * n + b], e, accuracy: 2e-6 * e, "\(name(k)) \(a),\(b)")
                    }
                }
            }
        }
    }

    // MARK: - Moments

    /// Power sums about a shift within the run bound of Σ|d|^k (each is a sum of terms of both
    /// signs), extremes exact, and untouched without `extremes`; NaN or infinity show up as a
    /// non-finite sum.
    func testMomentsMatchDoubleLoops() {
        var s = Sampler(seed: 21)
        for k in sets {
            for count in [0, 1, 7, 8, 9, 15, 16, 17, 63, 255, 256, 257, 1_000, 4_099] {
                let shift: Float = 0.3
                let x = (0..<count).map { _ in Float(0.3 + s.laplace(0.02)) }
                var want = [0.0, 0, 0, 0], magnitude = [0.0, 0, 0, 0]
                for v in x {
                    let d = Double(v - shift)
                    var p = 1.0
                    for j in 0..<4 { p *= d; want[j] += p; magnitude[j] += Swift.abs(p) }
                }
                for extremes in [Int32(1), 0] {
                    var sums = [0.0, 0, 0, 0]
                    var minmax: [Float] = [0.1, 0.9]                 // the kernel widens them
                    k.pointee.moments(x, count, shift, extremes, &sums, &minmax)
                    for j in 0..<4 {
                        XCTAssertEqual(sums[j], want[j], accuracy: runBound * magnitude[j] + 1e-300, "\(name(k)) count \(count) sum \(j + 1)")
                    }
                    let lo = Swift.min(0.1, x.min() ?? 0.1), hi = Swift.max(0.9, x.max() ?? 0.9)
                    XCTAssertEqual(minmax, extremes == 1 ? [lo, hi] : [0.1, 0.9], "\(name(k)) count \(count)")
                    var more = [0.25, 0.5, 0.75, 1]                  // and adds to the sums
                    k.pointee.moments(x, count, shift, extremes, &more, &minmax)
                    XCTAssertEqual(more, zip([0.25, 0.5, 0.75, 1], sums).map { $0 + $1 })
                }
            }
            for bad in [Float.nan, .infinity] {
                var x = (0..<100).map { _ in Float(s.gaussian()) }
                x[57] = bad
                var sums = [0.0, 0, 0, 0]
                var minmax: [Float] = [.infinity, -.infinity]
                k.pointee.moments(x, 100, 0, 1, &sums, &minmax)
                XCTAssertFalse(sums.allSatisfy(\.isFinite) && minmax.allSatisfy(\.isFinite), "\(name(k)) \(bad)")
            }
        }
    }

    // MARK: - Sketch products

    /// C = A·B against a Double loop within k·u·Σ|a·b| (Float) or k·2⁻⁵³·Σ|a·b| (Double), across
    /// the blocking's edges (rows past a register tile, columns past a panel, k past a block, row
    /// strides wider than the rows).
    func testGemmMatchesDoubleLoops() {
        var s = Sampler(seed: 33)
        for (m, n, kk) in [(1, 1, 1), (5, 9, 3), (70, 33, 600), (13, 17, 257), (8, 16, 0), (3, 40, 64)] {
            let lda = kk + 2, ldb = n + 1, ldc = n + 3
            let a = (0..<(m * lda)).map { _ in s.gaussian() }, b = (0..<(kk * ldb)).map { _ in s.gaussian() }
            let af = a.map(Float.init), bf = b.map(Float.init)
            for k in sets {
                var cf = [Float](repeating: .nan, count: m * ldc), cd = [Double](repeating: .nan, count: m * ldc)
                XCTAssertEqual(k.pointee.gemm_f32(m, n, kk, af, lda, bf, ldb, &cf, ldc), 0)
                XCTAssertEqual(k.pointee.gemm_f64(m, n, kk, a, lda, b, ldb, &cd, ldc), 0)
                for i in 0..<m {
                    for j in 0..<n {
                        var wantF = 0.0, magF = 0.0, wantD = 0.0, magD = 0.0
                        for l in 0..<kk {
                            let pf = Double(af[i * lda + l]) * Double(bf[l * ldb + j])
                            wantF += pf; magF += Swift.abs(pf)
                            let pd = a[i * lda + l] * b[l * ldb + j]
                            wantD += pd; magD += Swift.abs(pd)
                        }
                        XCTAssertEqual(Double(cf[i * ldc + j]), wantF, accuracy: Double(kk + 1) * u * magF, "\(name(k)) f32 \(m)×\(n)×\(kk) (\(i),\(j))")
                        XCTAssertEqual(cd[i * ldc + j], wantD, accuracy: Double(kk + 1) * 0x1p-53 * magD, "\(name(k)) f64 \(m)×\(n)×\(kk) (\(i),\(j))")
                    }
                    // Columns between n and ldc are not written.
                    for j in n..<ldc { XCTAssertTrue(cf[i * ldc + j].isNaN); XCTAssertTrue(cd[i * ldc + j].isNaN) }
                }
            }
        }
    }

    // MARK: - The QR step

    /// x_j − (2·(v·x_j)/vᵀv)·v for columns of a strided matrix, lengths around the vector widths
    /// and none: within a few roundings of Σ|v·x| of a Double loop, columns outside untouched.
    func testReflectMatchesDoubleLoops() {
        var s = Sampler(seed: 55)
        for len in [1, 2, 3, 5, 8, 9, 16, 17, 31, 96] {
            let cols = 5, lda = len + 3
            let v = (0..<len).map { _ in s.gaussian() }
            let vtv = v.reduce(0) { $0 + $1 * $1 }
            let a = (0..<(cols * lda + 2)).map { _ in s.gaussian() }
            for k in sets {
                for count in [0, 1, cols] {
                    var out = a
                    v.withUnsafeBufferPointer { vp in
                        out.withUnsafeMutableBufferPointer { KernelSet(table: k).reflect(vp.baseAddress!, length: len, vtv: vtv,
                                                                                          columns: $0.baseAddress!, stride: lda, count: count) }
                    }
                    for j in 0..<cols {
                        var dot = 0.0, magnitude = 0.0
                        for i in 0..<len { dot += v[i] * a[j * lda + i]; magnitude += Swift.abs(v[i] * a[j * lda + i]) }
                        let scale = 2 / vtv
                        for i in 0..<lda {
                            let at = j * lda + i
                            guard j < count && i < len else {
                                XCTAssertEqual(out[at], a[at], "\(name(k)) len \(len): untouched (\(j), \(i))")
                                continue
                            }
                            let want = a[at] - scale * dot * v[i]
                            let bound = 4 * Double(len + 2) * 0x1p-53 * (scale * magnitude * Swift.abs(v[i]) + Swift.abs(a[at]))
                            XCTAssertEqual(out[at], want, accuracy: bound, "\(name(k)) len \(len) (\(j), \(i))")
                        }
                    }
                    XCTAssertEqual(Array(out.suffix(2)), Array(a.suffix(2)))
                }
            }
        }
    }

    // MARK: - Decoding

    /// Every F16 and BF16 bit pattern, and F32 / F64 values of every kind (subnormal, huge,
    /// overflowing to infinity, signed zeros, NaN), from an odd address and in lengths around
    /// the vector widths: every set gives Swift's own conversions (`Float(Float16)`, the BF16
    /// definition, `Float(Double)`), NaN for NaN.
    func testDecodeMatchesSwiftConversions() {
        var s = Sampler(seed: 44)
        let halves = (0...UInt16.max).map { $0 }
        var doubles: [Double] = [0, -0.0, 1, -1, .infinity, -.infinity, .nan, 1e-40, -1e-45, 1e-320, 3.4028235e38,
                                 3.5e38, -1e39, Double(Float.leastNonzeroMagnitude) / 2, Double(Float.leastNonzeroMagnitude) * 0.75,
                                 1 + 0x1p-24, 1 + 0x1p-24 + 0x1p-52, 1 + 3 * 0x1p-24]
        doubles += (0..<1_000).map { _ in s.gaussian() * pow(10, Double(Int(s.uniform() * 80) - 40)) }
        let floats = doubles.map(Float.init) + (0..<64).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: Int(s.uniform() * 4e9))) }

        func check(_ dtype: DType, _ bytes: [UInt8], _ count: Int, _ want: (Int) -> Float) {
            for k in sets {
                for length in Set([0, 1, 3, 7, 8, 15, 16, 17, 31, 33, count]) where length <= count {
                    var target = [Float](repeating: -7, count: length + 1)
                    // One byte in: no alignment is assumed.
                    let shifted = [0] + bytes
                    shifted.withUnsafeBytes { raw in
                        target.withUnsafeMutableBufferPointer {
                            KernelSet(table: k).decode(dtype, raw.baseAddress! + 1, count: length, into: $0.baseAddress!)
                        }
                    }
                    XCTAssertEqual(target[length], -7, "\(name(k)) \(dtype) wrote past \(length)")
                    for i in 0..<length {
                        let w = want(i)
                        if w.isNaN {
                            XCTAssertTrue(target[i].isNaN, "\(name(k)) \(dtype) #\(i)")
                        } else {
                            XCTAssertEqual(target[i].bitPattern, w.bitPattern, "\(name(k)) \(dtype) #\(i): \(target[i]) for \(w)")
                        }
                    }
                }
            }
        }
        let halfBytes = halves.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #if arch(x86_64) || arch(arm64)
        check(.f16, halfBytes, halves.count) { Float(Float16(bitPattern: halves[$0])) }
        #endif
        check(.bf16, halfBytes, halves.count) { Float(bitPattern: UInt32(halves[$0]) << 16) }
        check(.f32, floats.flatMap { f in (0..<4).map { UInt8(truncatingIfNeeded: f.bitPattern >> (8 * $0)) } }, floats.count) { floats[$0] }
        check(.f64, doubles.flatMap { d in (0..<8).map { UInt8(truncatingIfNeeded: d.bitPattern >> (8 * $0)) } }, doubles.count) { Float(doubles[$0]) }
    }

    // MARK: - Selection

    /// MODELTREE_KERNEL's rule: a named set this CPU runs, else the best supported below it, an
    /// unknown or empty name the best; the active set is that rule applied to the environment.
    func testSelectionFollowsTheRequestAndTheCPU() {
        let ordered = [MTK_ISA_AVX512, MTK_ISA_AVX2, MTK_ISA_NEON, MTK_ISA_SSE2, MTK_ISA_PORTABLE].compactMap { mtk_kernels_for($0) }
        XCTAssertEqual(name(mtk_kernels_named(nil)), name(ordered[0]))
        XCTAssertEqual(name(mtk_kernels_named("")), name(ordered[0]))
        XCTAssertEqual(name(mtk_kernels_named("no-such-set")), name(ordered[0]))
        XCTAssertEqual(name(mtk_kernels_named("portable")), "portable")
        for k in sets { XCTAssertEqual(name(mtk_kernels_named(k.pointee.name)), name(k)) }
        #if arch(x86_64)
        XCTAssertNotNil(mtk_kernels_for(MTK_ISA_SSE2))
        XCTAssertEqual(name(mtk_kernels_named("sse2")), "sse2")
        if mtk_kernels_for(MTK_ISA_AVX512) == nil {
            XCTAssertEqual(name(mtk_kernels_named("avx512")), name(mtk_kernels_for(MTK_ISA_AVX2) ?? mtk_kernels_for(MTK_ISA_SSE2)!))
        }
        #endif
        let env = getenv("MODELTREE_KERNEL")
        XCTAssertEqual(name(mtk_kernels_active()), name(mtk_kernels_named(env)))
    }
}
