import XCTest
@testable import ModelTree

/// The one-pass shifted moments against a plain two-pass computation in Double.
final class MomentsTests: XCTestCase {
    func twoPassKurtosis(_ x: [Double]) -> (mean: Double, variance: Double, kurtosis: Double) {
        let n = Double(x.count)
        let mean = x.reduce(0, +) / n
        let m2 = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
        let m4 = x.map { let d = $0 - mean; return d * d * d * d }.reduce(0, +) / n
        return (mean, m2, m4 / (m2 * m2) - 3)
    }

    func testMatchesTwoPassAcrossBlocksAndOffsets() {
        var s = Sampler(seed: 7)
        for (count, offset) in [(10, 0.0), (1000, 5.0), (40_000, -0.01), (70_001, 1e3)] {
            let values = (0..<count).map { _ in offset + s.laplace(0.02) }
            let floats = values.map { Float($0) }
            var m = Moments()
            // Uneven blocks: the shift is fixed by the first one only.
            var start = 0
            while start < floats.count {
                let len = Swift.min(floats.count - start, 3 + start % 9_000)
                floats.withUnsafeBufferPointer { m.add($0.baseAddress! + start, count: len) }
                start += len
            }
            let reference = twoPassKurtosis(floats.map(Double.init))
            XCTAssertEqual(m.count, count)
            XCTAssertEqual(m.mean, reference.mean, accuracy: 1e-9 * Swift.max(1, Swift.abs(offset)))
            XCTAssertEqual(m.variance, reference.variance, accuracy: 1e-9 * reference.variance)
            XCTAssertEqual(m.excessKurtosis, reference.kurtosis, accuracy: 1e-6 * Swift.max(1, Swift.abs(reference.kurtosis)))
        }
    }

    func testConstantAndNonFinite() {
        var m = Moments()
        let constant = [Float](repeating: 2, count: 100)
        constant.withUnsafeBufferPointer { m.add($0.baseAddress!, count: 100) }
        XCTAssertTrue(m.excessKurtosis.isNaN)
        XCTAssertEqual(m.variance, 0)

        var bad = Moments()
        let values: [Float] = [1, .nan, 2, .infinity, 3]
        values.withUnsafeBufferPointer { bad.add($0.baseAddress!, count: 5) }
        XCTAssertEqual(bad.nonFinite, 2)
        XCTAssertEqual(bad.count, 3)
        XCTAssertEqual(bad.mean, 2, accuracy: 1e-12)
    }
}

/// The SIMD distance kernel against a scalar Double loop.
final class DistanceKernelTests: XCTestCase {
    func testSquaredDistanceAndMax() {
        var s = Sampler(seed: 11)
        for count in [0, 1, 7, 15, 16, 17, 511, 512, 513, 1_000, 16_384, 16_389] {
            let x = (0..<count).map { _ in Float(s.gaussian()) }
            let y = x.map { $0 + Float(s.gaussian() * 1e-3) }
            var ss = 0.0, mx: Float = 0
            for i in 0..<count { let d = Double(x[i]) - Double(y[i]); ss += d * d; mx = Swift.max(mx, Swift.abs(x[i] - y[i])) }
            let (got, gotMax) = x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in
                squaredDistanceAndMax(xp.baseAddress!, yp.baseAddress!, count) } }
            XCTAssertEqual(got, ss, accuracy: 1e-6 * Swift.max(ss, 1e-30), "count \(count)")
            XCTAssertEqual(gotMax, mx, "count \(count)")
        }
    }
}
