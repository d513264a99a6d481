/// The element encodings of ggml (the `ggml_type` of a GGUF tensor info), with their block
/// geometry, and the dequantizers of those libmodeltree reads.
///
/// A ggml tensor is stored row by row (ne[0] elements per row) in blocks: `blockSize` elements
/// take `typeSize` bytes, and a row is a whole number of blocks. The sizes are those of ggml's
/// `type_traits` (gguf-py's `GGML_QUANT_SIZES`); a test checks them against gguf-py's table.
/// Every type the GGUF format defines today is listed, so that a file holding one we cannot
/// dequantize still has its layout validated and the tensor can be named in an error or warning;
/// `canDequantize` says which we decode.
public enum GGMLType: UInt32, CaseIterable, Sendable {
    case f32 = 0, f16 = 1
    case q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_XXS = 16, iq2_XS = 17, iq3_XXS = 18, iq1_S = 19, iq4_NL = 20, iq3_S = 21, iq2_S = 22, iq4_XS = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28
    case iq1_M = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35
    case mxfp4 = 39, nvfp4 = 40, q1_0 = 41

    /// ggml's name (`Q4_K`, `BF16`, …), as llama.cpp and gguf-py print it.
    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .q8_K: return "Q8_K"
        case .iq2_XXS: return "IQ2_XXS"
        case .iq2_XS: return "IQ2_XS"
        case .iq3_XXS: return "IQ3_XXS"
        case .iq1_S: return "IQ1_S"
        case .iq4_NL: return "IQ4_NL"
        case .iq3_S: return "IQ3_S"
        case .iq2_S: return "IQ2_S"
        case .iq4_XS: return "IQ4_XS"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .f64: return "F64"
        case .iq1_M: return "IQ1_M"
        case .bf16: return "BF16"
        case .tq1_0: return "TQ1_0"
        case .tq2_0: return "TQ2_0"
        case .mxfp4: return "MXFP4"
        case .nvfp4: return "NVFP4"
        case .q1_0: return "Q1_0"
        }
    }

    /// Elements per block (1 for the plain types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_NL, .mxfp4: return 32
        case .nvfp4: return 64
        case .q1_0: return 128
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq2_XXS, .iq2_XS, .iq3_XXS, .iq1_S, .iq3_S,
             .iq2_S, .iq4_XS, .iq1_M, .tq1_0, .tq2_0:
            return 256
        }
    }

    /// Bytes per block.
    public var typeSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .f64, .i64: return 8
        case .i8: return 1
        case .q4_0, .iq4_NL: return 18            // f16 d, 16 bytes of nibbles
        case .q4_1: return 20                     // f16 d, f16 m, 16 bytes of nibbles
        case .q5_0: return 22                     // f16 d, 4 bytes of high bits, 16 of nibbles
        case .q5_1: return 24
        case .q8_0: return 34                     // f16 d, 32 int8
        case .q8_1: return 40
        case .q2_K: return 84                     // 16 scales, 64 bytes of 2-bit q, f16 d, f16 dmin
        case .q3_K: return 110                    // 32 hmask, 64 q, 12 scales, f16 d
        case .q4_K: return 144                    // f16 d, f16 dmin, 12 scales, 128 q
        case .q5_K: return 176                    // f16 d, f16 dmin, 12 scales, 32 qh, 128 q
        case .q6_K: return 210                    // 128 ql, 64 qh, 16 int8 scales, f16 d
        case .q8_K: return 292
        case .iq2_XXS: return 66
        case .iq2_XS: return 74
        case .iq3_XXS: return 98
        case .iq1_S: return 50
        case .iq3_S: return 110
        case .iq2_S: return 82
        case .iq4_XS: return 136
        case .iq1_M: return 56
        case .tq1_0: return 54
        case .tq2_0: return 66
        case .mxfp4: return 17
        case .nvfp4: return 36
        case .q1_0: return 18
        }
    }

    /// Whether libmodeltree dequantizes this type to Float (the integer types hold no weights
    /// and are not decoded; the IQ, TQ, FP4, Q1 and Q8_1/Q8_K types are not implemented).
    public var canDequantize: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K:
            return true
        default:
            return false
        }
    }

    /// The integer types (I8 … I64): token ids and the like, never weights to compare.
    public var isInteger: Bool {
        switch self {
        case .i8, .i16, .i32, .i64: return true
        default: return false
        }
    }

    /// The bytes of a row of `elements` elements: nil when `elements` is not a whole number of
    /// blocks (ggml refuses such a tensor) or the size overflows.
    public func rowBytes(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        return checkedProduct(elements / blockSize, typeSize)
    }
}

/// The dequantizers: pure functions from the bytes of whole blocks to Float.
///
/// Each reproduces gguf-py's `gguf/quants.py` (`dequantize_blocks`) and ggml's
/// `dequantize_row_*` (`ggml-quants.c`) operation for operation in Float arithmetic — the same
/// products in the same order, no fused multiply-add — so the results are bit-identical to
/// gguf-py's (FormatsGGUFTests compare every type on files gguf-py wrote).
public enum GGMLDequantizer {
    /// Decodes `blocks` consecutive blocks of `type` from `source` (any alignment) into
    /// `blocks * type.blockSize` floats at `target`; the float types through `kernels`' decoders
    /// (exact on every set).
    /// - Precondition: `type.canDequantize`.
    static func decode(_ type: GGMLType, _ source: UnsafeRawPointer, blocks: Int,
                       into target: UnsafeMutablePointer<Float>, kernels: KernelSet = .active) {
        precondition(type.canDequantize, "no dequantizer for \(type.name)")
        let stride = type.typeSize, n = type.blockSize
        switch type {
        case .f32: kernels.decode(.f32, source, count: blocks, into: target)
        case .f16: kernels.decode(.f16, source, count: blocks, into: target)
        case .bf16: kernels.decode(.bf16, source, count: blocks, into: target)
        case .f64: kernels.decode(.f64, source, count: blocks, into: target)
        default:
            for b in 0..<blocks {
                let block = source + b * stride, y = target + b * n
                switch type {
                case .q8_0: q8_0(block, y)
                case .q4_0: q4_0(block, y)
                case .q4_1: q4_1(block, y)
                case .q5_0: q5_0(block, y)
                case .q5_1: q5_1(block, y)
                case .q2_K: q2_K(block, y)
                case .q3_K: q3_K(block, y)
                case .q4_K: q4_5_K(block, y, fifthBit: false)
                case .q5_K: q4_5_K(block, y, fifthBit: true)
                case .q6_K: q6_K(block, y)
                default: preconditionFailure("unreachable: \(type.name)")
                }
            }
        }
    }

    /// The grid step of each element of `blocks` blocks: for the float types their spacing at
    /// the value (`FloatGrid`); for the _0 and _1 types the block's scale d; for the K-quants the
    /// sub-block's d·scale (Q2_K, Q3_K, Q6_K: per 16 elements; Q4_K, Q5_K: per 32), read from the
    /// same bytes, in the same Float arithmetic, as `decode`.
    /// - Precondition: `type.canDequantize`.
    static func steps(_ type: GGMLType, _ source: UnsafeRawPointer, blocks: Int,
                      into target: UnsafeMutablePointer<Float>, kernels: KernelSet = .active) {
        let stride = type.typeSize, n = type.blockSize
        switch type {
        case .f32, .f16, .bf16, .f64:
            decode(type, source, blocks: blocks, into: target, kernels: kernels)
            let dtype: DType = type == .f16 ? .f16 : type == .bf16 ? .bf16 : type == .f64 ? .f64 : .f32
            FloatGrid(dtype).steps(target, count: blocks * n)
        default:
            for b in 0..<blocks {
                let x = source + b * stride, y = target + b * n
                switch type {
                case .q8_0, .q4_0, .q5_0, .q4_1, .q5_1:
                    y.update(repeating: abs(half(x, 0)), count: n)
                case .q2_K:
                    let d = half(x, 80)
                    for e in 0..<256 { y[e] = abs(d * Float(x.load(fromByteOffset: e >> 4, as: UInt8.self) & 0x0F)) }
                case .q3_K:
                    let sc = (x + 96).assumingMemoryBound(to: UInt8.self), d = half(x, 108)
                    for k in 0..<16 {
                        let low = k < 8 ? sc[k] & 0x0F : sc[k - 8] >> 4
                        let high = (sc[8 + k % 4] >> (2 * (k / 4))) & 3
                        (y + 16 * k).update(repeating: abs(d * Float(Int8(bitPattern: low | high << 4) - 32)), count: 16)
                    }
                case .q4_K, .q5_K:
                    let d = half(x, 0), scales = (x + 4).assumingMemoryBound(to: UInt8.self)
                    for j in 0..<8 { (y + 32 * j).update(repeating: abs(d * scaleMin(scales, j).0), count: 32) }
                case .q6_K:
                    let sc = (x + 192).assumingMemoryBound(to: Int8.self), d = half(x, 208)
                    for k in 0..<16 { (y + 16 * k).update(repeating: abs(d * Float(sc[k])), count: 16) }
                default: preconditionFailure("unreachable: \(type.name)")
                }
            }
        }
    }

    /// A block's F16 scale: IEEE binary16 to binary32 exactly (normals, subnormals, ±0, inf,
    /// NaN) by bit manipulation, one at a time (the decode kernels convert runs of them).
    @inline(__always) private static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        let h = UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
        let sign = UInt32(h & 0x8000) << 16
        let rest = UInt32(h & 0x7FFF) << 13
        switch h & 0x7C00 {
        case 0x7C00: return Float(bitPattern: sign | rest | 0x7F80_0000)
        case 0:
            // value = mantissa · 2^-24: renormalised by subtracting 2^-14.
            let magic = Float(bitPattern: 113 << 23)
            return Float(bitPattern: sign | (Float(bitPattern: rest | (113 << 23)) - magic).bitPattern)
        default: return Float(bitPattern: sign | (rest &+ ((127 - 15) << 23)))
        }
    }

    @inline(__always) private static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        p.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// Q8_0: f16 d, 32 × int8 q; y = q·d.
    @inline(__always) private static func q8_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0)
        let q = (x + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { y[j] = Float(q[j]) * d }
    }

    /// Q4_0: f16 d, 16 bytes; element j < 16 is the low nibble of byte j, element j + 16 its
    /// high nibble; y = (q − 8)·d.
    @inline(__always) private static func q4_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0)
        let qs = (x + 2).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            y[j] = Float(Int8(qs[j] & 0x0F) - 8) * d
            y[j + 16] = Float(Int8(qs[j] >> 4) - 8) * d
        }
    }

    /// Q4_1: f16 d, f16 m, 16 bytes of nibbles as Q4_0; y = q·d + m.
    @inline(__always) private static func q4_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0), m = half(x, 2)
        let qs = (x + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            y[j] = d * Float(qs[j] & 0x0F) + m
            y[j + 16] = d * Float(qs[j] >> 4) + m
        }
    }

    /// Q5_0: f16 d, u32 qh (bit j is the fifth bit of element j), 16 bytes of nibbles as Q4_0;
    /// y = (q − 16)·d.
    @inline(__always) private static func q5_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0)
        let qh = UInt32(littleEndian: x.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let qs = (x + 6).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let h0 = UInt8(truncatingIfNeeded: (qh >> j) & 1) << 4
            let h1 = UInt8(truncatingIfNeeded: (qh >> (j + 16)) & 1) << 4
            y[j] = Float(Int8(qs[j] & 0x0F | h0) - 16) * d
            y[j + 16] = Float(Int8(qs[j] >> 4 | h1) - 16) * d
        }
    }

    /// Q5_1: f16 d, f16 m, u32 qh, 16 bytes of nibbles; y = q·d + m.
    @inline(__always) private static func q5_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0), m = half(x, 2)
        let qh = UInt32(littleEndian: x.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let qs = (x + 8).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let h0 = UInt8(truncatingIfNeeded: (qh >> j) & 1) << 4
            let h1 = UInt8(truncatingIfNeeded: (qh >> (j + 16)) & 1) << 4
            y[j] = d * Float(qs[j] & 0x0F | h0) + m
            y[j + 16] = d * Float(qs[j] >> 4 | h1) + m
        }
    }

    /// Q2_K: 16 scale bytes (low nibble scale, high nibble min, one per 16 elements), 64 bytes
    /// of 2-bit q, f16 d, f16 dmin. Element e = 128h + 32s + l (h < 2, s < 4, l < 32) is bits
    /// 2s…2s+1 of byte 32h + l; y = (d·scale)·q − dmin·min.
    @inline(__always) private static func q2_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let scales = x.assumingMemoryBound(to: UInt8.self)
        let qs = (x + 16).assumingMemoryBound(to: UInt8.self)
        let d = half(x, 80), dmin = half(x, 82)
        for h in 0..<2 {
            for s in 0..<4 {
                for half16 in 0..<2 {
                    let g = 8 * h + 2 * s + half16
                    let dl = d * Float(scales[g] & 0x0F), ml = dmin * Float(scales[g] >> 4)
                    let out = y + 128 * h + 32 * s + 16 * half16
                    let q = qs + 32 * h + 16 * half16
                    for l in 0..<16 { out[l] = dl * Float((q[l] >> (2 * s)) & 3) - ml }
                }
            }
        }
    }

    /// Q3_K: 32 bytes hmask, 64 bytes of 2-bit q (laid out as Q2_K's), 12 bytes of 6-bit
    /// scales, f16 d. Element e = 32b + l has its high bit in bit b of hmask[l]; when that bit is
    /// clear, 4 is subtracted. Scale k (one per 16 elements) is the low 4 bits (byte k, or the
    /// high nibble of byte k − 8) with 2 high bits from bytes 8…11; y = (d·(scale − 32))·q.
    @inline(__always) private static func q3_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let hmask = x.assumingMemoryBound(to: UInt8.self)
        let qs = (x + 32).assumingMemoryBound(to: UInt8.self)
        let sc = (x + 96).assumingMemoryBound(to: UInt8.self)
        let d = half(x, 108)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { dl in
            for k in 0..<16 {
                let low = k < 8 ? sc[k] & 0x0F : sc[k - 8] >> 4
                let high = (sc[8 + k % 4] >> (2 * (k / 4))) & 3
                dl[k] = d * Float(Int8(bitPattern: low | high << 4) - 32)
            }
            for e in 0..<256 {
                let h = e >> 7, s = (e >> 5) & 3, l = e & 31
                let low = Int8((qs[32 * h + l] >> (2 * s)) & 3)
                let subtract: Int8 = (hmask[l] >> (e >> 5)) & 1 == 0 ? 4 : 0
                y[e] = dl[e >> 4] * Float(low - subtract)
            }
        }
    }

    /// The 8 six-bit scales and mins of Q4_K and Q5_K from their 12 bytes: for j < 4, scale j and
    /// min j are the low 6 bits of bytes j and j + 4; for j ≥ 4, the low (scale) or high (min)
    /// nibble of byte j + 4 with 2 high bits from the top of bytes j − 4 (scale) or j (min).
    @inline(__always) private static func scaleMin(_ s: UnsafePointer<UInt8>, _ j: Int) -> (Float, Float) {
        if j < 4 { return (Float(s[j] & 0x3F), Float(s[j + 4] & 0x3F)) }
        return (Float(s[j + 4] & 0x0F | (s[j - 4] >> 2) & 0x30), Float(s[j + 4] >> 4 | (s[j] >> 2) & 0x30))
    }

    /// Q4_K and Q5_K: f16 d, f16 dmin, 12 bytes of scales, (Q5_K: 32 bytes qh,) 128 bytes of
    /// nibbles. Element e = 64c + 32s + l is nibble s of byte 32c + l, with (Q5_K) bit j of qh[l]
    /// as its fifth bit; y = (d·scale_j)·q − dmin·min_j with j = e / 32.
    @inline(__always) private static func q4_5_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, fifthBit: Bool) {
        let d = half(x, 0), dmin = half(x, 2)
        let scales = (x + 4).assumingMemoryBound(to: UInt8.self)
        let qh = (x + 16).assumingMemoryBound(to: UInt8.self)
        let qs = (x + (fifthBit ? 48 : 16)).assumingMemoryBound(to: UInt8.self)
        for j in 0..<8 {
            let (sc, m) = scaleMin(scales, j)
            let d1 = d * sc, m1 = dmin * m
            let q = qs + 32 * (j / 2), shift = UInt8(4 * (j % 2))
            let high = fifthBit ? UInt8(j) : 0, mask: UInt8 = fifthBit ? 1 : 0
            let out = y + 32 * j
            for l in 0..<32 {
                let v = (q[l] >> shift) & 0x0F | ((qh[l] >> high) & mask) << 4
                out[l] = d1 * Float(v) - m1
            }
        }
    }

    /// Q6_K: 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16 int8 scales, f16 d.
    /// Element e = 128h + 32k + l (k < 4, l < 32): low bits from nibble k / 2 of ql[64h + 32(k % 2)
    /// + l], high bits 2k…2k+1 of qh[32h + l]; y = (d·scale_{e/16})·(q − 32).
    @inline(__always) private static func q6_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let ql = x.assumingMemoryBound(to: UInt8.self)
        let qh = (x + 128).assumingMemoryBound(to: UInt8.self)
        let sc = (x + 192).assumingMemoryBound(to: Int8.self)
        let d = half(x, 208)
        for h in 0..<2 {
            for k in 0..<4 {
                let low = ql + 64 * h + 32 * (k % 2), shift = UInt8(4 * (k / 2))
                let high = qh + 32 * h, hshift = UInt8(2 * k)
                let out = y + 128 * h + 32 * k
                for half16 in 0..<2 {
                    let ds = d * Float(sc[8 * h + 2 * k + half16])
                    for l in 16 * half16..<16 * half16 + 16 {
                        let q = Int8(bitPattern: (low[l] >> shift) & 0x0F | ((high[l] >> hshift) & 3) << 4) - 32
                        out[l] = ds * Float(q)
                    }
                }
            }
        }
    }
}
