import Foundation
import Testing
@testable import ModelTree

/// Mixed-format collections end to end, on the committed typed zoo 2 (made by transformers,
/// gguf-py, torch.save, torch.onnx and onnxruntime: `examples/make_typed_zoo.py`): every export
/// is read, its tensors correspond to its source's, and a recovery attaches it to its source as
/// `truth.json` says.
@Suite struct FormatsCollectionTests {
    private static let zoo = SampleDrawings.root + "/examples/typed_zoo2"

    private func load(_ ids: [String]) throws -> [Model] {
        try ids.map { try ModelLoader.load(ModelLocation(id: $0, path: Self.zoo + "/" + $0)) }
    }

    /// The F32 ONNX export holds its source's values: every matched tensor equals the source's
    /// bit for bit (transposed back where torch.onnx stored a Linear weight [in, out]); the int8
    /// export's dequantized weights are within half a step of its source's. Every 2-D tensor of
    /// the source found its counterpart, MatMul weights by content.
    @Test func onnxExportsMatchTheirSources() throws {
        let models = try load(["fx-light", "fx-light.onnx", "fx-food-love", "fx-food-love-int8.onnx"])
        let (aligned, matches, _) = try TensorMatching.align(models)
        for (source, export) in [(0, 1), (2, 3)] {
            let src = aligned[source], exp = aligned[export]
            let matrices = src.tensors.filter { $0.shape.count == 2 }
            #expect(matrices.count == 23)     // 21 layer matrices, embeddings, lm_head
            for t in matrices {
                let e = try #require(exp.tensor(named: t.name), "\(exp.id) has no \(t.name)")
                #expect(e.shape == t.shape)
                let want = try t.decode(), got = try e.decode()
                if export == 1 {
                    #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(t.name)")
                } else {
                    // |error| ≤ half a step: onnxruntime quantizes weights per output channel,
                    // symmetric int8 (step max |w| / 127), or per tensor, asymmetric uint8 (step
                    // (max − min) / 255, the embeddings of a Gather).
                    let rows = t.shape[0], columns = t.shape[1]
                    let tensorStep = Double(want.max()! - want.min()!) / 255
                    for r in 0..<rows {
                        let row = want[r * columns..<(r + 1) * columns]
                        let step = Swift.max(Double(row.map(abs).max()!) / 127, tensorStep)
                        let worst = zip(got[r * columns..<(r + 1) * columns], row).map { abs(Double($0) - Double($1)) }.max()!
                        #expect(worst <= step * 0.5 + 1e-7, "\(t.name) row \(r)")
                    }
                }
            }
            let own = matches.filter { $0.model == exp.id }
            #expect(own.filter(\.byContent).count == 22, "\(exp.id)")      // the 21 MatMul weights and lm_head
            #expect(own.filter(\.byContent).allSatisfy { $0.transposed && $0.correlation! > 0.99 })
        }
    }

    /// The exports of typed zoo 2 — GGUF BF16, F16, Q8_0, Q4_0 and Q4_K_M, an int8 ONNX and a
    /// torch.save fine-tune — with their sources and the other fine-tunes: every export's primary
    /// parent or child is its source (truth.json), and the export is closer to its source than
    /// any fine-tune is to its parent (8-bit and wider: ten times closer).
    @Test func exportsAttachToTheirSources() throws {
        let ids = ["fx", "fx-food", "fx-sports", "fx-kids", "fx-food-love",
                   "fx-BF16.gguf", "fx-Q4_K_M.gguf", "fx-food-Q8_0.gguf", "fx-food-Q4_0.gguf", "fx-sports-F16.gguf",
                   "fx-food-love-int8.onnx"]
        let truth = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.zoo + "/truth.json"))) as? [String: Any])
        var source: [String: String] = [:], type: [String: String] = [:]
        for case let e as [String: Any] in truth["edges"] as! [Any] {
            source[e["child"] as! String] = e["parent"] as? String
            type[e["child"] as! String] = e["type"] as? String
        }
        let graph = try recover(try load(ids))
        let exports = ids.filter { type[$0] == "quantized" }
        #expect(exports.count == 6)
        var exportDistance: [String: Double] = [:], finetuneDistance = Double.infinity
        for (i, id) in ids.enumerated() {
            guard let parent = source[id], let p = ids.firstIndex(of: parent) else { continue }
            let adjacent = graph.primaryParent(of: i) == p || graph.primaryParent(of: p) == i
            if type[id] == "quantized" {
                #expect(adjacent, "\(id) is not attached to its source \(parent)")
                exportDistance[id] = graph.distances[i, p]
            } else {
                finetuneDistance = Swift.min(finetuneDistance, graph.distances[i, p])
            }
        }
        // 8 bits and more: an order of magnitude below any fine-tune; 4-bit blocks of 32 or 256
        // values of this tiny model (hidden size 64) add noise near a fine-tune's, still below.
        for (id, d) in exportDistance {
            let factor = id.contains("Q4_") ? 1.0 : 10.0
            #expect(d * factor < finetuneDistance, "\(id) at \(d) from its source, fine-tunes from \(finetuneDistance)")
        }
    }

    /// Issue 11's "Done when" collection (`examples/formats_zoo`: a Llama base as safetensors,
    /// its GGUF F16, Q8_0, Q4_0 and Q4_K_M exports with q/k permuted as llama.cpp does, F32 and
    /// int8 ONNX exports, a torch.save fine-tune): read as a folder, every export is recovered
    /// next to its source (truth.json), each pair's distance equals numpy's over the canonical
    /// weights (facts.json: dequantized by gguf-py, un-permuted, ONNX mapped back), and every
    /// export is far closer to its source than the fine-tunes are to theirs.
    @Test func formatsZooAttachesEveryExportToItsSource() throws {
        let folder = SampleDrawings.root + "/examples/formats_zoo"
        func json(_ name: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))) as? [String: Any])
        }
        let graph = try recover(try ModelLoader.expand([folder]).map(ModelLoader.load))
        let ids = graph.ids
        #expect(ids.count == 9)
        func index(_ id: String) throws -> Int { try #require(ids.firstIndex(of: id), "\(id)") }
        func adjacent(_ a: Int, _ b: Int) -> Bool { graph.primaryParent(of: a) == b || graph.primaryParent(of: b) == a }
        let truth = try json("truth.json")
        var exports: [(child: Int, source: Int)] = []
        for case let e as [String: Any] in truth["edges"] as! [Any] where e["type"] as? String == "quantized" {
            exports.append((try index(e["child"] as! String), try index(e["parent"] as! String)))
        }
        for case let group as [String] in truth["duplicates"] as! [Any] {
            for member in group.dropFirst() { exports.append((try index(member), try index(group[0]))) }
        }
        #expect(exports.count == 6)
        for (child, source) in exports {
            #expect(adjacent(child, source), "\(ids[child]) is not attached to its source \(ids[source])")
        }
        // Distances: the pass's RMS over the tensors it used equals numpy's mean of per-tensor RMS.
        let facts = try json("facts.json")
        var finetunes: [Double] = []
        for case let pair as [String: Any] in (facts["tensors"] as! [String: Any])["pairs"] as! [Any] {
            let a = try index(pair["source"] as! String), b = try index(pair["model"] as! String)
            let perTensor = pair["tensors"] as! [String: [String: Double]]
            let expected = graph.tensors.map { perTensor[$0]!["rms"]! }.reduce(0, +) / Double(graph.tensors.count)
            #expect(abs(graph.distances[a, b] - expected) <= 1e-5 * expected + 1e-9,
                    "\(ids[a]) – \(ids[b]): \(graph.distances[a, b]), numpy \(expected)")
            if pair["kind"] as? String == "finetune" { finetunes.append(graph.distances[a, b]) }
        }
        let closest = try #require(finetunes.min())
        for (child, source) in exports {
            let factor = ids[child].contains("Q4_") ? 2.0 : 10.0
            #expect(graph.distances[child, source] * factor < closest, "\(ids[child]): \(graph.distances[child, source]), fine-tunes from \(closest)")
        }
    }
}
