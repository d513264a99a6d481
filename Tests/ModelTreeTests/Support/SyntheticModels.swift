@testable import ModelTree

/// Memory that backs in-memory test tensors for as long as their `Model` lives.
/// `@unchecked Sendable`: written once while the model is built, only read after.
final class TestBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    init(count: Int) { bytes = .allocate(byteCount: Swift.max(count, 1), alignment: 16) }
    deinit { bytes.deallocate() }
}

/// Deterministic random matrices for building model families whose true graph is known by
/// construction (Support/SplitMix64.swift).
struct Sampler {
    var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func uniform() -> Double { (Double(rng.next() >> 11) + 0.5) * 0x1p-53 }

    mutating func gaussian() -> Double {
        (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
    }

    /// Laplace(0, b) with variance 2b²: excess kurtosis 3, like trained weights' heavy tails.
    mutating func laplace(_ b: Double) -> Double {
        let u = uniform() - 0.5
        return -b * (u < 0 ? -1 : 1) * log(1 - 2 * Swift.abs(u))
    }

    mutating func gaussians(_ n: Int, std: Double) -> [Double] { (0..<n).map { _ in gaussian() * std } }

    /// A row-major `rows × cols` matrix of rank exactly `r` (almost surely): the product of random
    /// `rows × r` (entries of standard deviation `scale`) and `r × cols` Gaussian matrices. The
    /// difference a merged LoRA update makes.
    mutating func lowRank(_ rows: Int, _ cols: Int, _ r: Int, scale: Double = 1) -> [Double] {
        let b = gaussians(rows * r, std: scale), a = gaussians(r * cols, std: 1)
        var m = [Double](repeating: 0, count: rows * cols)
        for i in 0..<rows { for l in 0..<r { let bil = b[i * r + l]; for j in 0..<cols { m[i * cols + j] += bil * a[l * cols + j] } } }
        return m
    }
}

import Glibc

/// Builds a model from row-major Double matrices, stored in `dtype` (rounded to nearest).
func makeModel(_ id: String, _ tensors: [(name: String, shape: [Int], values: [Double])], dtype: DType = .f32) throws -> Model {
    var views: [TensorView] = []
    var owners: [any AnyObject & Sendable] = []
    for t in tensors {
        let buffer = TestBuffer(count: t.values.count * dtype.size)
        for (i, v) in t.values.enumerated() {
            switch dtype {
            case .f32: buffer.bytes.storeBytes(of: Float(v).bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
            case .f64: buffer.bytes.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
            case .f16: buffer.bytes.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            case .bf16: buffer.bytes.storeBytes(of: bfloat16Bits(Float(v)).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            default: fatalError("test helper: unsupported dtype")
            }
        }
        views.append(try TensorView(name: t.name, dtype: dtype, shape: t.shape,
                                bytes: UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<(t.values.count * dtype.size)])))
        owners.append(buffer)
    }
    return try Model(id: id, path: nil, tensors: views, owners: owners)
}

/// Float → bfloat16 with round-to-nearest-even (finite inputs).
func bfloat16Bits(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
    return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
}
