import Foundation
import Testing
@testable import ModelTree

/// The formats as models: `ModelLoader` reads GGUF, torch.save, ONNX and PEFT adapters into
/// tensor views whose decoded values — whole, and in ranges that cut blocks and rows, as no pass
/// would ask — equal the reference libraries' (gguf-py, torch, onnx/numpy, peft: the committed
/// fixtures of `Tests/fixtures/formats/`).
@Suite struct FormatsModelTests {
    private func load(_ relative: String, id: String = "m") throws -> Model {
        try ModelLoader.load(ModelLocation(id: id, path: Fixtures.path("formats/" + relative)))
    }

    /// The view decoded whole and in three ranges whose bounds fall inside blocks and rows.
    private func decodedBothWays(_ t: TensorView, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Float] {
        let whole = try t.decode()
        var pieces = [Float](repeating: .nan, count: t.count)
        let cuts = [0, Swift.min(t.count, 37), Swift.min(t.count, t.count / 2 + 5), t.count]
        try pieces.withUnsafeMutableBufferPointer { out in
            for k in 0..<3 where cuts[k] < cuts[k + 1] {
                try t.decode(cuts[k]..<cuts[k + 1], into: out.baseAddress! + cuts[k])
            }
        }
        #expect(whole.map(\.bitPattern) == pieces.map(\.bitPattern), "\(t.name): ranges differ from the whole", sourceLocation: sourceLocation)
        // A few elements at a time: a cursor smaller than one block of a K-quant (144–210 bytes).
        for start in stride(from: 0, to: t.count, by: Swift.max(1, t.count / 7)) {
            let end = Swift.min(t.count, start + 5)
            var few = [Float](repeating: .nan, count: end - start)
            try few.withUnsafeMutableBufferPointer { try t.decode(start..<end, into: $0.baseAddress!) }
            #expect(few.map(\.bitPattern) == whole[start..<end].map(\.bitPattern), "\(t.name) at \(start)", sourceLocation: sourceLocation)
        }
        return whole
    }

    /// Every ggml type through the model's views equals gguf-py's dequantization bit for bit.
    @Test func ggufTensorsDequantizeAsGGUFPy() throws {
        let model = try load("gguf/quants.gguf")
        #expect(model.format == "gguf")
        let expected = try SafetensorsFile(path: Fixtures.path("formats/gguf/quants.expected.safetensors"))
        for oracle in expected.tensors {
            let t = try #require(model.tensor(named: oracle.name))
            #expect(t.typeName == String(oracle.name.dropFirst(2)) && t.shape == oracle.shape && t.isWeight)
            let got = try decodedBothWays(t), want = try oracle.decode()
            #expect(zip(got, want).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }, "\(t.name)")
        }
    }

    /// A Llama GGUF reads under Hugging Face names with q and k un-permuted: every tensor equals
    /// the checkpoint gguf-py converted (numpy's permutation, undone independently by the script).
    @Test func ggufLlamaReadsAsItsHuggingFaceSource() throws {
        let model = try load("gguf/llama_qk.gguf")
        let hf = try SafetensorsFile(path: Fixtures.path("formats/gguf/llama_qk.hf.safetensors"))
        #expect(Set(model.tensors.map(\.name)) == Set(hf.tensors.map(\.name)))
        for source in hf.tensors {
            let t = try #require(model.tensor(named: source.name))
            #expect(t.shape == source.shape)
            #expect(try decodedBothWays(t).map(\.bitPattern) == source.decode().map(\.bitPattern), "\(source.name)")
        }
        #expect(model.metadata.contains { $0.key == "general.architecture" && $0.value == "llama" })
    }

    /// A tensor of a type libmodeltree cannot dequantize is listed with its type but is no
    /// weight: decoding it is an error naming the type, and a recovery skips it with a warning
    /// naming the model, the tensor and the type.
    @Test func unsupportedQuantizationIsSkippedByName() throws {
        let dir = try TemporaryDirectory()
        var models: [Model] = []
        for (k, name) in ["a.gguf", "b.gguf"].enumerated() {
            var b = GGUFBuilder()
            b.addTensor("w", ne: [4, 4], type: 0, bytes: LE.f32s((0..<16).map { Float($0 * (k + 1)) }))
            b.addTensor("blk.0.ffn_up.weight", ne: [256], type: 16, bytes: [UInt8](repeating: 0, count: 66))    // IQ2_XXS
            models.append(try ModelLoader.load(ModelLocation(id: name, path: try dir.write(name, b.bytes))))
        }
        let iq = try #require(models[0].tensor(named: "blk.0.ffn_up.weight"))
        #expect(iq.typeName == "IQ2_XXS" && !iq.isWeight)
        expectError(.format, "IQ2_XXS, which libmodeltree cannot dequantize") { _ = try iq.decode() }
        let graph = try recover(models)
        #expect(graph.warnings.contains("model 'a.gguf': tensor 'blk.0.ffn_up.weight' is IQ2_XXS, which libmodeltree cannot dequantize: not compared"))
    }

    /// torch.save tensors, contiguous or strided views, equal torch's values.
    @Test func torchTensorsReadAsTorch() throws {
        let model = try load("torch/state.bin")
        #expect(model.format == "pytorch")
        let oracle = try #require(try Fixtures.json("formats/torch/state.expected.json") as? [String: Any])
        let expected = try #require(oracle["tensors"] as? [String: [String: Any]])
        var checked = 0
        for t in model.tensors where t.isWeight {
            let e = try #require(expected[t.name])
            let want = (e["value_bits"] as! [NSNumber]).map { Float(Double(bitPattern: $0.uint64Value)) }
            #expect(try decodedBothWays(t).map(\.bitPattern) == want.map(\.bitPattern), "\(t.name)")
            checked += 1
        }
        #expect(checked >= 5 && model.tensor(named: "layer.weight_t") != nil)
    }

    /// A sharded torch checkpoint (pytorch_model.bin.index.json) is one model of its shards.
    @Test func shardedTorchCheckpointIsOneModel() throws {
        let locations = try ModelLoader.expand([Fixtures.path("formats/torch/sharded")])
        #expect(locations.map(\.id) == ["sharded"])
        let model = try ModelLoader.load(locations[0])
        #expect(model.tensors.count == 21 && model.format == "pytorch")
    }

    /// ONNX initializers: floats as stored, int8 weights dequantized as numpy computes
    /// DequantizeLinear and Cast→Mul, their scales and zero points not tensors of their own.
    @Test func onnxWeightsAreDequantized() throws {
        let expected = try #require(try Fixtures.json("formats/onnx/expected.json") as? [String: [String: Any]])
        for file in ["linear_qdq_channel.onnx", "linear_qdq_tensor.onnx", "castmul.onnx"] {
            let model = try load("onnx/" + file)
            #expect(model.format == "onnx")
            for o in expected[file]!["dequantized"] as! [[String: Any]] {
                let weight = o["weight"] as! String
                let name = weight.hasSuffix("_quantized") ? String(weight.dropLast("_quantized".count)) : weight
                let t = try #require(model.tensor(named: name), "\(file) \(name)")
                let want = (o["value_bits"] as! [NSNumber]).map { Float(Double(bitPattern: $0.uint64Value)) }
                #expect(try decodedBothWays(t).map(\.bitPattern) == want.map(\.bitPattern), "\(file) \(name)")
                #expect(model.tensor(named: o["scale"] as! String) == nil)
            }
        }
        let plain = try load("onnx/linear.onnx")
        #expect(plain.tensors.map(\.name) == ["bias", "weight"] && plain.tensor(named: "weight")!.dtype == .f32)
    }

    /// An adapter folder is a model of updates ΔW under the base's names, equal to peft's.
    @Test func adapterFolderIsAModelOfUpdates() throws {
        let expected = try #require(try Fixtures.json("formats/peft/expected.json") as? [String: [String: [String: Any]]])
        for folder in ["llama", "gpt2", "rslora_bin"] {
            let locations = try ModelLoader.expand([Fixtures.path("formats/peft/" + folder)])
            #expect(locations.map(\.id) == [folder])
            let model = try ModelLoader.load(locations[0])
            #expect(model.format == "peft")
            let adapter = try LoRAAdapter.open(folder: locations[0].path)
            for (target, oracle) in expected[folder]! {
                let t = try #require(model.tensor(named: target), "\(folder) \(target)")
                var want = (oracle["value_bits"] as! [NSNumber]).map { Double(bitPattern: $0.uint64Value) }
                // A module the adapter also saves whole (an embedding's base_layer) is that tensor plus ΔW.
                if let saved = adapter.replacements.first(where: { $0.target == target }) {
                    let file = try SafetensorsFile(path: locations[0].path + "/adapter_model.safetensors")
                    let full = try #require(file.tensors.first { $0.name == saved.adapterName }).decode()
                    want = zip(want, full).map { $0 + Double($1) }
                }
                let got = try decodedBothWays(t)
                let largest = want.map(abs).max()!
                let worst = zip(got, want).map { abs(Double($0) - $1) }.max() ?? 0
                #expect(got.count == want.count && worst <= 1e-6 * largest, "\(folder) \(target): \(got.count) values, off by \(worst) of \(largest)")
            }
        }
        let llama = try load("peft/llama")
        #expect(llama.metadata.contains { $0.key == "r" && $0.value == "4" })
    }

    /// A folder of exports lists each file as a model under its file name.
    @Test func exportsAreModelsOfAFolder() throws {
        let dir = try TemporaryDirectory()
        try dir.write("zoo/a.gguf", try Fixtures.bytes("formats/gguf/llama_qk.gguf"))
        try dir.write("zoo/b.onnx", try Fixtures.bytes("formats/onnx/linear.onnx"))
        try dir.write("zoo/c.pt", try Fixtures.bytes("formats/torch/state.bin"))
        try dir.write("zoo/d/pytorch_model.bin", try Fixtures.bytes("formats/torch/state.bin"))
        let locations = try ModelLoader.expand([dir.path + "/zoo"])
        #expect(locations.map(\.id) == ["a.gguf", "b.onnx", "c.pt", "d"])
        #expect(try locations.map { try ModelLoader.load($0).format } == ["gguf", "onnx", "pytorch", "pytorch"])
    }

    /// inspect's text is one line per entry whatever a file's strings hold (a chat template spans
    /// lines; a hostile name carries terminal escapes), and its JSON parses back to them.
    @Test func inspectionKeepsStrangersTextOnOneLine() throws {
        let dir = try TemporaryDirectory()
        var b = GGUFBuilder()
        let template = "{% for m in messages %}\n\u{1B}[31m{{ m }}\r\n{% endfor %}"
        b.add("tokenizer.chat_template", GGUFBuilder.str(template))
        b.addTensor("w\n\u{1B}]0;x", ne: [4, 4], type: 0, bytes: LE.f32s((0..<16).map(Float.init)))
        let model = try ModelLoader.load(ModelLocation(id: "t.gguf", path: try dir.write("t.gguf", b.bytes)))
        let text = model.inspection()
        #expect(!text.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\r" })
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.contains { $0 == "  tokenizer.chat_template = {% for m in messages %}\\n\\u{1b}[31m{{ m }}\\r\\n{% endfor %}" })
        #expect(lines.contains { $0 == "  w\\n\\u{1b}]0;x  [4, 4]  F32" })
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(model.inspection(json: true).utf8)) as? [String: Any])
        #expect((doc["metadata"] as? [String: String])?["tokenizer.chat_template"] == template)
        #expect(((doc["tensors"] as? [[String: Any]])?.first?["name"] as? String) == "w\n\u{1B}]0;x")
    }
}
