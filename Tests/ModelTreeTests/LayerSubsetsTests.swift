import XCTest
@testable import ModelTree

/// Layer subsets on synthetic models built here: a 4-layer teacher with Llama-style names, its
/// fine-tunes and a BF16 copy, a 2-layer student initialised from two of its layers and then
/// trained (a dense update), and a 2-layer model initialised independently.
final class LayerSubsetsTests: XCTestCase {
    static let hidden = 32
    static let layerTensors = [("self_attn.q_proj.weight", [32, 32]), ("self_attn.o_proj.weight", [32, 32]),
                               ("mlp.up_proj.weight", [64, 32]), ("mlp.down_proj.weight", [32, 64])]
    typealias Weights = [String: (shape: [Int], values: [Double])]

    func fresh(layers: Int, _ s: inout Sampler) -> Weights {
        var w: Weights = ["model.embed_tokens.weight": ([50, 32], s.gaussians(50 * 32, std: 0.05)),
                          "lm_head.weight": ([50, 32], s.gaussians(50 * 32, std: 0.05))]
        for l in 0..<layers {
            for (suffix, shape) in Self.layerTensors { w["model.layers.\(l).\(suffix)"] = (shape, s.gaussians(shape[0] * shape[1], std: 0.05)) }
            w["model.layers.\(l).input_layernorm.weight"] = ([32], [Double](repeating: 1, count: 32))
        }
        return w
    }

    func tune(_ w: Weights, _ s: inout Sampler, std: Double) -> Weights {
        w.mapValues { t in t.shape.count == 2 ? (t.shape, t.values.map { $0 + s.gaussian() * std }) : t }
    }

    /// The student: the teacher's layers `from` as its layers 0, 1 …, with the teacher's tensors
    /// outside the layers.
    func cut(_ teacher: Weights, layers from: [Int]) -> Weights {
        var w = teacher.filter { !$0.key.hasPrefix("model.layers.") }
        for (c, p) in from.enumerated() {
            for (name, t) in teacher where name.hasPrefix("model.layers.\(p).") {
                w["model.layers.\(c)." + name.dropFirst("model.layers.\(p).".count)] = t
            }
        }
        return w
    }

    func model(_ id: String, _ w: Weights, dtype: DType = .f32) throws -> Model {
        try makeModel(id, w.sorted { $0.key < $1.key }.map { ($0.key, $0.value.shape, $0.value.values) }, dtype: dtype)
    }

    /// The student hangs from the teacher by a layer-subset edge with the map it was cut by (in
    /// no particular order: 3 then 1), not from a fine-tune or the BF16 copy; the independent
    /// 2-layer model stays a family of its own; the teacher's family is compared over all its
    /// layers.
    func testAStudentHangsFromItsTeacherWithItsLayerMap() throws {
        var s = Sampler(seed: 21)
        let teacher = fresh(layers: 4, &s)
        let student = tune(cut(teacher, layers: [3, 1]), &s, std: 0.02)
        let g = try recover([try model("teacher", teacher), try model("ft1", tune(teacher, &s, std: 0.01)),
                             try model("ft2", tune(teacher, &s, std: 0.01)), try model("teacher-bf16", teacher, dtype: .bf16),
                             try model("student", student), try model("student-ft", tune(student, &s, std: 0.01)),
                             try model("stranger", fresh(layers: 2, &s))])
        let ids = g.ids
        let edge = try XCTUnwrap(g.primaryEdge(into: ids.firstIndex(of: "student")!))
        XCTAssertEqual(ids[edge.parent], "teacher")
        XCTAssertEqual(edge.type, .layerSubset)
        XCTAssertEqual(edge.layers, [.init(child: 0, parent: 3), .init(child: 1, parent: 1)])
        XCTAssertEqual(g.primaryParent(of: ids.firstIndex(of: "student-ft")!), ids.firstIndex(of: "student"))
        XCTAssertNil(g.primaryParent(of: ids.firstIndex(of: "stranger")!))
        XCTAssertEqual(g.trees.count, 2)
        XCTAssertEqual(g.tree(of: ids.firstIndex(of: "student")!), g.tree(of: ids.firstIndex(of: "teacher")!))
        XCTAssertTrue(g.tensors.contains("model.layers.3.self_attn.q_proj.weight"))
        XCTAssertTrue(g.json().contains("\"type\": \"layer-subset\", \"distance\": "))
        XCTAssertTrue(g.json().contains("\"layers\": [[0, 3], [1, 1]]}"))
        XCTAssertTrue(g.text().contains("layer-subset (layers 0←3 1←1)"))

        let truth = Truth(edges: [Truth.Edge(parent: "teacher", child: "ft1"), Truth.Edge(parent: "teacher", child: "ft2"),
                                  Truth.Edge(parent: "teacher", child: "teacher-bf16", type: .quantized),
                                  Truth.Edge(parent: "teacher", child: "student", type: .layerSubset, layers: [[0, 3], [1, 1]]),
                                  Truth.Edge(parent: "student", child: "student-ft")], roots: ["stranger"])
        let score = try g.score(against: truth)
        XCTAssertEqual(score.relations.first { $0.type == "layer-subset" }?.correct, 1)
        XCTAssertEqual(score.adjustedRandIndex, 1)
    }

    /// Without its teacher, a student whose layers match nothing stays a family of its own.
    func testAnUnrelatedSmallerModelIsNoSubset() throws {
        var s = Sampler(seed: 22)
        let teacher = fresh(layers: 4, &s)
        let g = try recover([try model("teacher", teacher), try model("small", fresh(layers: 2, &s)),
                             try model("small-ft", tune(fresh(layers: 2, &s), &s, std: 0.01))])
        XCTAssertFalse(g.edges.contains { $0.type == .layerSubset })
    }

    func testLayerNames() {
        XCTAssertEqual(LayerSubsets.split("model.layers.12.mlp.up_proj.weight"),
                       .init(prefix: "model.layers.", layer: 12, suffix: "mlp.up_proj.weight"))
        XCTAssertEqual(LayerSubsets.split("blocks.0.attn.q"), .init(prefix: "blocks.", layer: 0, suffix: "attn.q"))
        XCTAssertNil(LayerSubsets.split("lm_head.weight"))
        XCTAssertEqual(LayerSubsets.layerCount(["a.0.w", "a.0.v", "a.1.w", "a.2.w", "b.0.w", "b.1.w", "head"]), 3)
    }
}
