import Foundation
import Testing
@testable import ModelTree

/// GGUF → Hugging Face tensor names against gguf-py's own map (its `tensor_mapping.py`), and the
/// undoing of the Llama q/k permutation against numpy applying `convert_hf_to_gguf.py`'s permute
/// (`Tests/fixtures/formats/make_gguf.py`).
@Suite struct FormatsNamesTests {
    /// A GGUF file holding only `general.architecture` (and optional head counts).
    private func map(_ arch: String, extra: [(String, [UInt8])] = []) throws -> GGUFNameMap {
        var b = GGUFBuilder()
        b.add("general.architecture", GGUFBuilder.str(arch))
        for (k, v) in extra { b.add(k, v) }
        return try GGUFNameMap(b.bytes.withUnsafeBytes { try GGUFFile.parse(MemoryBytes(image: $0)) })
    }

    /// For every Hugging Face name of each family that gguf-py maps to a GGUF name, ours maps
    /// that GGUF name back to it (as the name or an alias).
    @Test func everyFamilyInvertsGGUFPysMap() throws {
        let oracle = try #require(try Fixtures.json("formats/gguf/names.json") as? [String: [[String]]])
        #expect(Set(oracle.keys) == Set(GGUFNameMap.architectures))
        for (arch, pairs) in oracle {
            let names = try map(arch, extra: [("\(arch).attention.head_count", GGUFBuilder.u32(4))])
            for pair in pairs {
                let (hf, gguf) = (pair[0], pair[1])
                let ours = try #require(try names.huggingFace(gguf), "\(arch): no name for \(gguf) (gguf-py: \(hf))")
                #expect(([ours.name] + ours.aliases).contains(hf), "\(arch): \(gguf) → \(ours.name) \(ours.aliases), gguf-py says \(hf)")
            }
        }
    }

    /// What the converter changes: q/k permuted for Llama only, GPT-2's Conv1D weights
    /// transposed (not their biases), Gemma's norms stored plus one.
    @Test func transforms() throws {
        let llama = try map("llama", extra: [("llama.attention.head_count", GGUFBuilder.u32(32)),
                                             ("llama.attention.head_count_kv", GGUFBuilder.u32(8))])
        #expect(try llama.huggingFace("blk.3.attn_q.weight") == HFTensorName(name: "model.layers.3.self_attn.q_proj.weight", aliases: [], transform: .permutedRows(heads: 32)))
        #expect(try llama.huggingFace("blk.3.attn_k.bias")?.transform == .permutedRows(heads: 8))
        #expect(try llama.huggingFace("blk.3.attn_v.weight")?.transform == GGUFTransform.none)
        #expect(try llama.huggingFace("blk.12.ffn_gate.weight")?.name == "model.layers.12.mlp.gate_proj.weight")
        #expect(try llama.huggingFace("output.weight")?.name == "lm_head.weight")
        for unknown in ["rope_freqs.weight", "blk.x.attn_q.weight", "blk.-1.attn_q.weight", "blk.0.attn_q.scale", "blk.0", "blk.0.ffn_gate_exps.weight", "token_embd"] {
            #expect(try llama.huggingFace(unknown) == nil, "\(unknown)")
        }
        let qwen = try map("qwen2", extra: [("qwen2.attention.head_count", GGUFBuilder.u32(4))])
        #expect(try qwen.huggingFace("blk.0.attn_q.weight")?.transform == GGUFTransform.none)
        let gpt2 = try map("gpt2")
        #expect(try gpt2.huggingFace("blk.1.attn_qkv.weight") == HFTensorName(name: "transformer.h.1.attn.c_attn.weight", aliases: ["h.1.attn.c_attn.weight"], transform: .transposed))
        #expect(try gpt2.huggingFace("blk.1.attn_qkv.bias")?.transform == GGUFTransform.none)
        #expect(try gpt2.huggingFace("blk.1.ffn_down.weight")?.transform == .transposed)
        #expect(try gpt2.huggingFace("blk.1.ln_1.weight") == nil)
        let gemma = try map("gemma2")
        #expect(try gemma.huggingFace("blk.0.ffn_norm.weight") == HFTensorName(name: "model.layers.0.pre_feedforward_layernorm.weight", aliases: [], transform: .plusOne))
        #expect(try gemma.huggingFace("output_norm.weight")?.transform == .plusOne)
        #expect(try gemma.huggingFace("blk.0.attn_q.weight")?.transform == GGUFTransform.none)
        #expect(try gemma.huggingFace("output.weight") == nil)
        #expect(try map("gemma").huggingFace("blk.2.ffn_norm.weight")?.name == "model.layers.2.post_attention_layernorm.weight")
    }

    @Test func missingOrBadMetadata() throws {
        expectError(.format, "no 'general.architecture' string") { _ = try GGUFNameMap(GGUFBuilder().bytes.withUnsafeBytes { try GGUFFile.parse(MemoryBytes(image: $0)) }) }
        expectError(.format, "architecture 'mamba' has no tensor-name table (known: llama, qwen2") { _ = try map("mamba") }
        expectError(.format, "'llama.attention.head_count' is 0, not a positive head count") {
            _ = try map("llama", extra: [("llama.attention.head_count", GGUFBuilder.u32(0))])
        }
        expectError(.format, "'llama.attention.head_count' is neither an integer nor an array of integers") {
            _ = try map("llama", extra: [("llama.attention.head_count", GGUFBuilder.str("32"))])
        }
        let none = try map("llama")
        expectError(.format, "tensor 'blk.0.attn_q.weight': no llama.attention.head_count for layer 0, needed to undo the rotary permutation") {
            _ = try none.huggingFace("blk.0.attn_q.weight")
        }
        // Per layer: past the array, or a layer without attention (0 heads).
        let perLayer = try map("llama", extra: [("llama.attention.head_count", GGUFBuilder.array(4, count: 2, LE.u32(4) + LE.u32(0)))])
        #expect(try perLayer.huggingFace("blk.0.attn_q.weight")?.transform == .permutedRows(heads: 4))
        expectError(.format, "no llama.attention.head_count for layer 1") { _ = try perLayer.huggingFace("blk.1.attn_q.weight") }
        expectError(.format, "no llama.attention.head_count_kv for layer 2") { _ = try perLayer.huggingFace("blk.2.attn_k.weight") }
        expectError(.format, "tensor 'q': 30 rows cannot be 4 heads of rotary pairs") { _ = try TensorNames.rowMap(rows: 30, heads: 4, tensor: "q") }
    }

    /// Each permuted tensor of a GGUF made as llama.cpp makes it, read in the row order of the
    /// row map, equals the Hugging Face tensor numpy permuted (per-layer kv head counts included).
    @Test func qkPermutationIsUndone() throws {
        let image = try Fixtures.bytes("formats/gguf/llama_qk.gguf")
        let gguf = try image.withUnsafeBytes { try GGUFFile.parse(MemoryBytes(image: $0)) }
        let names = try GGUFNameMap(gguf)
        let hf = try SafetensorsFile(path: Fixtures.path("formats/gguf/llama_qk.hf.safetensors"))
        var checked = 0
        for t in gguf.tensors {
            let mapped = try #require(try names.huggingFace(t.name))
            let source = try #require(hf.tensors.first { $0.name == mapped.name }, "\(mapped.name)")
            #expect(source.shape == t.shape)
            let values = image[t.offset..<t.offset + t.byteCount].withUnsafeBytes { raw in
                (0..<t.elementCount).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
            }
            let want = try source.decode()
            let rows = t.shape[0], columns = t.elementCount / rows
            var map = Array(0..<rows)
            if case .permutedRows(let heads) = mapped.transform { map = try TensorNames.rowMap(rows: rows, heads: heads, tensor: t.name) }
            #expect(t.name.contains("attn_v") == (map == Array(0..<rows)), "\(t.name)")
            for r in 0..<rows {
                #expect(Array(values[map[r] * columns..<(map[r] + 1) * columns]) == Array(want[r * columns..<(r + 1) * columns]), "\(t.name) row \(r)")
            }
            checked += 1
        }
        #expect(checked == 6)
    }
}
