// SwiftKernels.swift — verbatim copies of the Swift kernels of main at the time the C kernels
// were written (Sources/ModelTree/Distance/PairwiseStatistics.swift, Stats/Moments.swift,
// Distance/RankDistances.swift), the baseline the benchmark measures the C kernels against in the
// same run. Only the pair loop of `segmentPartial` is restated (as `swiftPairBlock`), around them.

/// Σ (x − y)² and max |x − y| in Double: the fallback of the Float kernels for a block whose
/// Float squares overflow (finite weights beyond ~1.8e19; in Double nothing a Float holds can).
func exactSquaredDistanceAndMax(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> (Double, Double) {
    var sum = 0.0, largest = 0.0
    for i in 0..<count {
        let d = Double(x[i]) - Double(y[i])
        sum += d * d
        largest = Swift.max(largest, Swift.abs(d))
    }
    return (sum, largest)
}

/// Lane-wise max(|a|, |b|).
@inline(__always)
func magnitudeMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    let mask = SIMD8<UInt32>(repeating: 0x7FFF_FFFF)
    let x = unsafeBitCast(unsafeBitCast(a, to: SIMD8<UInt32>.self) & mask, to: SIMD8<Float>.self)
    let y = unsafeBitCast(unsafeBitCast(b, to: SIMD8<UInt32>.self) & mask, to: SIMD8<Float>.self)
    return x.replacing(with: y, where: y .> x)
}

/// Σ (x − y)² and Σ (x − z)² over `count` floats, accumulated as in `squaredDistanceAndMax`:
/// one load of x serves two partners.
@inline(__always)
func squaredDistances2(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafePointer<Float>,
                       _ count: Int) -> (Double, Double) {
    typealias V = SIMD8<Float>
    var ty = 0.0, tz = 0.0
    var i = 0
    let vectorEnd = count & ~15
    while i < vectorEnd {
        let runEnd = Swift.min(vectorEnd, i + 512)
        var y0 = V(repeating: 0), y1 = V(repeating: 0), z0 = V(repeating: 0), z1 = V(repeating: 0)
        while i < runEnd {
            let x0 = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            let x1 = UnsafeRawPointer(x + i + 8).loadUnaligned(as: V.self)
            let dy0 = x0 - UnsafeRawPointer(y + i).loadUnaligned(as: V.self)
            let dy1 = x1 - UnsafeRawPointer(y + i + 8).loadUnaligned(as: V.self)
            let dz0 = x0 - UnsafeRawPointer(z + i).loadUnaligned(as: V.self)
            let dz1 = x1 - UnsafeRawPointer(z + i + 8).loadUnaligned(as: V.self)
            y0 += dy0 * dy0; y1 += dy1 * dy1
            z0 += dz0 * dz0; z1 += dz1 * dz1
            i += 16
        }
        ty += Double((y0 + y1).sum())
        tz += Double((z0 + z1).sum())
    }
    while i < count {
        let dy = x[i] - y[i], dz = x[i] - z[i]
        ty += Double(dy * dy)
        tz += Double(dz * dz)
        i += 1
    }
    return (ty, tz)
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
            // |d| by clearing the sign bit; max by masks (the generic pointwiseMax is a call).
            let m = magnitudeMax(d0, d1)
            maxLanes = maxLanes.replacing(with: m, where: m .> maxLanes)
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

enum SwiftMoments {
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

/// A `k × n` matrix given by `element(i, j)` in panels of 8 columns: panel p holds columns
/// 8p..<8p+8 as k consecutive groups of 8 (zero-padded), the layout `multiply` streams.
func packPanels<T: BinaryFloatingPoint>(_ k: Int, _ n: Int, _ element: (Int, Int) -> T) -> [T] {
    let panels = (n + 7) / 8
    var out = [T](repeating: 0, count: panels * k * 8)
    for p in 0..<panels {
        for i in 0..<k {
            for l in 0..<8 where p * 8 + l < n { out[(p * k + i) * 8 + l] = element(i, p * 8 + l) }
        }
    }
    return out
}

/// Row-major `m × n` product of a row-major `m × k` matrix and a `k × n` matrix packed by
/// `packPanels`: 4 × 8 register tiles, accumulated in `T` (Float for BF16/F16 weights, whose
/// rounding is far coarser; Double for F32, whose tolerance is at Float's own rounding).
@_specialize(where T == Float)
@_specialize(where T == Double)
func multiply<T: BinaryFloatingPoint & SIMDScalar>(_ a: [T], _ m: Int, _ k: Int, _ panels: [T], _ n: Int) -> [T] {
    typealias V = SIMD8<T>
    var c = [T](repeating: 0, count: m * n)
    let panelCount = (n + 7) / 8
    a.withUnsafeBufferPointer { aBuf in
        panels.withUnsafeBufferPointer { bBuf in
            c.withUnsafeMutableBufferPointer { cBuf in
                let A = aBuf.baseAddress!, B = bBuf.baseAddress!, C = cBuf.baseAddress!
                func store(_ v: V, row: Int, panel: Int) {
                    for l in 0..<8 where panel * 8 + l < n { C[row * n + panel * 8 + l] = v[l] }
                }
                for p in 0..<panelCount {
                    let panel = B + p * k * 8
                    var i = 0
                    while i + 4 <= m {
                        var c0 = V(repeating: 0), c1 = V(repeating: 0), c2 = V(repeating: 0), c3 = V(repeating: 0)
                        let a0 = A + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k
                        for l in 0..<k {
                            let b = UnsafeRawPointer(panel + l * 8).loadUnaligned(as: V.self)
                            c0 += V(repeating: a0[l]) * b
                            c1 += V(repeating: a1[l]) * b
                            c2 += V(repeating: a2[l]) * b
                            c3 += V(repeating: a3[l]) * b
                        }
                        store(c0, row: i, panel: p); store(c1, row: i + 1, panel: p)
                        store(c2, row: i + 2, panel: p); store(c3, row: i + 3, panel: p)
                        i += 4
                    }
                    while i < m {
                        var c0 = V(repeating: 0)
                        let a0 = A + i * k
                        for l in 0..<k { c0 += V(repeating: a0[l]) * UnsafeRawPointer(panel + l * 8).loadUnaligned(as: V.self) }
                        store(c0, row: i, panel: p)
                        i += 1
                    }
                }
            }
        }
    }
    return c
}

/// The pair loop of `PairwiseStatistics.segmentPartial` over one decoded block (every row finite).
func swiftPairBlock(_ buffer: UnsafeMutablePointer<Float>, block: Int, n: Int, len: Int,
                    ss: UnsafeMutablePointer<Double>, mx: UnsafeMutablePointer<Double>?) {
    func exact(_ a: Int, _ b: Int) -> (Double, Double)? {
        exactSquaredDistanceAndMax(buffer + a * block, buffer + b * block, len)
    }
    if let mx {
        for a in 0..<n {
            for b in (a + 1)..<n {
                var (s, m) = squaredDistanceAndMax(buffer + a * block, buffer + b * block, len)
                var mm = Double(m)
                if !(s.isFinite && m.isFinite), let e = exact(a, b) { (s, mm) = e }
                ss[a * n + b] += s
                mx[a * n + b] = Swift.max(mx[a * n + b], mm)
            }
        }
    } else {
        for a in 0..<n {
            let x = buffer + a * block
            var b = a + 1
            while b + 1 < n {
                var (s0, s1) = squaredDistances2(x, buffer + b * block, buffer + (b + 1) * block, len)
                if !s0.isFinite, let e = exact(a, b) { s0 = e.0 }
                if !s1.isFinite, let e = exact(a, b + 1) { s1 = e.0 }
                ss[a * n + b] += s0
                ss[a * n + b + 1] += s1
                b += 2
            }
            if b < n {
                var s0 = squaredDistances2(x, buffer + b * block, buffer + b * block, len).0
                if !s0.isFinite, let e = exact(a, b) { s0 = e.0 }
                ss[a * n + b] += s0
            }
        }
    }
}

// MARK: - Decoding (DType.decode and halfToFloat of Sources/ModelTree/Tensors/DType.swift before
// the decode kernels)

/// Decodes `count` little-endian elements (2 bytes: BF16 or F16; 8: F64) into `target`.
@inline(__always)
func swiftDecode(_ kind: String, _ source: UnsafeRawPointer, count: Int, into target: UnsafeMutablePointer<Float>) {
    switch kind {
    case "bf16":
        for i in 0..<count {
            let h = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            target[i] = Float(bitPattern: UInt32(h) << 16)
        }
    case "f16":
        for i in 0..<count {
            let h = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            target[i] = halfToFloat(h)
        }
    default:
        for i in 0..<count {
            target[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        }
    }
}

@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let rest = UInt32(h & 0x7FFF) << 13
    let exp = h & 0x7C00
    let bits: UInt32
    if exp == 0x7C00 {
        bits = rest | 0x7F80_0000
    } else if exp == 0 {
        let magic = Float(bitPattern: 113 << 23)
        let f = Float(bitPattern: rest | (113 << 23)) - magic
        bits = f.bitPattern
    } else {
        bits = rest &+ ((127 - 15) << 23)
    }
    return Float(bitPattern: sign | bits)
}
