import XCTest
@testable import ModelTree

/// Moments over blocks the test cuts itself: the shift is fixed by the first block (the mean of
/// its finite values, as the passes fix it from a tensor's first values), every block is added
/// by the scalar loop.
struct BlockMoments {
    var moments: Moments?
    mutating func add(_ x: UnsafePointer<Float>, count n: Int) {
        if moments == nil {
            var sum = 0.0, finite = 0
            for i in 0..<n where x[i].isFinite { sum += Double(x[i]); finite += 1 }
            moments = Moments(shift: finite > 0 ? sum / Double(finite) : 0)
        }
        moments!.addExact(x, count: n)
    }
}

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
            var blocks = BlockMoments()
            // Uneven blocks: the shift is fixed by the first one only.
            var start = 0
            while start < floats.count {
                let len = Swift.min(floats.count - start, 3 + start % 9_000)
                floats.withUnsafeBufferPointer { blocks.add($0.baseAddress! + start, count: len) }
                start += len
            }
            let m = blocks.moments!
            let reference = twoPassKurtosis(floats.map(Double.init))
            XCTAssertEqual(m.count, count)
            XCTAssertEqual(m.mean, reference.mean, accuracy: 1e-9 * Swift.max(1, Swift.abs(offset)))
            XCTAssertEqual(m.variance, reference.variance, accuracy: 1e-9 * reference.variance)
            XCTAssertEqual(m.excessKurtosis, reference.kurtosis, accuracy: 1e-6 * Swift.max(1, Swift.abs(reference.kurtosis)))
        }
    }

    func testConstantAndNonFinite() {
        var m = BlockMoments()
        let constant = [Float](repeating: 2, count: 100)
        constant.withUnsafeBufferPointer { m.add($0.baseAddress!, count: 100) }
        XCTAssertTrue(m.moments!.excessKurtosis.isNaN)
        XCTAssertEqual(m.moments!.variance, 0)

        var blocks = BlockMoments()
        let values: [Float] = [1, .nan, 2, .infinity, 3]
        values.withUnsafeBufferPointer { blocks.add($0.baseAddress!, count: 5) }
        let bad = blocks.moments!
        XCTAssertEqual(bad.nonFinite, 2)
        XCTAssertEqual(bad.count, 3)
        XCTAssertEqual(bad.mean, 2, accuracy: 1e-12)
    }
}
