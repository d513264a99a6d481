import Foundation
import Glibc
import Testing
@testable import ModelTree

/// The GGUF reader and the ggml dequantizers, against gguf-py (the format's reference
/// implementation): files gguf-py wrote, read back by gguf-py's `GGUFReader` and dequantized by
/// its `gguf.quants.dequantize` (`Tests/fixtures/formats/make_gguf.py`); and hostile headers
/// built byte by byte from the format description (`GGUFBuilder`).
@Suite struct FormatsGGUFTests {
    /// Parses an image in memory.
    private func parse(_ bytes: [UInt8]) throws -> GGUFFile {
        try bytes.withUnsafeBytes { try GGUFFile.parse(MemoryBytes(image: $0)) }
    }

    /// All of a tensor's elements, dequantized from the file image.
    private func dequantize(_ t: GGUFTensorInfo, _ image: [UInt8], pieces: Int = 1) -> [Float] {
        var out = [Float](repeating: .nan, count: t.elementCount)
        image.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { y in
                // In `pieces` block ranges, as the streaming pass would ask for them.
                let blocks = t.blockCount
                var start = 0
                for p in 1...pieces {
                    let end = blocks * p / pieces
                    let bytes = t.byteRange(blocks: start..<end)
                    GGMLDequantizer.decode(t.type, raw.baseAddress! + bytes.lowerBound, blocks: end - start,
                                           into: y.baseAddress! + start * t.type.blockSize)
                    start = end
                }
            }
        }
        return out
    }

    // MARK: - Against gguf-py

    /// Block and type sizes equal gguf-py's `GGML_QUANT_SIZES`, and the type ids are the same.
    @Test func typeTableMatchesGGUFPy() throws {
        let sizes = try #require(try Fixtures.json("formats/gguf/sizes.json") as? [String: [Int]])
        for (name, entry) in sizes {
            let type = try #require(GGMLType(rawValue: UInt32(entry[0])), "gguf-py type \(name) (\(entry[0])) is unknown")
            #expect(type.name == name)
            #expect(type.blockSize == entry[1] && type.typeSize == entry[2], "\(name)")
        }
        #expect(Set(GGMLType.allCases.map(\.name)) == Set(sizes.keys))
    }

    /// Every type libmodeltree decodes gives gguf-py's dequantized values bit for bit (NaN where
    /// gguf-py has NaN), whole or in block ranges; the logical shape is numpy's.
    @Test func everyTypeDequantizesAsGGUFPy() throws {
        let image = try Fixtures.bytes("formats/gguf/quants.gguf")
        let gguf = try parse(image)
        let expected = try SafetensorsFile(path: Fixtures.path("formats/gguf/quants.expected.safetensors"))
        let types: Set<String> = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]
        #expect(Set(expected.tensors.map { String($0.name.dropFirst(2)) }) == types)
        for oracle in expected.tensors {
            let t = try #require(gguf.tensors.first { $0.name == oracle.name })
            #expect(t.type.name == String(oracle.name.dropFirst(2)))
            #expect(t.shape == oracle.shape && t.shape == [2, 512], "\(t.name)")
            try t.requireDequantizable()
            let want = try oracle.decode()
            for pieces in [1, 3] {
                let got = dequantize(t, image, pieces: pieces)
                let mismatches = zip(got, want).filter { !($0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN)) }.count
                #expect(mismatches == 0, "\(t.name) in \(pieces) pieces: \(mismatches) of \(want.count) differ")
            }
        }
    }

    /// F64 (which gguf-py does not dequantize) rounds each double to the nearest Float.
    @Test func f64RoundsToNearestFloat() throws {
        let values: [Double] = [0, -0.0, 1e-300, .pi, -2.5e38, 1e39, .infinity, 0x1.000001p0]
        var b = GGUFBuilder()
        b.addTensor("d", ne: [UInt64(values.count)], type: 28, bytes: values.flatMap { LE.u64($0.bitPattern) })
        let image = b.bytes
        let t = try parse(image).tensors[0]
        #expect(t.type == .f64 && t.byteCount == 64)
        #expect(dequantize(t, image).map(\.bitPattern) == values.map { Float($0).bitPattern })
    }

    /// Types without a dequantizer are described (name, type, shape, bytes) but refused when
    /// decoded, with an error naming the tensor and the type.
    @Test func unsupportedTypesAreNamedNotDecoded() throws {
        let gguf = try GGUFFile.open(path: Fixtures.path("formats/gguf/quants.gguf")).gguf
        for (name, message) in [("t.IQ2_XXS", "tensor 't.IQ2_XXS' is IQ2_XXS, which libmodeltree cannot dequantize"),
                                ("t.TQ1_0", "tensor 't.TQ1_0' is TQ1_0, which libmodeltree cannot dequantize"),
                                ("t.I8", "tensor 't.I8' is I8, an integer type, not weights")] {
            let t = try #require(gguf.tensors.first { $0.name == name })
            expectError(.format, message) { try t.requireDequantizable() }
        }
        let iq = try #require(gguf.tensors.first { $0.name == "t.IQ2_XXS" })
        #expect(iq.shape == [2, 512] && iq.byteCount == 2 * 2 * 66)
        #expect(gguf.tensors.first { $0.name == "t.I32" }?.shape == [3])
    }

    /// Metadata of every value type, nested arrays, the alignment and the tensor infos are what
    /// gguf-py's reader reads, in versions 3 and 2.
    @Test func metadataMatchesGGUFPy() throws {
        let oracle = try #require(try Fixtures.json("formats/gguf/metadata.expected.json") as? [String: Any])
        for file in ["metadata.gguf", "metadata.v2.gguf"] {
            let gguf = try GGUFFile.open(path: Fixtures.path("formats/gguf/" + file)).gguf
            #expect(gguf.version == (file == "metadata.gguf" ? 3 : 2))
            #expect(gguf.alignment == oracle["alignment"] as? Int)
            #expect(gguf.dataOffset == oracle["data_offset"] as? Int)
            let fields = try #require(oracle["fields"] as? [[String: Any]])
            #expect(gguf.metadata.map(\.key) == fields.map { $0["key"] as! String })
            for (field, (key, value)) in zip(fields, gguf.metadata) {
                let types = field["types"] as! [String]
                #expect(typeNames(value) == types, "\(key)")
                if let bits = field["bits"] {
                    // Floats as the bits of the Double gguf-py holds.
                    func doubleBits(_ v: GGUFValue) -> [UInt64] {
                        switch v {
                        case .float32(let f): return [Double(f).bitPattern]
                        case .float64(let d): return [d.bitPattern]
                        case .array(let a): return (a.elements ?? []).flatMap(doubleBits)
                        default: return []
                        }
                    }
                    let expected = (bits as? [NSNumber] ?? [bits as! NSNumber]).map(\.uint64Value)
                    #expect(doubleBits(value) == expected, "\(key)")
                } else if let written = field["written"] {
                    #expect(plain(value) as? NSArray == written as? NSArray, "\(key)")
                } else {
                    #expect(isEqual(plain(value), field["value"]!), "\(key): \(value) vs \(field["value"]!)")
                }
            }
            let tensors = try #require(oracle["tensors"] as? [[String: Any]])
            #expect(gguf.tensors.map(\.name) == tensors.map { $0["name"] as! String })
            for (t, o) in zip(gguf.tensors, tensors) {
                #expect(t.type.name == o["type"] as? String && t.dimensions == o["ne"] as? [Int])
                #expect(t.offset == o["offset"] as? Int && t.byteCount == o["bytes"] as? Int)
            }
            #expect(gguf.value("general.name")?.string == "Tiny Llama ✓")
            #expect(gguf.value("missing") == nil)
        }
    }

    /// The names gguf-py gives the value types, outer to inner (its `ReaderField.types`).
    private func typeNames(_ value: GGUFValue) -> [String] {
        switch value {
        case .uint8: return ["UINT8"]
        case .int8: return ["INT8"]
        case .uint16: return ["UINT16"]
        case .int16: return ["INT16"]
        case .uint32: return ["UINT32"]
        case .int32: return ["INT32"]
        case .uint64: return ["UINT64"]
        case .int64: return ["INT64"]
        case .float32: return ["FLOAT32"]
        case .float64: return ["FLOAT64"]
        case .bool: return ["BOOL"]
        case .string: return ["STRING"]
        case .array(let a):
            let inner = a.elements?.first.map(typeNames) ?? ["?"]
            return ["ARRAY"] + inner
        }
    }

    /// A value as Foundation's JSON objects would hold it.
    private func plain(_ value: GGUFValue) -> Any {
        switch value {
        case .uint8(let v): return NSNumber(value: v)
        case .int8(let v): return NSNumber(value: v)
        case .uint16(let v): return NSNumber(value: v)
        case .int16(let v): return NSNumber(value: v)
        case .uint32(let v): return NSNumber(value: v)
        case .int32(let v): return NSNumber(value: v)
        case .uint64(let v): return NSNumber(value: v)
        case .int64(let v): return NSNumber(value: v)
        case .float32(let v): return NSNumber(value: Double(v))
        case .float64(let v): return NSNumber(value: v)
        case .bool(let v): return NSNumber(value: v)
        case .string(let s): return s
        case .array(let a): return (a.elements ?? []).map(plain) as NSArray
        }
    }

    private func isEqual(_ a: Any, _ b: Any) -> Bool {
        if let x = a as? NSNumber, let y = b as? NSNumber { return x == y }
        if let x = a as? String, let y = b as? String { return x == y }
        if let x = a as? [Any], let y = b as? [Any] { return x.count == y.count && zip(x, y).allSatisfy(isEqual) }
        return false
    }

    // MARK: - Metadata the spec allows that gguf-py does not write

    @Test func emptyAndDeepArraysAndLargeArraysLeftInTheFile() throws {
        var b = GGUFBuilder()
        b.add("empty", GGUFBuilder.array(4, count: 0, []))
        // Arrays nested 8 deep (the limit), the innermost holding one u8.
        var nested = LE.u32(0) + LE.u64(1) + [7]
        for _ in 0..<7 { nested = LE.u32(9) + LE.u64(1) + nested }
        b.add("deep", LE.u32(9) + nested)
        // 20,000 u32 (80,000 bytes > 64 KiB): kept in the file, read on demand.
        let big = (0..<20_000).map { UInt32($0 * 7) }
        b.add("big", GGUFBuilder.array(4, count: 20_000, big.flatMap(LE.u32)))
        // 20,000 strings: walked, left in the file.
        let words = (0..<20_000).map { "w\($0)" }
        b.add("vocab", GGUFBuilder.array(8, count: 20_000, words.flatMap(GGUFBuilder.string)))
        let image = b.bytes
        let gguf = try parse(image)
        guard case .array(let empty)? = gguf.value("empty"), case .array(let big1)? = gguf.value("big"),
              case .array(let vocab)? = gguf.value("vocab"), case .array(var deep)? = gguf.value("deep") else {
            Issue.record("arrays not parsed"); return
        }
        #expect(empty.count == 0 && empty.elements == [] && empty.elementType == .uint32)
        for _ in 0..<7 {
            guard case .array(let inner)? = deep.elements?.first else { Issue.record("nesting lost"); return }
            deep = inner
        }
        #expect(deep.elements == [.uint8(7)])
        #expect(big1.elements == nil && big1.count == 20_000 && big1.range.count == 80_000)
        #expect(vocab.elements == nil && vocab.count == 20_000)
        try image.withUnsafeBytes { (raw) throws in
            #expect(try big1.elements(from: MemoryBytes(image: raw)) == big.map { .uint32($0) })
            #expect(try vocab.elements(from: MemoryBytes(image: raw)) == words.map { .string($0) })
        }
        // One level more is refused.
        var tooDeep = GGUFBuilder()
        tooDeep.add("deep", LE.u32(9) + LE.u32(9) + LE.u64(1) + nested)
        expectError(.format, "'deep' nests arrays deeper than 8") { _ = try parse(tooDeep.bytes) }
    }

    /// The budget for kept arrays is per file and counts memory: each value as 48 bytes plus its
    /// encoding. Arrays of 1,000 u8 cost 49,000, so 85 fit in 4 MiB; one of 6,000 is over 256 KiB.
    @Test func keptArraysAreBudgeted() throws {
        var b = GGUFBuilder()
        for i in 0..<100 { b.add("a\(i)", GGUFBuilder.array(0, count: 1_000, [UInt8](repeating: UInt8(i), count: 1_000))) }
        b.add("big", GGUFBuilder.array(0, count: 6_000, [UInt8](repeating: 1, count: 6_000)))
        let gguf = try parse(b.bytes)
        let kept = gguf.metadata.filter { if case .array(let a) = $0.value { return a.elements != nil }; return false }
        #expect(kept.count == (4 << 20) / 49_000)            // 85
        #expect(kept.map(\.key) == (0..<85).map { "a\($0)" })
        var one = GGUFBuilder()
        one.add("big", GGUFBuilder.array(0, count: 6_000, [UInt8](repeating: 1, count: 6_000)))
        one.add("fits", GGUFBuilder.array(0, count: 5_000, [UInt8](repeating: 1, count: 5_000)))
        let single = try parse(one.bytes)
        guard case .array(let big)? = single.value("big"), case .array(let fits)? = single.value("fits") else { Issue.record("arrays"); return }
        #expect(big.elements == nil && fits.elements?.count == 5_000)
    }

    /// Invalid UTF-8 in a vocabulary leaves the array in the file (and reading it on demand
    /// fails), while a key or a scalar string that is not UTF-8 refuses the file.
    @Test func invalidUTF8() throws {
        var b = GGUFBuilder()
        b.add("tokens", GGUFBuilder.array(8, count: 2, GGUFBuilder.string("ok") + GGUFBuilder.string(bytes: [0xFF, 0x41])))
        let image = b.bytes
        guard case .array(let tokens)? = try parse(image).value("tokens") else { Issue.record("no array"); return }
        #expect(tokens.elements == nil && tokens.count == 2)
        image.withUnsafeBytes { raw in
            expectError(.format, "a string in 'array' is not valid UTF-8") { _ = try tokens.elements(from: MemoryBytes(image: raw)) }
        }
        var key = GGUFBuilder()
        key.metadata.append(([0x61, 0xC0, 0x80], GGUFBuilder.u32(1)))
        expectError(.format, "the key of metadata entry 0 is not valid UTF-8") { _ = try parse(key.bytes) }
        var value = GGUFBuilder()
        value.add("general.name", LE.u32(8) + GGUFBuilder.string(bytes: [0xED, 0xA0, 0x80]))   // a surrogate
        expectError(.format, "a string in 'general.name' is not valid UTF-8") { _ = try parse(value.bytes) }
    }

    // MARK: - Hostile headers

    /// Every proper prefix of a valid file is refused with a format error, never a crash.
    @Test func everyTruncationIsAFormatError() throws {
        let image = try Fixtures.bytes("formats/gguf/metadata.gguf")
        let gguf = try parse(image)
        let end = gguf.tensors.map { $0.offset + $0.byteCount }.max()!
        expectEveryPrefixRefused(image, upTo: end) { _ = try parse($0) }
        #expect(try parse(Array(image[..<end])).tensors.count == 2)     // trailing padding is optional
    }

    @Test func magicAndVersion() throws {
        var b = GGUFBuilder()
        b.magic = Array("GGUG".utf8)
        expectError(.format, "not a GGUF file (its first bytes are 47 47 55 47, not 'GGUF')") { _ = try parse(b.bytes) }
        b.magic = Array("GGUF".utf8)
        for (version, message) in [(UInt32(1), "GGUF version 1 is not supported"), (0x0300_0000, "a big-endian GGUF file (version field 50331648)"),
                                   (4, "unsupported GGUF version 4")] {
            b.version = version
            expectError(.format, message) { _ = try parse(b.bytes) }
        }
        expectError(.format, "the 4-byte magic (4 bytes at byte 0) runs past the end of the file at byte 3") { _ = try parse([0x47, 0x47, 0x55]) }
    }

    @Test func countsAndLengthsBeyondTheFile() throws {
        var b = GGUFBuilder()
        b.keyCount = UInt64.max
        expectError(.format, "the header claims 18446744073709551615 metadata entries, more than the limit of 1000000") { _ = try parse(b.bytes) }
        b.keyCount = 1_000_000
        expectError(.format, "the header claims 1000000 metadata entries, more than the 8 bytes left") { _ = try parse(b.bytes) }
        b = GGUFBuilder()
        b.add("k", GGUFBuilder.u32(1))
        b.tensorCount = 1_000_001
        expectError(.format, "the header claims 1000001 tensor infos, more than the limit of 1000000") { _ = try parse(b.bytes) }
        b.tensorCount = 1_000_000
        expectError(.format, "the header claims 1000000 tensor infos, more than the") { _ = try parse(b.bytes) }
        b = GGUFBuilder()
        b.add("s", LE.u32(8) + LE.u64(UInt64.max))
        expectError(.format, "a string in 's' (18446744073709551615 bytes at byte 45) runs past the end of the file at byte 64") { _ = try parse(b.bytes) }
        b = GGUFBuilder()
        b.add("a", LE.u32(9) + LE.u32(10) + LE.u64(1 << 62))
        expectError(.format, "'a' claims 4611686018427387904 elements of uint64, more than the") { _ = try parse(b.bytes) }
        b = GGUFBuilder()
        b.metadata.append(([UInt8](repeating: 0x61, count: 65_536), GGUFBuilder.u32(1)))
        expectError(.format, "the key of metadata entry 0 is 65536 bytes long, over the limit of 65535") { _ = try parse(b.bytes) }
    }

    @Test func valuesAndKeys() throws {
        var b = GGUFBuilder()
        b.add("x", LE.u32(13) + [0])
        expectError(.format, "metadata 'x' has unknown value type 13") { _ = try parse(b.bytes) }
        b = GGUFBuilder()
        b.add("x", LE.u32(9) + LE.u32(77) + LE.u64(0))
        expectError(.format, "'x' is an array of unknown value type 77") { _ = try parse(b.bytes) }
        b = GGUFBuilder()
        b.add("flag", LE.u32(7) + [2])
        expectError(.format, "'flag' holds a bool of value 2, not 0 or 1") { _ = try parse(b.bytes) }
        b = GGUFBuilder()
        b.add("k", GGUFBuilder.u32(1)); b.add("k", GGUFBuilder.u32(2))
        expectError(.format, "duplicate metadata key 'k'") { _ = try parse(b.bytes) }
        for (value, message) in [(GGUFBuilder.str("64"), "'general.alignment' is a string, not a uint32"),
                                 (LE.u32(10) + LE.u64(64), "'general.alignment' is a uint64, not a uint32"),
                                 (GGUFBuilder.u32(0), "'general.alignment' is 0, not a power of two"),
                                 (GGUFBuilder.u32(48), "'general.alignment' is 48, not a power of two")] {
            b = GGUFBuilder()
            b.add("general.alignment", value)
            expectError(.format, message) { _ = try parse(b.bytes) }
        }
    }

    @Test func tensorInfos() throws {
        func one(ne: [UInt64], type: UInt32 = 0, offset: UInt64 = 0, data: Int = 64, name: String = "w") -> [UInt8] {
            var b = GGUFBuilder()
            b.tensors = [(Array(name.utf8), ne, type, offset)]
            b.data = [UInt8](repeating: 0, count: data)
            return b.bytes
        }
        expectError(.format, "tensor 'w': 5 dimensions, more than the 4 ggml allows") { _ = try parse(one(ne: [1, 1, 1, 1, 1])) }
        expectError(.format, "tensor 'w': dimension 9223372036854775808 is not below 2^63") { _ = try parse(one(ne: [1 << 63])) }
        expectError(.format, "tensor 'w': unknown ggml type 4") { _ = try parse(one(ne: [32], type: 4)) }
        expectError(.format, "tensor 'w': a row of 33 elements is not a whole number of Q8_0 blocks of 32") {
            _ = try parse(one(ne: [33], type: 8))
        }
        expectError(.format, "tensor 'w': dimensions [4294967296, 4294967296] overflow the element or byte count") {
            _ = try parse(one(ne: [1 << 32, 1 << 32]))
        }
        expectError(.format, "tensor 'w': dimensions [1073741824, 1073741824, 4] overflow") { _ = try parse(one(ne: [1 << 30, 1 << 30, 4])) }
        expectError(.format, "tensor 'w': offset 16 is not a multiple of the alignment 32") { _ = try parse(one(ne: [4], offset: 16)) }
        expectError(.format, "tensor 'w' (68 bytes at 0 of the data section) runs past the end of the file (the data section holds 64 bytes from byte 64)") {
            _ = try parse(one(ne: [17]))
        }
        expectError(.format, "tensor 'w': offset 18446744073709551584 is not below 2^63") { _ = try parse(one(ne: [1], offset: UInt64.max - 31)) }
        expectError(.format, "runs past the end of the file") { _ = try parse(one(ne: [1], offset: 1 << 62)) }
        // Zero-sized tensors are fine anywhere inside the data section, but the data section must
        // be in the file (fuzz finding 1: a header cut before its padding, with only an empty
        // tensor, gave a location past the end of the file).
        #expect(try parse(one(ne: [0, 5], offset: 32)).tensors[0].shape == [5, 0])
        var header = GGUFBuilder()
        header.tensors = [(Array("z".utf8), [0, 3], 0, 0)]
        expectError(.format, "the data section starts at byte 96, past the end of the file (65 bytes)") { _ = try parse(header.header) }
        let regression = try Fixtures.bytes("../fuzz/regressions/gguf/empty-tensor-past-the-end")
        expectError(.format, "the data section starts at byte 96, past the end of the file (66 bytes)") { _ = try parse(regression) }

        var b = GGUFBuilder()
        b.tensors = [(Array("a".utf8), [16], 0, 0), (Array("b".utf8), [8], 0, 32)]
        b.data = [UInt8](repeating: 0, count: 96)
        expectError(.format, "tensor 'b' (bytes 32..<64 of the data section) overlaps tensor 'a', which ends at 64") { _ = try parse(b.bytes) }
        b.tensors[1].name = Array("a".utf8)
        expectError(.format, "duplicate tensor name 'a'") { _ = try parse(b.bytes) }
        b.tensors = [(Array("b".utf8), [8], 0, 64), (Array("a".utf8), [16], 0, 0)]    // any order, no overlap
        #expect(try parse(b.bytes).tensors.map(\.name) == ["b", "a"])
    }

    /// A header larger than 100 MB is refused at the limit, without reading it (a sparse file).
    @Test func headerCap() throws {
        let dir = try TemporaryDirectory()
        var b = GGUFBuilder()
        b.add("chat_template", LE.u32(8) + LE.u64(150_000_000))
        let path = try dir.write("big.gguf", b.header)
        #expect(truncate(path, 200_000_000) == 0)
        expectError(.format, "big.gguf: a string in 'chat_template' (150000000 bytes at byte 57) runs past the end of the 100000000-byte header limit at byte 100000000") {
            _ = try GGUFFile.open(path: path)
        }
        // The same string ending inside the file but within the limit is read.
        var ok = GGUFBuilder()
        ok.add("chat_template", GGUFBuilder.str(String(repeating: "x", count: 3_000_000)))
        let okPath = try dir.write("ok.gguf", ok.bytes)
        #expect(try GGUFFile.open(path: okPath).gguf.value("chat_template")?.string?.count == 3_000_000)
    }
}
