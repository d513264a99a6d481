import Foundation
import Glibc
import Testing
@testable import ModelTree

/// The torch.save reader (zip + restricted pickle) against files real `torch.save` wrote and
/// torch read back (`Tests/fixtures/formats/make_torch.py`), malicious pickles that run code
/// under Python's pickle (refused here, with no side effect), and hostile archives built byte by
/// byte (`ZipBuilder`).
@Suite struct FormatsTorchTests {
    private func parse(_ bytes: [UInt8]) throws -> TorchCheckpoint {
        try bytes.withUnsafeBytes { try TorchCheckpoint.parse(MemoryBytes(image: $0)) }
    }

    /// A torch.save-like archive: `pickle` as `archive/data.pkl`, and storages under `archive/data/`.
    private func archive(_ pickle: [UInt8], storages: [(String, [UInt8])] = []) -> [UInt8] {
        var z = ZipBuilder()
        z.add("archive/data.pkl", pickle)
        z.add("archive/byteorder", Array("little".utf8))
        for (key, data) in storages { z.add("archive/data/" + key, data) }
        return z.bytes
    }

    /// The tensor's elements in row-major order, read through its strides from the file image and
    /// decoded from the definition of each dtype.
    private func values(_ t: TorchTensorInfo, _ c: TorchCheckpoint, _ image: [UInt8]) -> [Double] {
        let storage = c.storages[t.storage]
        var out: [Double] = []
        var index = [Int](repeating: 0, count: t.shape.count)
        for _ in 0..<t.elementCount {
            let at = storage.offset + t.storageIndex(index) * t.dtype.size
            out.append(referenceValue(image[at..<at + t.dtype.size], t.dtype))
            // The next multi-index, last dimension fastest.
            var d = t.shape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < t.shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    // MARK: - Real torch.save files

    /// Every tensor of a real state dict: dtype, shape, strides and offset as torch has them, and
    /// the values torch reads through them — transposed views, a column, slices, tied weights,
    /// stride 0, 0-d and empty tensors, float8 and uint16 (rebuilt by `_rebuild_tensor_v3`).
    @Test func stateDictMatchesTorch() throws {
        let image = try Fixtures.bytes("formats/torch/state.bin")
        let checkpoint = try TorchCheckpoint.open(path: Fixtures.path("formats/torch/state.bin")).checkpoint
        let oracle = try #require(try Fixtures.json("formats/torch/state.expected.json") as? [String: Any])
        let expected = try #require(oracle["tensors"] as? [String: [String: Any]])
        #expect(checkpoint.tensors.map(\.name) == expected.keys.sorted())
        #expect(checkpoint.otherKeys.isEmpty && checkpoint.nestedUnder == nil)
        let dtypes = ["float32": DType.f32, "float16": .f16, "bfloat16": .bf16, "float64": .f64, "int64": .i64,
                      "uint8": .u8, "bool": .bool, "float8_e4m3fn": .f8e4m3, "uint16": .u16]
        for t in checkpoint.tensors {
            let e = try #require(expected[t.name])
            #expect(t.dtype == dtypes[e["dtype"] as! String], "\(t.name)")
            #expect(t.shape == e["shape"] as! [Int] && t.strides == e["stride"] as! [Int], "\(t.name)")
            #expect(t.storageOffset == e["storage_offset"] as! Int, "\(t.name)")
            #expect(checkpoint.storages[t.storage].byteCount == e["storage_bytes"] as! Int, "\(t.name)")
            #expect(values(t, checkpoint, image).map(\.bitPattern) == (e["value_bits"] as! [NSNumber]).map(\.uint64Value), "\(t.name)")
        }
        func tensor(_ name: String) -> TorchTensorInfo { checkpoint.tensors.first { $0.name == name }! }
        // Views share their storage; tied weights are the same view under two names.
        #expect(tensor("layer.weight").storage == tensor("layer.weight_t").storage)
        #expect(tensor("layer.weight").storage == tensor("layer.column").storage)
        let (embed, head) = (tensor("embed.weight"), tensor("lm_head.weight"))
        #expect(embed.storage == head.storage && embed.shape == head.shape && embed.strides == head.strides)
        #expect(tensor("layer.weight").isContiguous && !tensor("layer.weight_t").isContiguous && !tensor("expanded").isContiguous)
        #expect(tensor("scalar").shape == [] && tensor("scalar").isContiguous && tensor("empty").elementCount == 0)
        #expect(Set(checkpoint.storages.map(\.key)).count == checkpoint.storages.count)
        let entries = try #require(oracle["entries"] as? [String])
        let zip = try image.withUnsafeBytes { try ZipArchive.parse(MemoryBytes(image: $0)) }
        #expect(zip.entries.map(\.name) == entries)
    }

    /// A training checkpoint keeps its state dict under "state_dict".
    @Test func trainingCheckpoint() throws {
        let c = try TorchCheckpoint.open(path: Fixtures.path("formats/torch/checkpoint.pt")).checkpoint
        #expect(c.nestedUnder == "state_dict" && c.tensors.map(\.name) == ["a.weight", "b"])
    }

    /// A sharded checkpoint's `pytorch_model.bin.index.json` is read by the safetensors index's
    /// parser (`ModelLoader.weightMap`), and each shard holds exactly what the index maps to it.
    @Test func shardedCheckpoint() throws {
        let index = try Fixtures.bytes("formats/torch/sharded/pytorch_model.bin.index.json")
        let map = try index.withUnsafeBytes { try ModelLoader.weightMap(parsing: $0, indexPath: "pytorch_model.bin.index.json") }
        var shards: [String: Set<String>] = [:]
        for (tensor, shard) in map { shards[shard, default: []].insert(tensor) }
        #expect(shards.keys.sorted() == ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"])
        for (shard, names) in shards {
            let checkpoint = try TorchCheckpoint.open(path: Fixtures.path("formats/torch/sharded/" + shard)).checkpoint
            #expect(Set(checkpoint.tensors.map(\.name)) == names, "\(shard)")
            #expect(checkpoint.tensors.allSatisfy { $0.dtype == .f32 && $0.isContiguous })
        }
        #expect(map["model.layers.1.self_attn.q_proj.weight"] != nil && map.count == 21)
    }

    @Test func otherFilesAreRefusedWithAReason() throws {
        for (file, message) in [
            ("legacy.bin", "legacy.bin: a torch.save file in the legacy format (before torch 1.6, a bare pickle)"),
            ("deflated.bin", "deflated.bin: zip: 'state/data.pkl' is compressed (method 8, deflate); torch.save stores entries uncompressed"),
            ("script.pt", "script.pt: a TorchScript archive (torch.jit.save), not a state dict"),
        ] {
            expectError(.format, message) { _ = try TorchCheckpoint.open(path: Fixtures.path("formats/torch/" + file)) }
        }
        expectError(.format, "not a zip archive (no end of central directory record)") {
            _ = try TorchCheckpoint.open(path: Fixtures.path("formats/gguf/quants.gguf"))
        }
    }

    // MARK: - Malicious pickles

    /// Pickles that run code under Python's pickle (each shell payload creates a marker file when
    /// unpickled by Python; make_torch.py proves it) are refused by name, and nothing runs: the
    /// marker files do not exist afterwards.
    @Test func maliciousPicklesAreRefusedAndNothingRuns() throws {
        let refused = try #require(try Fixtures.json("formats/torch/malicious.json") as? [String: String])
        #expect(refused.count == 14)
        for (name, global) in refused.sorted(by: { $0.key < $1.key }) {
            let marker = "/tmp/modeltree-pickle-marker-" + name
            unlink(marker)
            let path = Fixtures.path("formats/torch/malicious/\(name).bin")
            let expected = global == "EXT1" ? "refusing the extension registry (EXT1 opcode" : "refusing to call \(global) from data.pkl"
            expectError(.format, "\(name).bin: ", expected) { _ = try TorchCheckpoint.open(path: path) }
            #expect(access(marker, F_OK) != 0, "\(name): \(marker) exists")
        }
    }

    /// Globals are refused when loaded, even ones that would be harmless, and allowed names
    /// cannot be misused: a storage type cannot be called, BUILD only sets a dict's attributes.
    @Test func theAllowListIsNarrow() throws {
        func refuses(_ pickle: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            // One byte per character (the pickles here are ASCII but for \u{80}, PROTO).
            let bytes = pickle.unicodeScalars.map { UInt8($0.value) }
            expectError(.format, message, sourceLocation: sourceLocation) { _ = try parse(archive(bytes)) }
        }
        refuses("cbuiltins\nlen\n.", "refusing to call builtins.len from data.pkl")
        refuses("ctorch\nTensor\n.", "refusing to call torch.Tensor from data.pkl")
        refuses("c__main__\nNet\n.", "refusing to call __main__.Net from data.pkl")
        refuses("ctorch._tensor\n_rebuild_from_type_v2\n.", "refusing to call torch._tensor._rebuild_from_type_v2")
        refuses("ctorch\nFloatStorage\n(tR.", "torch.FloatStorage is a type, not something data.pkl may call")
        refuses("ccollections\nOrderedDict\n)R(K\u{1}K\u{2}tb.", "BUILD with a state that is not a dict")
        refuses("(lp0\n(K\u{1}tb.", "BUILD on a list, which libmodeltree does not rebuild")
        refuses("K\u{1}(K\u{2}tR.", "a call of an int, which is not an allowed global")
        refuses("\u{80}\u{2}ccollections\nOrderedDict\n)}K\u{1}K\u{2}s\u{92}.", "NEWOBJ_EX with keyword arguments, which no allowed global takes")
    }

    // MARK: - Hostile pickles

    @Test func pickleStructure() throws {
        func refuses(_ pickle: [UInt8], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            expectError(.format, "data.pkl", message, sourceLocation: sourceLocation) { _ = try parse(archive(pickle)) }
        }
        refuses([], "ends without a STOP opcode")
        refuses([0x80, 0x02], "ends without a STOP opcode")
        refuses([0x80, 0x06, 0x2E], "unsupported pickle protocol 6")
        refuses([0x2E], "STOP with 0 values on the stack, not 1")
        refuses([0x4E, 0x4E, 0x2E], "STOP with 2 values on the stack, not 1")
        refuses([0x28, 0x4E, 0x2E], "STOP with an open MARK")
        refuses([0x30], "pop from an empty stack")
        refuses([0x28, 0x30], "pop from an empty stack")            // a MARK protects what is below it
        refuses([0x74], "no MARK on the stack")
        refuses([0xFF], "unknown pickle opcode 0xff at byte 0")
        refuses([0x68, 0x05, 0x2E], "memo entry 5 is not set")
        refuses([0x58, 0xFF, 0xFF, 0xFF, 0xFF], "a length of 4294967295 bytes runs past the end")
        refuses([0x8D] + [UInt8](repeating: 0xFF, count: 8), "an unsigned integer beyond 2^63")
        refuses([0x8A, 0x09] + [UInt8](repeating: 0, count: 8) + [1, 0x2E], "an integer wider than 64 bits")
        refuses([0x8A, 0x09] + [UInt8](repeating: 0, count: 7) + [0x80, 0, 0x2E], "an integer wider than 64 bits")
        refuses([0x58, 2, 0, 0, 0, 0xC3, 0x28, 0x2E], "a string that is not UTF-8")
        refuses(Array("I12x\n.".utf8), "integer '12x' is not a 64-bit integer")
        refuses([0x82, 0x01, 0x2E], "refusing the extension registry (EXT1 opcode at byte 0)")
        refuses([0x97, 0x2E], "out-of-band buffers (protocol 5) are not supported")
        refuses(Array("]K\u{1}K\u{2}s.".utf8), "SETITEM on something that is not a dict")
        refuses(Array("}]K\u{1}s.".utf8), "a dict key of a kind libmodeltree does not read (a list)")
        refuses(Array("(K\u{1}K\u{2}K\u{3}d.".utf8), "SETITEMS with an odd number of items")
        refuses(Array("]N.".utf8), "STOP with 2 values")
        // LONG1 of 9 bytes that only extend the sign is an ordinary integer (the key -1).
        refuses([0x7D, 0x8A, 0x09] + [UInt8](repeating: 0xFF, count: 9) + [0x4E, 0x73, 0x2E], "holds a dict without tensors (keys: -1)")
    }

    /// A list that contains itself is an index cycle in the arena, not a reference cycle (no leak
    /// under LeakSanitizer in the fuzz target); the result is still not a state dict.
    @Test func selfReferenceIsHarmless() throws {
        // l = []; l.append(l); l
        expectError(.format, "data.pkl holds a list, not a dict of tensors") { _ = try parse(archive(Array("]q\u{0}h\u{0}a.".utf8))) }
    }

    /// The machine stops at its cap of values made (4,000,000 by default; 1,000 here), whatever
    /// the opcodes that make them: containers, memo entries, tuple elements, dict items.
    @Test func liveValuesAreCapped() throws {
        let zip = try archive([0x4E, 0x2E]).withUnsafeBytes { try ZipArchive.parse(MemoryBytes(image: $0)) }
        func run(_ pickle: [UInt8]) throws {
            var policy = StateDictPolicy(archive: zip, prefix: "archive/")
            var machine = PickleMachine(pickle, source: "data.pkl", maxLiveValues: 1_000)
            _ = try machine.run(&policy)
        }
        let many = 1_001
        var memo: [UInt8] = [0x4E]
        for i in 0..<many { memo += [0x72] + LE.u32(UInt32(i)) }
        let cases: [(String, [UInt8])] = [
            ("lists", [0x28] + [UInt8](repeating: 0x5D, count: many) + [0x2E]),
            ("memo", memo + [0x2E]),
            ("tuple", [0x4E] + [UInt8](repeating: 0x32, count: 600) + [0x28] + [UInt8](repeating: 0x4E, count: 500) + [0x74, 0x2E]),
            ("appends", [0x5D, 0x28] + [UInt8](repeating: 0x4E, count: 600) + [0x65, 0x28] + [UInt8](repeating: 0x4E, count: 600) + [0x65, 0x2E]),
            ("dict", [0x7D] + (0..<2).flatMap { _ in [0x28] + (0..<300).flatMap { _ in [0x4B, 1, 0x4E] } + [0x75] } + [0x2E]),
        ]
        for (what, pickle) in cases {
            expectError(.format, "more than 1000 values made (the limit for a pickle)") { try run(pickle) }
            _ = what
        }
        // Under the cap, the same shapes run.
        #expect(throws: Never.self) { try run([0x28] + [UInt8](repeating: 0x5D, count: 450) + [0x6C, 0x2E]) }
    }

    // MARK: - Hostile state dicts

    /// `{name: _rebuild_tensor_v2(storage(type, key, numel), offset, size, stride, False, OrderedDict())}`.
    private func stateDict(_ name: String = "w", type: String = "FloatStorage", key: String = "0", numel: Int = 6,
                           offset: Int = 0, size: [Int] = [2, 3], stride: [Int] = [3, 1]) -> [UInt8] {
        func int(_ v: Int) -> [UInt8] { [0x8A, 8] + LE.u64(UInt64(bitPattern: Int64(v))) }
        func tuple(_ v: [Int]) -> [UInt8] { [0x28] + v.flatMap(int) + [0x74] }
        var p: [UInt8] = [0x80, 2, 0x7D]
        p += [0x58] + LE.u32(UInt32(name.utf8.count)) + Array(name.utf8)
        p += Array("ctorch._utils\n_rebuild_tensor_v2\n(".utf8)
        p += [0x28, 0x58] + LE.u32(7) + Array("storage".utf8) + Array("ctorch\n\(type)\n".utf8)
        p += [0x58] + LE.u32(UInt32(key.utf8.count)) + Array(key.utf8) + [0x58] + LE.u32(3) + Array("cpu".utf8) + int(numel) + [0x74, 0x51]
        p += int(offset) + tuple(size) + tuple(stride) + [0x89] + Array("ccollections\nOrderedDict\n)R".utf8) + [0x74, 0x52]
        return p + [0x73, 0x2E]
    }

    @Test func storagesAndViews() throws {
        let data = [UInt8](repeating: 1, count: 24)
        let ok = try parse(archive(stateDict(), storages: [("0", data)]))
        #expect(ok.tensors.map(\.shape) == [[2, 3]] && ok.storages[0].byteCount == 24)
        // The last element may be the storage's last, not beyond.
        #expect(try parse(archive(stateDict(numel: 6, offset: 3, size: [1, 3], stride: [3, 1]), storages: [("0", data)])).tensors.count == 1)
        func refuses(_ pickle: [UInt8], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            expectError(.format, message, sourceLocation: sourceLocation) { _ = try parse(archive(pickle, storages: [("0", data)])) }
        }
        refuses(stateDict(offset: 1), "with offset 1, size [2, 3] and stride [3, 1] of F32: past the end of storage '0' (24 bytes)")
        refuses(stateDict(size: [3, 3]), "past the end of storage '0'")
        refuses(stateDict(size: [2, 3], stride: [1, 3]), "past the end of storage '0'")
        refuses(stateDict(size: [2, 1 << 61], stride: [1, 1 << 62]), "whose extent overflows")
        refuses(stateDict(size: [1 << 32, 1 << 32], stride: [1, 1]), "whose element count overflows")
        refuses(stateDict(size: [2, 3], stride: [3]), "with 2 sizes but 1 strides")
        refuses(stateDict(size: [2, -3], stride: [3, 1]), "a size or stride that is not a tuple of non-negative integers")
        refuses(stateDict(stride: [3, -1]), "a size or stride that is not a tuple of non-negative integers")
        refuses(stateDict(offset: -1), "a storage offset that is not a non-negative integer")
        refuses(stateDict(size: [Int](repeating: 1, count: 65), stride: [Int](repeating: 1, count: 65)), "with 65 dimensions, more than 64")
        refuses(stateDict(key: "1"), "storage '1' has no entry archive/data/1 in the archive")
        refuses(stateDict(key: "../0"), "a persistent id whose key is not a plain name")
        refuses(stateDict(numel: 7), "storage '0' holds 7 elements of F32 (28 bytes) but its entry has 24 bytes")
        refuses(stateDict(numel: -1), "whose element count is not a non-negative integer")
        refuses(stateDict(numel: 1 << 62), "whose size overflows")
        refuses(stateDict(type: "ComplexFloatStorage"), "refusing to call torch.ComplexFloatStorage from data.pkl")
        // An untyped storage counts bytes and needs _rebuild_tensor_v3's dtype.
        refuses(stateDict(type: "UntypedStorage", numel: 24), "_rebuild_tensor_v2 on an untyped storage without a dtype")
        // Zero elements: nothing is read, so any offset is fine.
        #expect(try parse(archive(stateDict(offset: 1000, size: [0, 3]), storages: [("0", data)])).tensors[0].elementCount == 0)
        // Two names, one storage loaded twice consistently; inconsistently is refused.
        var two = stateDict("a")
        two.removeLast()                                                   // STOP
        two += stateDict("b").dropFirst(3)                                  // the second entry, on the same dict
        #expect(try parse(archive(two, storages: [("0", data)])).tensors.map(\.name) == ["a", "b"])
        var clash = stateDict("a")
        clash.removeLast()
        clash += stateDict("b", type: "HalfStorage", numel: 12).dropFirst(3)
        refuses(clash, "storage '0' is loaded twice with different types or sizes")
        var twice = stateDict("a")
        twice.removeLast()
        twice += stateDict("a").dropFirst(3)
        refuses(twice, "the state dict holds 'a' twice")
    }

    // MARK: - Hostile archives

    @Test func everyTruncationIsAFormatError() throws {
        expectEveryPrefixRefused(try Fixtures.bytes("formats/torch/state.bin")) { _ = try parse($0) }
    }

    @Test func zipStructure() throws {
        let pickle = stateDict(), data = [UInt8](repeating: 2, count: 24)
        func base() -> ZipBuilder {
            var z = ZipBuilder()
            z.add("archive/data.pkl", pickle)
            z.add("archive/data/0", data)
            return z
        }
        #expect(try parse(base().bytes).tensors.count == 1)
        // ZIP64 records and extra fields (what torch writes past 4 GB), and padded local headers.
        var z64 = base()
        z64.zip64End = true
        for i in z64.entries.indices { z64.entries[i].zip64 = true; z64.entries[i].localExtra = LE.u16(0x4246) + LE.u16(5) + [0x5A, 0x5A, 0x5A, 0x5A, 0x5A] }
        let checkpoint = try parse(z64.bytes)
        #expect(checkpoint.tensors.count == 1)
        #expect(checkpoint.storages[0].offset == 30 + pickle.count + 9 + "archive/data.pkl".utf8.count + 30 + 14 + 9)
        // A comment that contains an end-record signature is not taken for the record.
        var commented = base()
        commented.comment = LE.u32(0x0605_4b50) + [UInt8](repeating: 0, count: 30)
        #expect(try parse(commented.bytes).tensors.count == 1)

        func refuses(_ z: ZipBuilder, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            expectError(.format, message, sourceLocation: sourceLocation) { _ = try parse(z.bytes) }
        }
        var z = base(); z.entries[1].method = 8
        refuses(z, "zip: 'archive/data/0' is compressed (method 8, deflate)")
        z = base(); z.entries[1].flags |= 1
        refuses(z, "zip: 'archive/data/0' is encrypted")
        z = base(); z.entries[1].compressedSize = 12
        refuses(z, "is stored but its compressed size 12 differs from its size 24")
        z = base(); z.entries[1].localName = "archive/data/1"
        refuses(z, "the local header at byte \(30 + "archive/data.pkl".utf8.count + pickle.count) names another entry than 'archive/data/0'")
        z = base(); z.entries[1].name = "archive/data.pkl"
        refuses(z, "zip: two entries are named 'archive/data.pkl'")
        z = base(); z.entries[0].crc = 1
        refuses(z, "zip: 'archive/data.pkl' does not match its CRC-32")
        z = base(); z.entryCount = 3
        refuses(z, "zip: 3 entries cannot fit in a")
        z = base(); z.entryCount = 1
        refuses(z, "bytes after the 1 entries of the central directory")
        z = base(); z.entries[1].name = "archive/data/\u{FFFD}"
        z.entries[1].localName = "archive/data/\u{FFFD}"
        #expect(throws: ModelTreeError.self) { _ = try parse(z.bytes) }   // a valid name, but no storage '0'
        z = base(); z.comment = [1, 2]
        var bytes = z.bytes
        bytes.removeLast()                                           // the comment length now overshoots
        expectError(.format, "not a zip archive (no end of central directory record)") { _ = try parse(bytes) }
        // Overlapping entries: a storage whose local header lies inside another entry's data
        // (the same bytes read as two things).
        var overlap = ZipBuilder()
        overlap.add("archive/outer", ZipBuilder.localHeader("archive/data/0", data))
        overlap.add("archive/data.pkl", pickle)
        overlap.entries.append(ZipBuilder.Entry(name: "archive/data/0", data: data, centralOnlyAt: 30 + "archive/outer".utf8.count))
        refuses(overlap, "zip: entries 'archive/outer' and 'archive/data/0' overlap")
        // A local header offset that points nowhere useful.
        var nowhere = base()
        nowhere.entries.append(ZipBuilder.Entry(name: "archive/x", data: [], centralOnlyAt: 3))
        refuses(nowhere, "zip: no local header for 'archive/x' at byte 3")
    }

    /// A central directory larger than 100 MB, or of more than 1,000,000 entries, is refused from
    /// the end record.
    @Test func directoryCap() throws {
        var many = ZipBuilder()
        many.add("archive/data.pkl", [0x4E, 0x2E])
        many.zip64End = true
        many.entryCount = 1_000_001
        expectError(.format, "zip: 1000001 entries, more than the limit of 1000000") { _ = try parse(many.bytes) }
        var eocd = LE.u32(0x0605_4b50) + LE.u16(0) + LE.u16(0) + LE.u16(1) + LE.u16(1)
        eocd += LE.u32(100_000_001) + LE.u32(0) + LE.u16(0)
        expectError(.format, "zip: the central directory is 100000001 bytes, over the limit of 100000000") { _ = try parse(eocd) }
    }
}
