/// The pair kernel of the statistics pass: every pair of rows of one decoded block.
///
/// The signatures are the contract (pointers and counts only, nothing Swift-specific), so that a
/// run-time dispatched AVX2/AVX-512 implementation in C can replace the bodies; the Swift SIMD
/// bodies are the portable fallback. Results must not depend on anything but the inputs (the
/// pass's output is independent of the thread count because of it).
enum PairKernels {
    /// For every pair a < b of the `rows` rows of `block` (row r holds `count` floats at
    /// `block + r * stride`): `sums[a * rows + b]` = Σᵢ (x_a[i] − x_b[i])², and when `maxAbs` is
    /// given, `maxAbs[a * rows + b]` = maxᵢ |x_a[i] − x_b[i]|. Entries with a ≥ b are not written.
    ///
    /// Squares are accumulated in Float lanes over runs of at most 512 elements and flushed into
    /// Double, which keeps each sum exact to Float rounding of its terms at memory speed. A
    /// difference above ~1.8e19 overflows a Float square: the result for that pair is then not
    /// finite, and the caller redoes it with `exactSquaredDistanceAndMax`.
    ///
    /// Cost: 3 vector operations per pair and element (5 with the maximum); without the maximum,
    /// rows are taken two partners at a time so that one load of x serves both.
    static func squaredDistances(_ block: UnsafePointer<Float>, rows: Int, stride: Int, count: Int,
                                 sums: UnsafeMutablePointer<Double>, maxAbs: UnsafeMutablePointer<Double>?) {
        if let maxAbs {
            for a in 0..<rows {
                for b in (a + 1)..<rows {
                    let (s, m) = squaredDistanceAndMax(block + a * stride, block + b * stride, count)
                    sums[a * rows + b] = s
                    maxAbs[a * rows + b] = Double(m)
                }
            }
            return
        }
        for a in 0..<rows {
            let x = block + a * stride
            var b = a + 1
            while b + 1 < rows {
                let (s0, s1) = squaredDistances2(x, block + b * stride, block + (b + 1) * stride, count)
                sums[a * rows + b] = s0
                sums[a * rows + b + 1] = s1
                b += 2
            }
            if b < rows {
                sums[a * rows + b] = squaredDistances2(x, block + b * stride, block + b * stride, count).0
            }
        }
    }

    /// Σ (x − y)² and max |x − y| over `count` floats, in Double: the fallback for a pair whose
    /// Float sums overflow (in Double nothing a Float holds can).
    static func exactSquaredDistanceAndMax(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> (Double, Double) {
        var sum = 0.0, largest = 0.0
        for i in 0..<count {
            let d = Double(x[i]) - Double(y[i])
            sum += d * d
            largest = Swift.max(largest, Swift.abs(d))
        }
        return (sum, largest)
    }
}

/// Lane-wise max(|a|, |b|).
@inline(__always)
private func magnitudeMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    let mask = SIMD8<UInt32>(repeating: 0x7FFF_FFFF)
    let x = unsafeBitCast(unsafeBitCast(a, to: SIMD8<UInt32>.self) & mask, to: SIMD8<Float>.self)
    let y = unsafeBitCast(unsafeBitCast(b, to: SIMD8<UInt32>.self) & mask, to: SIMD8<Float>.self)
    return x.replacing(with: y, where: y .> x)
}

/// Σ (x − y)² and Σ (x − z)² over `count` floats, accumulated as in `squaredDistanceAndMax`.
@inline(__always)
private func squaredDistances2(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafePointer<Float>,
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

/// Σ (x − y)² (in Double) and max |x − y| over `count` floats.
@inline(__always)
private func squaredDistanceAndMax(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> (Double, Float) {
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
