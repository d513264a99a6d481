import Foundation
import Testing
@testable import ModelTree

/// PEFT LoRA adapters: folders peft's own `save_pretrained` wrote, with peft's `get_delta_weight`
/// as the oracle of every update (`Tests/fixtures/formats/make_peft.py`).
@Suite struct FormatsPEFTTests {
    /// A factor's values, from the adapter's safetensors or .bin file.
    private func factor(_ name: String, folder: String) throws -> [Float] {
        let safetensors = Fixtures.path("formats/peft/\(folder)/adapter_model.safetensors")
        if FileManager.default.fileExists(atPath: safetensors) {
            return try #require(try SafetensorsFile(path: safetensors).tensors.first { $0.name == name }).decode()
        }
        let path = Fixtures.path("formats/peft/\(folder)/adapter_model.bin")
        let (_, checkpoint) = try TorchCheckpoint.open(path: path)
        let t = try #require(checkpoint.tensors.first { $0.name == name })
        #expect(t.dtype == .f32 && t.isContiguous)
        let image = try Fixtures.bytes("formats/peft/\(folder)/adapter_model.bin")
        let start = checkpoint.storages[t.storage].offset + 4 * t.storageOffset
        return referenceValues(Array(image[start..<start + 4 * t.elementCount]), .f32).map { Float($0) }
    }

    /// Every update of every adapter equals peft's, computed in two blocks of rows; the scales
    /// follow r, lora_alpha, rsLoRA and the rank and alpha patterns; full tensors are replacements.
    @Test func updatesMatchPEFT() throws {
        let expected = try #require(try Fixtures.json("formats/peft/expected.json") as? [String: [String: [String: Any]]])
        for (folder, deltas) in expected {
            let adapter = try LoRAAdapter.open(folder: Fixtures.path("formats/peft/" + folder))
            #expect(Set(adapter.pairs.map(\.target) + adapter.biases.map(\.target)) == Set(deltas.keys), "\(folder)")
            for pair in adapter.pairs {
                let oracle = try #require(deltas[pair.target])
                #expect(pair.shape == oracle["shape"] as! [Int], "\(folder) \(pair.target)")
                let want = (oracle["value_bits"] as! [NSNumber]).map { Double(bitPattern: $0.uint64Value) }
                let a = try factor(pair.a, folder: folder), b = try factor(pair.b, folder: folder)
                let rows = pair.shape[0], columns = want.count / rows
                var got = [Float](repeating: .nan, count: want.count)
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        got.withUnsafeMutableBufferPointer { out in
                            pair.deltaRows(0..<rows / 2, a: a, b: b, into: out.baseAddress!)
                            pair.deltaRows(rows / 2..<rows, a: a, b: b, into: out.baseAddress! + rows / 2 * columns)
                        }
                    }
                }
                let largest = want.map(abs).max()!
                let worst = zip(got, want).map { abs(Double($0) - $1) }.max()!
                #expect(largest > 0.01 && worst <= 1e-6 * largest, "\(folder) \(pair.target): off by \(worst) of \(largest)")
            }
            for bias in adapter.biases {
                let want = (deltas[bias.target]!["value_bits"] as! [NSNumber]).map { Double(bitPattern: $0.uint64Value) }
                let got = try factor(bias.bias, folder: folder).map { Double($0) * bias.scale }
                #expect(zip(got, want).allSatisfy { abs($0 - $1) <= 1e-6 * abs($1) }, "\(folder) \(bias.target)")
            }
        }
    }

    @Test func configsAndPairs() throws {
        let llama = try LoRAAdapter.open(folder: Fixtures.path("formats/peft/llama"))
        #expect(llama.config.rank == 4 && llama.config.alpha == 8 && !llama.config.useRSLoRA)
        #expect(llama.config.targetModules == ["embed_tokens", "q_proj", "v_proj"] && llama.config.modulesToSave == ["lm_head"])
        #expect(llama.config.baseModel == nil)
        // q_proj: 8/4; v_proj: alpha_pattern 3 over r 4, and 3 over rank_pattern's 2 in layer 1.
        let scales = Dictionary(uniqueKeysWithValues: llama.pairs.map { ($0.target, ($0.rank, $0.scale, $0.transposed)) })
        #expect(scales["model.layers.0.self_attn.q_proj.weight"]! == (4, 2, false))
        #expect(scales["model.layers.0.self_attn.v_proj.weight"]! == (4, 0.75, false))
        #expect(scales["model.layers.1.self_attn.v_proj.weight"]! == (2, 1.5, false))
        #expect(scales["model.embed_tokens.weight"]! == (4, 2, true))
        #expect(llama.replacements.map(\.target) == ["lm_head.weight", "model.embed_tokens.weight"])
        #expect(llama.replacements.map(\.adapterName) == ["base_model.model.lm_head.weight", "base_model.model.model.embed_tokens.base_layer.weight"])
        let rs = try LoRAAdapter.open(folder: Fixtures.path("formats/peft/rslora_bin"))
        #expect(rs.config.useRSLoRA && rs.pairs.allSatisfy { $0.scale == 8 / 2 })
        let gpt2 = try LoRAAdapter.open(folder: Fixtures.path("formats/peft/gpt2"))
        #expect(gpt2.pairs.map(\.transposed) == [true] && gpt2.pairs[0].shape == [16, 48])
        #expect(gpt2.biases == [LoRABias(target: "transformer.h.0.attn.c_attn.bias", bias: "base_model.model.transformer.h.0.attn.c_attn.lora_B.bias", scale: 2)])
    }

    @Test func otherAdaptersAreRefused() throws {
        expectError(.format, "dora/adapter_config.json: use_dora is true: DoRA's update depends on the base weights") {
            _ = try LoRAAdapter.open(folder: Fixtures.path("formats/peft/dora"))
        }
        expectError(.format, "ia3/adapter_config.json: peft_type 'IA3' is not LoRA: libmodeltree reads LoRA adapters only") {
            _ = try LoRAAdapter.open(folder: Fixtures.path("formats/peft/ia3"))
        }
        let dir = try TemporaryDirectory()
        try dir.write("a/adapter_config.json", text: #"{"peft_type": "LORA", "r": 2, "lora_alpha": 4}"#)
        expectError(.format, "a: an adapter_config.json without adapter_model.safetensors or adapter_model.bin") {
            _ = try LoRAAdapter.open(folder: dir.path + "/a")
        }
        expectError(.io, "b/adapter_config.json", "No such file") { _ = try LoRAAdapter.open(folder: dir.path + "/b") }
    }

    @Test func badConfigs() throws {
        func refuses(_ json: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            expectError(.format, message, sourceLocation: sourceLocation) {
                _ = try Array(json.utf8).withUnsafeBytes { try LoRAConfig.parse($0) }
            }
        }
        refuses("[]", "not a JSON object")
        refuses(#"{"r": 2}"#, "no 'peft_type'")
        refuses(#"{"peft_type": "LORA", "lora_alpha": 4}"#, "'r' is not a number")
        refuses(#"{"peft_type": "LORA", "r": 2.5, "lora_alpha": 4}"#, "'r' is 2.5, not a positive integer")
        refuses(#"{"peft_type": "LORA", "r": 0, "lora_alpha": 4}"#, "'r' is 0.0, not a positive integer")
        refuses(#"{"peft_type": "LORA", "r": 2, "lora_alpha": "4"}"#, "'lora_alpha' is not a number")
        refuses(#"{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "use_rslora": 1}"#, "'use_rslora' is not true or false")
        refuses(#"{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": [1]}"#, "'target_modules' holds something other than names")
        refuses(#"{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "rank_pattern": {"q": 1.5}}"#, "'rank_pattern' maps 'q' to 1.5, not a positive integer")
        refuses(#"{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "alpha_pattern": {"q_proj|k_proj": 1}}"#,
                "pattern key 'q_proj|k_proj' uses the regular-expression syntax '|', which libmodeltree does not evaluate")
        refuses(#"{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "base_model_name_or_path": 3}"#, "'base_model_name_or_path' is not a string")
        let regex = try Array(#"{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ".*q_proj", "base_model_name_or_path": "org/base"}"#.utf8)
            .withUnsafeBytes { try LoRAConfig.parse($0) }
        #expect(regex.targetModulesPattern == ".*q_proj" && regex.targetModules == nil && regex.baseModel == "org/base")
        #expect(LoRAConfig.matches("v_proj", "model.layers.0.self_attn.v_proj") && !LoRAConfig.matches("v_proj", "model.layers.0.self_attn.xv_proj"))
    }

    @Test func badPairs() throws {
        let config = try Array(#"{"peft_type": "LORA", "r": 2, "lora_alpha": 4}"#.utf8).withUnsafeBytes { try LoRAConfig.parse($0) }
        func refuses(_ tensors: [(String, [Int])], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            expectError(.format, message, sourceLocation: sourceLocation) { _ = try LoRAAdapter.pair(config: config, tensors: tensors) }
        }
        let p = "base_model.model.m.q"
        refuses([("\(p).lora_A.weight", [2, 4])], "module 'm.q' has lora_A but no lora_B")
        refuses([("\(p).lora_B.weight", [4, 2])], "module 'm.q' has lora_B but no lora_A")
        refuses([("\(p).lora_A.weight", [2, 4]), ("\(p).lora_B.weight", [4, 3])], "module 'm.q': lora_A [2, 4] and lora_B [4, 3] do not share a rank")
        refuses([("\(p).lora_A.weight", [3, 4]), ("\(p).lora_B.weight", [4, 3])], "module 'm.q': rank 3, but adapter_config.json gives r = 2")
        refuses([("\(p).lora_A.weight", [2]), ("\(p).lora_B.weight", [4, 2])], "are not [r, in…] and [out, r]")
        refuses([("\(p).lora_A.default.weight", [2, 4]), ("\(p).lora_B.other.weight", [4, 2])], "tensors of two adapters ('default' and 'other') in one file")
        refuses([("\(p).lora_A.weight", [2, 4]), ("\(p).lora_A.default.weight", [2, 4])], "module 'm.q' has two lora_A tensors")
        refuses([("\(p).lora_C.weight", [2, 4])], "tensor 'base_model.model.m.q.lora_C.weight' is not a LoRA factor libmodeltree knows")
        refuses([("\(p).lora_magnitude_vector", [4])], "is a DoRA magnitude")
        // A target both replaced and updated (peft saves an adapted embedding's base_layer).
        let both = try LoRAAdapter.pair(config: config, tensors: [("\(p).lora_A.weight", [2, 4]), ("\(p).lora_B.weight", [4, 2]), ("\(p).base_layer.weight", [4, 4])])
        #expect(both.pairs.map(\.target) == ["m.q.weight"] && both.replacements.map(\.target) == ["m.q.weight"])
        // The adapter name may appear before .weight; conv factors flatten their kernel dimensions.
        let named = try LoRAAdapter.pair(config: config, tensors: [("\(p).lora_A.default.weight", [2, 3, 2, 2]), ("\(p).lora_B.default.weight", [5, 2, 1, 1]),
                                                                  ("base_model.model.head.modules_to_save.default.weight", [3, 3])])
        #expect(named.pairs == [LoRAPair(target: "m.q.weight", a: "\(p).lora_A.default.weight", b: "\(p).lora_B.default.weight",
                                         rank: 2, scale: 2, transposed: false, shape: [5, 3, 2, 2])])
        #expect(named.replacements.map(\.target) == ["head.weight"])
    }

    /// ΔW by rows against the definition, for a conv-shaped pair and a transposed one.
    @Test func deltaRowsFollowTheDefinition() throws {
        let a: [Float] = (0..<12).map { Float($0) - 5 }      // [r 2, k 6]
        let b: [Float] = [1, -2, 0.5, 3, -1, 1]              // [out 3, r 2]
        let pair = LoRAPair(target: "w", a: "a", b: "b", rank: 2, scale: 0.5, transposed: false, shape: [3, 6])
        let flipped = LoRAPair(target: "w", a: "a", b: "b", rank: 2, scale: 0.5, transposed: true, shape: [6, 3])
        var plain = [Float](repeating: 0, count: 18), transposed = [Float](repeating: 0, count: 18)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                pair.deltaRows(0..<3, a: a, b: b, into: &plain)
                flipped.deltaRows(0..<6, a: a, b: b, into: &transposed)
            }
        }
        for o in 0..<3 {
            for j in 0..<6 {
                let want = 0.5 * (b[o * 2] * a[j] + b[o * 2 + 1] * a[6 + j])
                #expect(plain[o * 6 + j] == want && transposed[j * 3 + o] == want)
            }
        }
    }
}
