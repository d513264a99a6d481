import Testing
@testable import ModelTree

/// Int8 exports dequantised and saved as F32 (issue 12): found by the grid their values lie on
/// (`IntegerGrids`), typed `quantized` leaves of their source. The exports are made here the way
/// the exporters compute them (F32 arithmetic: `s = absmax / 127`, `q = round(w / s)` clamped to
/// ±127, `q · s`; Q8_0's scale stored in F16), independently of the code under test.
@Suite struct IntegerGridTests {
    static let rows = 64, cols = 96

    /// One int8 round trip of a row-major `rows × cols` matrix with one scale per `group`
    /// consecutive elements; `f16Scale` rounds the scale to F16 after the integers (ggml's Q8_0).
    static func int8(_ w: [Float], group: Int, f16Scale: Bool = false) -> [Float] {
        var out = w
        for start in stride(from: 0, to: w.count, by: group) {
            let part = w[start..<(start + group)]
            let d = part.map { Swift.abs($0) }.max()! / 127
            let stored = f16Scale ? Float(Float16(d)) : d
            for k in part.indices { out[k] = Swift.min(127, Swift.max(-127, (w[k] / d).rounded())) * stored }
        }
        return out
    }

    static func matrix(_ s: inout Sampler, std: Double) -> [Float] { (0..<(rows * cols)).map { _ in Float(s.laplace(std)) } }

    /// A model holding one `rows × cols` F32 tensor "w" (the model owns the memory: keep it).
    static func model(_ values: [Float]) throws -> Model {
        try makeModel("m", [("w", [rows, cols], values.map(Double.init))])
    }

    /// Each granularity is found with its own scales; the originals, a fine-tune and a BF16-like
    /// truncation of them are on no grid.
    @Test func gridsOfEachGranularity() throws {
        var s = Sampler(seed: 21)
        let w = Self.matrix(&s, std: 0.03)
        let exports: [(name: String, values: [Float], group: Int)] = [
            ("tensor", Self.int8(w, group: w.count), w.count),
            ("row", Self.int8(w, group: Self.cols), Self.cols),
            ("Q8_0", Self.int8(w, group: 32, f16Scale: true), 32),
        ]
        for e in exports {
            let m = try Self.model(e.values), t = m.tensor(named: "w")!
            #expect(try IntegerGrids.screen(t), "\(e.name)")
            let g = try #require(try IntegerGrids.grid(t), "\(e.name)")
            #expect(g.group == e.group && g.share == 1, "\(e.name): group \(g.group), share \(g.share)")
            let want = stride(from: 0, to: e.values.count, by: e.group).map { e.values[$0..<($0 + e.group)].map { Swift.abs($0) }.max()! / 127 }
            #expect(g.scales.count == want.count && zip(g.scales, want).allSatisfy { Swift.abs($0 - $1) <= 1e-6 * $1 }, "\(e.name)")
            withExtendedLifetime(m) {}
        }
        let fineTune = zip(w, Self.matrix(&s, std: 0.001)).map { $0 + $1 }
        for (name, values) in [("original", w), ("fine-tune", fineTune)] {
            let m = try Self.model(values), t = m.tensor(named: "w")!
            #expect(try !IntegerGrids.screen(t), "\(name)")
            #expect(try IntegerGrids.grid(t) == nil, "\(name)")
            withExtendedLifetime(m) {}
        }
        // A tensor of few distinct values (a norm at its initial ones) is on every grid, and says nothing.
        let ones = try Self.model([Float](repeating: 1, count: Self.rows * Self.cols))
        #expect(try IntegerGrids.grid(ones.tensor(named: "w")!) == nil)
    }

    /// An int8 copy of each granularity, saved F32, hangs from its source as `quantized`, with
    /// fine-tunes stored F32 beside it (one as light as the int8 rounding, so that it is as near
    /// the copies as the source is) and a fine-tune of the row-wise copy: none of the fine-tunes
    /// is typed quantized, and no copy is a parent.
    @Test func int8CopiesSavedAsF32AreQuantizedLeaves() throws {
        var s = Sampler(seed: 33)
        let names = ["a", "b", "c"]
        let base = names.map { _ in Self.matrix(&s, std: 0.03) }
        func model(_ id: String, _ w: [[Float]]) throws -> Model {
            try makeModel(id, zip(names, w).map { ($0, [Self.rows, Self.cols], $1.map(Double.init)) })
        }
        func plus(_ w: [[Float]], std: Double) -> [[Float]] { w.map { t in t.map { $0 + Float(s.laplace(std)) } } }
        let rowCopy = base.map { Self.int8($0, group: Self.cols) }
        let models = [
            try model("base", base),
            try model("int8-tensor", base.map { Self.int8($0, group: $0.count) }),
            try model("int8-row", rowCopy),
            try model("int8-q8_0", base.map { Self.int8($0, group: 32, f16Scale: true) }),
            try model("ft", plus(base, std: 0.003)),
            try model("light", plus(base, std: 0.0002)),
            try model("int8-row-ft", plus(rowCopy, std: 0.003)),
        ]
        let g = try recover(models)
        let copies = ["int8-tensor", "int8-row", "int8-q8_0"].map { g.ids.firstIndex(of: $0)! }
        for c in copies {
            let e = g.primaryEdge(into: c)
            #expect(e?.type == .quantized && e.map { g.ids[$0.parent] } == "base", "\(g.ids[c]): \(String(describing: e))")
            #expect((e?.evidence?.gridShare ?? 0) >= QuantizedCopies.minimumShare)
        }
        for f in ["ft", "light", "int8-row-ft"] {
            let e = g.primaryEdge(into: g.ids.firstIndex(of: f)!)
            #expect(e?.type == .finetune, "\(f): \(String(describing: e))")
        }
        #expect(!g.edges.contains { copies.contains($0.parent) }, "a copy is a leaf")
    }
}
