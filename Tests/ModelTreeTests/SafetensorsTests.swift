import Foundation
import Testing
@testable import ModelTree

@Suite struct SafetensorsTests {
    typealias T = SafetensorsWriter.Tensor

    /// Writes `bytes` as a file and opens it.
    private func open(_ bytes: [UInt8], in dir: TemporaryDirectory, name: String = "m.safetensors") throws -> SafetensorsFile {
        try SafetensorsFile(path: dir.write(name, bytes))
    }

    private func decode(_ t: TensorView) throws -> [Float] { try t.decode() }

    /// Equal as values, or both NaN.
    private func same(_ a: Float, _ b: Float) -> Bool { a == b || (a.isNaN && b.isNaN) }

    // MARK: - Reading back every floating dtype

    @Test func f32AndF64() throws {
        let dir = try TemporaryDirectory()
        let f32: [Float] = [0, -0.0, 1, -2.5, .pi, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, -.infinity, .nan]
        let f64: [Double] = [0, 1, -2.5, .pi, 1e-300, 1e300, -.infinity, .nan, 0.1, 3.4028235677973366e38]
        let file = try open(SafetensorsWriter.file([
            T(name: "a", dtype: "F32", shape: [2, 5], bytes: SafetensorsWriter.bytes(f32.map(\.bitPattern))),
            T(name: "b", dtype: "F64", shape: [10], bytes: SafetensorsWriter.bytes(f64.map(\.bitPattern))),
        ]), in: dir)
        #expect(file.tensors.map(\.name) == ["a", "b"])
        #expect(try file.tensors[0].shape == [2, 5] && file.tensors[0].dtype == .f32 && file.tensors[0].readBytes().count == 40)
        let a = try decode(file.tensors[0]), b = try decode(file.tensors[1])
        for i in f32.indices { #expect(same(a[i], f32[i]) && a[i].sign == f32[i].sign, "F32 \(f32[i])") }
        // F64 narrows to the nearest Float, as Swift's own conversion does.
        for i in f64.indices { #expect(same(b[i], Float(f64[i])), "F64 \(f64[i])") }
    }

    @Test func f16AllPatterns() throws {
        let dir = try TemporaryDirectory()
        let patterns = (0...UInt16.max).map { $0 }
        let file = try open(SafetensorsWriter.file([T(name: "h", dtype: "F16", shape: [256, 256], bytes: SafetensorsWriter.bytes(patterns))]), in: dir)
        let decoded = try decode(file.tensors[0])
        var mismatches = 0
        for p in patterns {
            let expected = Float(Float16(bitPattern: p))     // Swift's own conversion
            let got = decoded[Int(p)]
            if !(same(got, expected) && got.sign == expected.sign) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func bf16AllPatterns() throws {
        let dir = try TemporaryDirectory()
        let patterns = (0...UInt16.max).map { $0 }
        let file = try open(SafetensorsWriter.file([T(name: "h", dtype: "BF16", shape: [65536], bytes: SafetensorsWriter.bytes(patterns))]), in: dir)
        let decoded = try decode(file.tensors[0])
        // bfloat16 is binary32's top half: 1 sign, 8 exponent (bias 127), 7 mantissa bits.
        // Compute each value from that definition in Double arithmetic.
        var mismatches = 0
        for p in patterns {
            let sign: Double = p & 0x8000 != 0 ? -1 : 1
            let e = Int((p >> 7) & 0xFF), m = Double(p & 0x7F)
            let expected: Double
            switch e {
            case 0: expected = sign * m / 128 * 0x1p-126
            case 255: expected = m == 0 ? sign * .infinity : .nan
            default: expected = sign * (1 + m / 128) * Double(sign: .plus, exponent: e - 127, significand: 1)
            }
            let got = decoded[Int(p)]
            if !((expected.isNaN && got.isNaN) || (Double(got) == expected && (got.sign == .minus) == (sign < 0))) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func unalignedOffsetsDecode() throws {
        let dir = try TemporaryDirectory()
        let values: [Float] = [1.5, -3.25, 1e-3, 7]
        let halves: [Float16] = [0.5, -1, 65504]
        let doubles: [Double] = [2.0, -1e-10]
        // 3 bytes of U8 first, and a header length that is not a multiple of 8, so that every
        // float tensor starts at an odd absolute address.
        let bytes = SafetensorsWriter.file([
            T(name: "pad", dtype: "U8", shape: [3], bytes: [9, 9, 9]),
            T(name: "f32", dtype: "F32", shape: [4], bytes: SafetensorsWriter.bytes(values.map(\.bitPattern))),
            T(name: "f16", dtype: "F16", shape: [3], bytes: SafetensorsWriter.bytes(halves.map(\.bitPattern))),
            T(name: "f64", dtype: "F64", shape: [2], bytes: SafetensorsWriter.bytes(doubles.map(\.bitPattern))),
        ], padding: 1)
        let file = try open(bytes, in: dir)
        // Read from the file, and parsed in memory, where the views stay at odd addresses.
        try bytes.withUnsafeBytes { image in
            let inMemory = try SafetensorsFile.parse(image).tensors
            #expect(Int(bitPattern: inMemory.first { $0.name == "f32" }!.memory!.baseAddress!) % 2 == 1)
            for tensors in [file.tensors, inMemory] {
                let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
                #expect(try decode(byName["f32"]!) == values)
                #expect(try decode(byName["f16"]!) == halves.map { Float($0) })
                #expect(try decode(byName["f64"]!) == doubles.map { Float($0) })
                #expect(try byName["pad"]!.readBytes() == [9, 9, 9])
            }
        }
    }

    // MARK: - Well-formed variations

    @Test func layoutMetadataAndOrdering() throws {
        let dir = try TemporaryDirectory()
        // Header order, data order and name order all differ; scalar and empty tensors included.
        let header = """
        {"z": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]},
         "__metadata__": {"format": "pt", "note": "é"},
         "a": {"dtype": "BOOL", "shape": [], "data_offsets": [16, 17]},
         "m": {"dtype": "F32", "shape": [0, 4], "data_offsets": [17, 17]},
         "b": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [17, 18]}}
        """ + String(repeating: " ", count: 5)
        let data = SafetensorsWriter.bytes([Int64(-1), 42]) + [1, 0x38]
        let file = try open(SafetensorsWriter.raw(header: header, data: data), in: dir)
        #expect(file.tensors.map(\.name) == ["a", "b", "m", "z"])
        #expect(file.metadata == ["format": "pt", "note": "é"])
        #expect(file.tensors.map(\.dtype) == [.bool, .f8e4m3, .f32, .i64])
        #expect(file.tensors.map(\.shape) == [[], [1], [0, 4], [2]])
        #expect(file.tensors.map(\.count) == [1, 1, 0, 2])
        #expect(try file.tensors.map { try $0.readBytes() } == [[1], [0x38], [], SafetensorsWriter.bytes([Int64(-1), 42])])
        #expect(file.path.hasSuffix("m.safetensors"))
    }

    @Test func emptyModelAndPaddedHeader() throws {
        let dir = try TemporaryDirectory()
        #expect(try open(SafetensorsWriter.raw(header: "{}"), in: dir).tensors.isEmpty)
        let padded = try open(SafetensorsWriter.file([T(name: "x", dtype: "F32", shape: [1], bytes: [0, 0, 128, 63])], padding: 13), in: dir)
        #expect(try decode(padded.tensors[0]) == [1])
        #expect(padded.metadata.isEmpty)
    }

    // MARK: - Hostile files

    /// Expects the file with this header and data to be rejected, with the path and `fragments` in the message.
    private func rejects(_ header: String, data: [UInt8] = [], declaredLength: UInt64? = nil, _ fragments: String...,
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("bad.safetensors", SafetensorsWriter.raw(header: header, data: data, declaredLength: declaredLength))
        expectError(.format, path + ": ", sourceLocation: sourceLocation) { _ = try SafetensorsFile(path: path) }
        for fragment in fragments {
            expectError(.format, fragment, sourceLocation: sourceLocation) { _ = try SafetensorsFile(path: path) }
        }
    }

    private func entry(_ name: String = "t", dtype: String = "\"F32\"", shape: String = "[2]", offsets: String = "[0, 8]", extra: String = "") -> String {
        "{\"\(name)\": {\"dtype\": \(dtype), \"shape\": \(shape), \"data_offsets\": \(offsets)\(extra)}}"
    }

    @Test func truncatedFiles() throws {
        let dir = try TemporaryDirectory()
        for n in 0..<8 {
            let path = try dir.write("short\(n).safetensors", [UInt8](repeating: 0, count: n))
            expectError(.format, path, "\(n) bytes", "shorter than the 8-byte header length") { _ = try SafetensorsFile(path: path) }
        }
    }

    @Test func headerLength() throws {
        try rejects("{}", declaredLength: 3, "header length 3 runs past the end of the file (10 bytes)")
        try rejects("{}", declaredLength: UInt64.max, "exceeds the limit of 100000000 bytes")
        try rejects("{}", declaredLength: 100_000_001, "header length 100000001 exceeds the limit")
        try rejects("", "does not start with '{'")
        try rejects(" {}", "does not start with '{'")
        try rejects("[]", "does not start with '{'")
    }

    /// Other formats given as a .safetensors file: the message says it is not one, and what it
    /// looks like, instead of only quoting an absurd header length.
    @Test func otherFormatsAreNamed() throws {
        let dir = try TemporaryDirectory()
        let cases: [([UInt8], String)] = [
            ([0x50, 0x4B, 0x03, 0x04, 0x00, 0x00, 0x08, 0x08] + [UInt8](repeating: 0, count: 60), "ZIP archive"),  // torch.save
            (Array("GGUF".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0, count: 40), "GGUF file"),
            ([0x80, 0x02, 0x63, 0x5F, 0x5F, 0x62, 0x75, 0x69] + [UInt8](repeating: 0x2E, count: 40), "Python pickle"),
            (Array("hello world, this is text".utf8), "it starts with text: \"hello wo\""),
        ]
        for (k, (bytes, kind)) in cases.enumerated() {
            let path = try dir.write("x\(k).safetensors", bytes)
            expectError(.format, path + ": not a safetensors file", kind, "exceeds the limit") { _ = try SafetensorsFile(path: path) }
        }
        // Another ZIP whose first bytes make a length below the cap: still named.
        let zip = try dir.write("small.safetensors", [0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 60))
        expectError(.format, "not a safetensors file (it is a ZIP archive", "runs past the end") { _ = try SafetensorsFile(path: zip) }
        // A plausible length but no JSON object: not a safetensors file either.
        try rejects("[]", "not a safetensors file", "does not start with '{'")
    }

    @Test func headerEncodingAndSyntax() throws {
        let dir = try TemporaryDirectory()
        let bad = SafetensorsWriter.raw(header: [UInt8]("{\"a\u{1}".utf8).dropLast() + [0xFF, 0x22, 0x3A, 0x31, 0x7D], data: [])
        let path = try dir.write("utf8.safetensors", bad)
        expectError(.format, path, "invalid header JSON", "invalid UTF-8", "byte 3 of the header") { _ = try SafetensorsFile(path: path) }
        try rejects("{\"a\": 1", "invalid header JSON", "unexpected end")
        try rejects("{\"a\": 1} x", "invalid header JSON", "trailing characters")
        try rejects("{\"a\" 1}", "invalid header JSON")
        try rejects("{\"a\": " + String(repeating: "[", count: 100_000), "invalid header JSON", "nesting deeper")
        // A tensor name twice: caught by the JSON parser's duplicate-key check.
        try rejects(#"{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "w": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}"#,
                    data: [1, 2], "duplicate key 'w'")
    }

    @Test func entryStructure() throws {
        let eight = [UInt8](repeating: 0, count: 8)
        try rejects(#"{"t": [1]}"#, "tensor 't': entry is not an object")
        try rejects(entry(dtype: "\"F33\""), data: eight, "tensor 't': unknown dtype 'F33'")
        try rejects(entry(dtype: "\"f32\""), data: eight, "unknown dtype 'f32'")
        try rejects(entry(dtype: "4"), data: eight, "'dtype' is not a string")
        try rejects(#"{"t": {"shape": [2], "data_offsets": [0, 8]}}"#, data: eight, "tensor 't': missing 'dtype'")
        try rejects(#"{"t": {"dtype": "F32", "data_offsets": [0, 8]}}"#, data: eight, "missing 'shape'")
        try rejects(#"{"t": {"dtype": "F32", "shape": [2]}}"#, data: eight, "missing 'data_offsets'")
        try rejects(entry(extra: #", "offsets": [0, 8]"#), data: eight, "tensor 't': unknown key 'offsets'")
    }

    @Test func shapes() throws {
        let eight = [UInt8](repeating: 0, count: 8)
        for shape in ["2", "[-2]", "[2.5]", "[\"2\"]", "[[2]]", "[null]", "[1e300]", "{}"] {
            try rejects(entry(shape: shape), data: eight, "tensor 't': 'shape' is not an array of non-negative integers")
        }
        // 2^31 * 2^31 elements overflow no Int64 but their bytes do; 2^40 * 2^40 overflows the count.
        try rejects(entry(shape: "[2147483648, 2147483648, 2]", offsets: "[0, 0]"), "overflows the byte count")
        try rejects(entry(shape: "[1099511627776, 1099511627776]", offsets: "[0, 0]"), "overflows the byte count")
        // A zero dimension makes the others irrelevant only if they do not overflow first: both fine here.
        try rejects(entry(shape: "[0, 4]", offsets: "[0, 8]"), data: eight, "span 8 bytes, but shape [0, 4] of F32 needs 0")
    }

    @Test func dataOffsets() throws {
        let eight = [UInt8](repeating: 0, count: 8)
        for offsets in ["[0]", "[0, 8, 8]", "[-1, 7]", "[0.5, 8]", "\"0,8\"", "[0, null]", "[0, 1e20]"] {
            try rejects(entry(offsets: offsets), data: eight, "tensor 't': 'data_offsets' is not two non-negative integers")
        }
        try rejects(entry(offsets: "[8, 0]"), data: eight, "tensor 't': data_offsets [8, 0] begin after they end")
        try rejects(entry(offsets: "[0, 4]"), data: eight, "data_offsets [0, 4] span 4 bytes, but shape [2] of F32 needs 8")
        try rejects(entry(dtype: "\"F64\"", offsets: "[0, 8]"), data: eight, "span 8 bytes, but shape [2] of F64 needs 16")
    }

    @Test func tiling() throws {
        func two(_ a: String, _ b: String) -> String {
            #"{"a": {"dtype": "U8", "shape": [4], "data_offsets": \#(a)}, "b": {"dtype": "U8", "shape": [4], "data_offsets": \#(b)}}"#
        }
        let eight = [UInt8](repeating: 0, count: 8)
        // The well-formed layout, either order in the header.
        let dir = try TemporaryDirectory()
        #expect(try open(SafetensorsWriter.raw(header: two("[4, 8]", "[0, 4]"), data: eight), in: dir).tensors.count == 2)
        try rejects(two("[1, 5]", "[5, 9]"), data: [UInt8](repeating: 0, count: 9), "gap of 1 bytes at the start of the data section", "'a' begins at 1")
        try rejects(two("[0, 4]", "[6, 10]"), data: [UInt8](repeating: 0, count: 10), "gap of 2 bytes after tensor 'a'", "'b' begins at 6, expected 4")
        try rejects(two("[0, 4]", "[2, 6]"), data: eight, "tensor 'b' (bytes 2..<6) overlaps tensor 'a', which ends at 4")
        try rejects(two("[0, 4]", "[0, 4]"), data: eight, "overlaps tensor")
        try rejects(two("[0, 4]", "[4, 8]"), data: [UInt8](repeating: 0, count: 7), "tensor 'b' ends at 8, past the end of the 7-byte data section")
        try rejects(two("[0, 4]", "[4, 8]"), data: [UInt8](repeating: 0, count: 11), "3 trailing bytes after the last tensor")
        try rejects("{}", data: [0], "1 trailing bytes after the last tensor")
        try rejects(two("[0, 4]", "[4, 8]"), data: [], "past the end of the 0-byte data section")
    }

    @Test func metadataMustBeAStringMap() throws {
        try rejects(#"{"__metadata__": ["a"]}"#, "'__metadata__' is not an object")
        try rejects(#"{"__metadata__": {"a": "b", "n": 1}}"#, "'__metadata__' value for 'n' is not a string")
        try rejects(#"{"__metadata__": {"a": {"b": "c"}}}"#, "'__metadata__' value for 'a' is not a string")
    }

    @Test func fileSystemErrors() throws {
        let dir = try TemporaryDirectory()
        expectError(.io, dir.path + "/missing.safetensors", "No such file") { _ = try SafetensorsFile(path: dir.path + "/missing.safetensors") }
        expectError(.io, "is a directory") { _ = try SafetensorsFile(path: dir.path) }
    }

    @Test func tensorsOutliveTheFileObject() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("m.safetensors", SafetensorsWriter.file([T(name: "x", dtype: "F32", shape: [1], bytes: [0, 0, 64, 64])]))
        let tensors = try SafetensorsFile(path: path).tensors       // the SafetensorsFile is gone
        #expect(tensors[0].memory == nil)
        #expect(try decode(tensors[0]) == [3])
    }
}

extension SafetensorsTests {
    @Test func manyTensors() throws {
        // Real checkpoints have thousands of tensors; names sort lexicographically, not numerically.
        let dir = try TemporaryDirectory()
        let n = 20_000
        let tensors = (0..<n).reversed().map { i in
            T(name: "layers.\(i).weight", dtype: "BF16", shape: [1], bytes: SafetensorsWriter.bytes([UInt16(i)]))
        }
        let start = ContinuousClock.now
        let file = try open(SafetensorsWriter.file(tensors), in: dir)
        let elapsed = ContinuousClock.now - start
        #expect(file.tensors.count == n)
        #expect(file.tensors.map(\.name) == tensors.map(\.name).sorted())
        #expect(try file.tensors.allSatisfy { try Int($0.name.split(separator: ".")[1])! == Int($0.readBytes()[0]) + 256 * Int($0.readBytes()[1]) })
        #expect(elapsed < .seconds(5), "\(elapsed)")
    }
}
