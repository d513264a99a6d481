import Testing
@testable import ModelTree

/// Casts to BF16 or F16 saved back as F32 (issue 12's `quantized`: "a BF16/F16 cast of an F32
/// model"): found by the type their values belong to (`FloatGrids`), typed `quantized` leaves of
/// their source. The casts are made here as torch makes them (round to nearest even), independently
/// of the code under test.
@Suite struct FloatGridsTests {
    static let rows = 64, cols = 96

    /// `x` rounded to the nearest BF16 value (ties to even), as `tensor.to(torch.bfloat16)`.
    static func bf16(_ x: Float) -> Float {
        let bits = x.bitPattern
        return Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
    }

    static func f16(_ x: Float) -> Float { Float(Float16(x)) }

    /// A BF16 and an F16 cast of `base`, saved as F32, hang from it as `quantized` leaves; a
    /// fine-tune saved the same way (BF16 values in F32) and one saved as F32 stay fine-tunes of
    /// the base.
    @Test func castsSavedAsF32AreQuantizedLeaves() throws {
        var s = Sampler(seed: 41)
        let names = ["a", "b", "c"]
        let base = names.map { _ in (0..<(Self.rows * Self.cols)).map { _ in Float(s.laplace(0.03)) } }
        func model(_ id: String, _ w: [[Float]]) throws -> Model {
            try makeModel(id, zip(names, w).map { ($0, [Self.rows, Self.cols], $1.map(Double.init)) })
        }
        func plus(_ w: [[Float]], std: Double) -> [[Float]] { w.map { t in t.map { $0 + Float(s.laplace(std)) } } }
        let models = [
            try model("base", base),
            try model("bf16-cast", base.map { $0.map(Self.bf16) }),
            try model("f16-cast", base.map { $0.map(Self.f16) }),
            try model("ft-bf16-values", plus(base, std: 0.003).map { $0.map(Self.bf16) }),
            try model("ft", plus(base, std: 0.003)),
        ]
        let g = try recover(models)
        for id in ["bf16-cast", "f16-cast"] {
            let e = g.primaryEdge(into: g.ids.firstIndex(of: id)!)
            #expect(e?.type == .quantized && e.map { g.ids[$0.parent] } == "base", "\(id): \(String(describing: e))")
            #expect((e?.evidence?.gridShare ?? 0) >= QuantizedCopies.minimumShare)
        }
        for id in ["ft-bf16-values", "ft"] {
            let e = g.primaryEdge(into: g.ids.firstIndex(of: id)!)
            #expect(e?.type == .finetune && e.map { g.ids[$0.parent] } == "base", "\(id): \(String(describing: e))")
        }
    }

    /// The type a tensor's values belong to, over the whole tensor (not only the screen's first
    /// piece): BF16, F16, or none; never for a tensor stored in a narrower type already.
    @Test func theTypeTheValuesBelongTo() throws {
        var s = Sampler(seed: 42)
        let n = FloatGrids.chunk + 1000      // a second piece
        let w = (0..<n).map { _ in Float(s.laplace(0.03)) }
        func type(_ values: [Float], dtype: DType = .f32) throws -> DType? {
            let model = try makeModel("m", [("w", [n], values.map(Double.init))], dtype: dtype)   // owns the memory: kept
            return try withExtendedLifetime(model) { try FloatGrids.narrowType(model.tensor(named: "w")!) }
        }
        #expect(try type(w.map(Self.bf16)) == .bf16)
        #expect(try type(w.map(Self.f16)) == .f16)
        #expect(try type(w) == nil)
        var late = w.map(Self.bf16)
        late[n - 1] = w[n - 1] == Self.bf16(w[n - 1]) ? 0.1 : w[n - 1]     // one F32 value past the first piece
        #expect(try type(late) == nil)
        #expect(try type(w.map(Self.bf16), dtype: .bf16) == nil, "stored BF16: its own grid already")
        #expect(FloatGrids.narrowest([Float]()) == nil)
        #expect(FloatGrids.narrowest([1, 0.5, 0]) == .bf16)
        #expect(FloatGrids.narrowest([1 + 0x1p-10]) == .f16)
    }
}
