import Testing
@testable import ModelTree

/// The storage grids `TensorSource.decodeSteps` reports (what typing an edge `quantized` reads),
/// against the next representable value found by incrementing bit patterns, and against
/// gguf-py's dequantized values (every value of a sub-block is the sub-block's offset plus an
/// integer number of its step, within the integers the type's bits hold); and the verdicts
/// `QuantizedCopies` reads from them.
@Suite struct GridStepsTests {
    /// Random values of every binade, subnormals and zeros included.
    private func samples(_ count: Int) -> [Float] {
        var g = SystemRandomNumberGenerator()
        return (0..<count).map { k in
            switch k % 5 {
            case 0: return 0
            case 1: return Float.random(in: -1e-6...1e-6, using: &g)
            case 2: return Float(bitPattern: UInt32.random(in: 1...0x007F_FFFF, using: &g))   // F32 subnormal
            default: return Float.random(in: -2...2, using: &g) * Float(sign: .plus, exponent: Int.random(in: -30...10, using: &g), significand: 1)
            }
        }
    }

    private func steps(_ dtype: DType, _ values: [Float]) -> [Float] {
        var out = values
        out.withUnsafeMutableBufferPointer { FloatGrid(dtype).steps($0.baseAddress!, count: $0.count) }
        return out
    }

    @Test func floatStepsAreTheGapToTheNextValue() {
        let values = samples(5_000)
        // F32: the next float away from zero.
        for (v, s) in zip(values, steps(.f32, values)) {
            let a = abs(v)
            #expect(s == Float(bitPattern: a.bitPattern + 1) - a, "F32 \(v)")
        }
        // BF16: values made representable (top 16 bits), next by the 16-bit pattern.
        let bf = values.map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) }
        for (v, s) in zip(bf, steps(.bf16, bf)) {
            let a = abs(v)
            #expect(s == Float(bitPattern: a.bitPattern + 0x1_0000) - a, "BF16 \(v)")
        }
        // F16: values rounded to Float16 (subnormals below 2^-14), next by Float16's own nextUp.
        let half = values.map { Float(Float16($0)) }.filter { $0.isFinite }
        for (v, s) in zip(half, steps(.f16, half)) {
            let a = Float16(abs(v))
            #expect(s == Float(a.nextUp) - Float(a), "F16 \(v)")
        }
    }

    /// Bits of the integers each quantized type stores per element.
    private static let bits: [String: Int] = ["Q8_0": 8, "Q4_0": 4, "Q4_1": 4, "Q5_0": 5, "Q5_1": 5, "Q2_K": 2, "Q3_K": 3,
                                              "Q4_K": 4, "Q5_K": 5, "Q6_K": 6]

    @Test func ggufStepsExplainGGUFPysValues() throws {
        let image = try Fixtures.bytes("formats/gguf/quants.gguf")
        let gguf = try image.withUnsafeBytes { try GGUFFile.parse(MemoryBytes(image: $0)) }
        let expected = try SafetensorsFile(path: Fixtures.path("formats/gguf/quants.expected.safetensors"))
        var checked = 0
        for oracle in expected.tensors {
            let t = try #require(gguf.tensors.first { $0.name == oracle.name })
            let values = try oracle.decode()
            var got = [Float](repeating: .nan, count: t.elementCount)
            image.withUnsafeBytes { raw in
                got.withUnsafeMutableBufferPointer { y in
                    GGMLDequantizer.steps(t.type, raw.baseAddress! + t.byteRange(blocks: 0..<t.blockCount).lowerBound,
                                          blocks: t.blockCount, into: y.baseAddress!)
                }
            }
            guard let b = Self.bits[t.type.name] else {
                // A float type: its grid's spacing at each value.
                let dtype: DType = t.type == .f16 ? .f16 : t.type == .bf16 ? .bf16 : .f32
                #expect(got == steps(dtype, values), "\(t.name)")
                continue
            }
            // Runs of 16 elements share one scale in every type (the smallest sub-block).
            for start in stride(from: 0, to: values.count, by: 16) {
                let run = start..<start + 16, step = got[start]
                #expect(got[run].allSatisfy { $0 == step }, "\(t.name) at \(start): one step per sub-block")
                let low = values[run].min()!, high = values[run].max()!
                // A sub-block whose step is finer than Float resolves at its values (a hostile
                // fixture block: offset −36000, step 3e-4) cannot show its grid in Float.
                guard step > 0, step >= 4 * Swift.max(abs(low).ulp, abs(high).ulp) else { continue }
                for v in values[run] {
                    // Decoded values are Floats: a block offset far larger than its step (a hostile
                    // fixture block) rounds them to Float's own grid, which the check allows for.
                    let q = (Double(v) - Double(low)) / Double(step)
                    let rounding = 2 * Double(v.ulp + low.ulp) + 1e-3 * Double(step)
                    #expect(abs(Double(v) - Double(low) - q.rounded() * Double(step)) <= rounding
                            && q.rounded() <= Double((1 << b) - 1), "\(t.name) at \(start): \(q) levels, step \(step)")
                }
                checked += 1
            }
        }
        #expect(checked > 100)
    }

    /// Through a GGUF source, in ranges that cut blocks, the steps are those of whole blocks.
    @Test func stepsThroughSourcesInAnyRange() throws {
        let path = Fixtures.path("formats/gguf/quants.gguf")
        let model = try ModelLoader.load(ModelLocation(id: "q", path: path))
        for view in model.tensors where view.isWeight {
            var whole = [Float](repeating: .nan, count: view.count)
            let cursor = TensorCursor(capacity: 1 << 16)
            cursor.window = 0..<view.count
            try whole.withUnsafeMutableBufferPointer { try view.source.decodeSteps(0..<view.count, into: $0.baseAddress!, cursor: cursor) }
            for range in [3..<40, 100..<613, (view.count - 7)..<view.count] {
                var part = [Float](repeating: .nan, count: range.count)
                let c = TensorCursor(capacity: 64)
                c.window = range
                try part.withUnsafeMutableBufferPointer { try view.source.decodeSteps(range, into: $0.baseAddress!, cursor: c) }
                #expect(part == Array(whole[range]), "\(view.name) \(range)")
            }
        }
    }

    /// A transposed and a row-permuted view report their operand's steps, moved as its values are.
    @Test func rearrangedViewsMoveTheOperandsSteps() throws {
        let (r, c) = (6, 5)
        let values = samples(r * c).map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) }   // BF16-representable
        let bits = values.map { UInt16($0.bitPattern >> 16) }
        try bits.withUnsafeBytes { raw in
            let base = try TensorView(name: "w", dtype: .bf16, shape: [r, c], bytes: raw)
            let baseSteps = steps(.bf16, values)
            func read(_ view: TensorView) throws -> [Float] {
                var out = [Float](repeating: .nan, count: view.count)
                let cursor = TensorCursor(capacity: 256)
                cursor.window = 0..<view.count
                try out.withUnsafeMutableBufferPointer { try view.source.decodeSteps(0..<view.count, into: $0.baseAddress!, cursor: cursor) }
                return out
            }
            let transposed = TensorView(name: "t", shape: [c, r], source: Transposed(base: base, rows: r, columns: c))
            #expect(try read(transposed) == (0..<(r * c)).map { baseSteps[($0 % r) * c + $0 / r] })
            let order = [1, 0, 2, 5, 3, 4]
            let permuted = TensorView(name: "p", shape: [r, c], source: PermutedRows(base: base, rows: order, rowLength: c, groupRows: 3))
            #expect(try read(permuted) == (0..<(r * c)).map { baseSteps[order[$0 / c] * c + $0 % c] })
        }
    }

    /// Read through the sources, not `FloatGrid` alone: an F16 tensor in its file, and F16 values
    /// in an F32 file (`NarrowFloat`), report F16's gaps, subnormals included (their gap stays
    /// 2^-24 below 2^-14; with F32's exponent range it kept shrinking).
    @Test func f16StepsThroughTheirSources() throws {
        let half = samples(2_000).map { Float16($0) }.filter { $0.isFinite }
        #expect(half.contains { $0 != 0 && abs($0) < Float16(0x1p-14) }, "subnormals among the samples")
        let want = half.map { Float(abs($0).nextUp) - Float(abs($0)) }
        func read(_ view: TensorView) throws -> [Float] {
            var out = [Float](repeating: .nan, count: view.count)
            let cursor = TensorCursor(capacity: 1 << 12)
            cursor.window = 0..<view.count
            try out.withUnsafeMutableBufferPointer { try view.source.decodeSteps(0..<view.count, into: $0.baseAddress!, cursor: cursor) }
            return out
        }
        try half.map(\.bitPattern).withUnsafeBytes { raw in
            let stored = try TensorView(name: "h", dtype: .f16, shape: [half.count], bytes: raw)
            #expect(try read(stored) == want)
        }
        try half.map { Float($0).bitPattern }.withUnsafeBytes { raw in
            let wide = try TensorView(name: "w", dtype: .f32, shape: [half.count], bytes: raw)
            #expect(try read(TensorView(name: "n", shape: [half.count], source: NarrowFloat(base: wide, dtype: .f16))) == want)
        }
    }

    /// The verdict's thresholds: a child whose differing elements are all within half a step is
    /// its parent rounded; a parent so explained reverses the edge; nothing else is typed.
    @Test func verdicts() {
        func fit(_ child: Int, _ parent: Int) -> GridEvidence.Fit {
            GridEvidence.Fit(withinChildGrid: child, withinParentGrid: parent, changed: 100, childSteps: 1e-3, parentSteps: 1e-8)
        }
        #expect(QuantizedCopies.verdict(fit(100, 0)) == .childQuantized)
        #expect(QuantizedCopies.verdict(fit(0, 95)) == .parentQuantized)
        #expect(QuantizedCopies.verdict(fit(35, 0)) == .none)
        #expect(QuantizedCopies.verdict(fit(100, 100)) == .childQuantized)   // the child's grid is the coarser
        #expect(QuantizedCopies.verdict(GridEvidence.Fit()) == .none)         // nothing differs: duplicates
    }
}
