import Foundation
import Testing
@testable import ModelTree

/// The ONNX reader against models the onnx package, torch.onnx.export and onnxruntime's quantizer
/// wrote, with numpy's reading of the same arrays as the oracle (`Tests/fixtures/formats/make_onnx.py`),
/// and hostile models encoded field by field (`PB`).
@Suite struct FormatsONNXTests {
    private func parse(_ bytes: [UInt8]) throws -> ONNXModel {
        try bytes.withUnsafeBytes { try ONNXModel.parse(MemoryBytes(image: $0)) }
    }

    /// The initializer's values as Doubles, decoded from the definition of each element type.
    private func values(_ t: ONNXTensor, file: [UInt8], folder: String) throws -> [Double] {
        let bytes: [UInt8]
        switch t.data {
        case .raw(let offset, let count): bytes = Array(file[offset..<offset + count])
        case .values(let v): bytes = v
        case .external(let location, let offset, let length):
            bytes = Array(try Fixtures.bytes(folder + "/" + location)[offset..<offset + length])
        case .none: return []
        }
        return referenceValues(bytes, t.dtype!)
    }

    /// Every initializer of every fixture — raw, typed, external, scalar, unsupported — as onnx
    /// reads it, and every dequantization as numpy computes it.
    @Test func everyFixtureMatchesONNXAndNumpy() throws {
        let expected = try #require(try Fixtures.json("formats/onnx/expected.json") as? [String: [String: Any]])
        #expect(expected.count == 5)
        for (file, oracle) in expected {
            let path = Fixtures.path("formats/onnx/" + file)
            let image = try Fixtures.bytes("formats/onnx/" + file)
            let model = try ONNXModel.open(path: path).model
            let initializers = oracle["initializers"] as! [[String: Any]]
            #expect(model.initializers.map(\.name) == initializers.map { $0["name"] as! String }, "\(file)")
            for (t, o) in zip(model.initializers, initializers) {
                #expect(t.dataType == o["data_type"] as! Int && t.shape == o["dims"] as! [Int], "\(file) \(t.name)")
                let whereKind: String
                switch t.data {
                case .raw: whereKind = "raw"
                case .values: whereKind = "typed"
                case .external: whereKind = "external"
                case .none: whereKind = "none"
                }
                #expect(whereKind == o["where"] as! String, "\(file) \(t.name)")
                if let bits = o["value_bits"] as? [NSNumber] {
                    #expect(try values(t, file: image, folder: "formats/onnx").map(\.bitPattern) == bits.map(\.uint64Value), "\(file) \(t.name)")
                } else {
                    #expect(t.dtype == nil, "\(file) \(t.name)")
                }
            }
            let dequantized = oracle["dequantized"] as? [[String: Any]] ?? []
            #expect(model.dequantizations.count == dequantized.count, "\(file)")
            for o in dequantized {
                let d = try #require(model.dequantizations.first { $0.weight == o["weight"] as! String })
                #expect(d.scale == o["scale"] as! String && d.zeroPoint == o["zero_point"] as? String, "\(file) \(d.weight)")
                #expect(d.axis == o["axis"] as? Int && d.output == o["output"] as! String, "\(file) \(d.weight)")
                let x = try #require(model.initializer(d.weight)), scale = try #require(model.initializer(d.scale))
                let ints = try values(x, file: image, folder: "").map { Int32($0) }
                let scales = try values(scale, file: image, folder: "").map { Float($0) }
                let zps = try d.zeroPoint.map { try values(try #require(model.initializer($0)), file: image, folder: "").map { Int32($0) } } ?? []
                // In two element ranges, as the streaming pass would ask for them.
                let half = ints.count / 2
                let got = ONNXDequantization.dequantize(Array(ints[..<half]), range: 0..<half, shape: x.shape, axis: d.axis, scales: scales, zeroPoints: zps)
                    + ONNXDequantization.dequantize(Array(ints[half...]), range: half..<ints.count, shape: x.shape, axis: d.axis, scales: scales, zeroPoints: zps)
                #expect(got.map { Double($0).bitPattern } == (o["value_bits"] as! [NSNumber]).map(\.uint64Value), "\(file) \(d.weight)")
                #expect(d.pattern == (file == "castmul.onnx" ? .castMul : .dequantizeLinear))
            }
        }
    }

    /// torch.onnx.export keeps nn.Linear's parameters as they are (weight [out, in]).
    @Test func exportedLinearEqualsTorch() throws {
        let oracle = try #require(try Fixtures.json("formats/onnx/expected.json") as? [String: [String: Any]])
        let torch = oracle["linear.onnx"]!["torch"] as! [String: [NSNumber]]
        let image = try Fixtures.bytes("formats/onnx/linear.onnx")
        let model = try parse(image)
        #expect(model.producer?.hasPrefix("pytorch") == true && model.irVersion != nil)
        for name in ["weight", "bias"] {
            let t = try #require(model.initializer(name))
            #expect(try values(t, file: image, folder: "").map(\.bitPattern) == torch[name]!.map(\.uint64Value))
        }
    }

    // MARK: - Hostile models

    private func refuses(_ model: [UInt8], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectError(.format, message, sourceLocation: sourceLocation) { _ = try parse(model) }
    }

    /// An external data location may not leave the model's folder; the file must hold the bytes.
    @Test func externalData() throws {
        let f32 = 1
        for location in ["../weights.bin", "/etc/passwd", "a/../../b", "..", "w\\..\\x", "a\u{0}b", ""] {
            refuses(PB.model(initializers: [PB.tensor("w", type: f32, dims: [2], PB.external([("location", location)]))]),
                    "initializer 'w': external data location '\(singleLine(location))' is not a relative path inside the model's folder")
        }
        let dir = try TemporaryDirectory()
        let model = PB.model(initializers: [PB.tensor("w", type: f32, dims: [4], PB.external([("location", "sub/w.bin"), ("offset", "8"), ("length", "16")]))])
        let path = try dir.write("m.onnx", model)
        expectError(.io, "sub/w.bin", "No such file") { _ = try ONNXModel.open(path: path) }
        try dir.write("sub/w.bin", [UInt8](repeating: 0, count: 20))
        expectError(.format, "m.onnx: initializer 'w' needs bytes 8..<24 of sub/w.bin, which has 20") { _ = try ONNXModel.open(path: path) }
        try dir.write("sub/w.bin", [UInt8](repeating: 0, count: 24))
        #expect(try ONNXModel.open(path: path).model.initializers[0].data == .external(location: "sub/w.bin", offset: 8, length: 16))
        refuses(PB.model(initializers: [PB.tensor("w", type: f32, dims: [4], PB.external([("location", "w.bin"), ("length", "12")]))]),
                "initializer 'w': external data of 12 bytes, but [4] of F32 needs 16")
        refuses(PB.model(initializers: [PB.tensor("w", type: f32, dims: [4], PB.external([("location", "w.bin"), ("offset", "-1")]))]),
                "external data offset '-1' is not a non-negative integer")
        refuses(PB.model(initializers: [PB.tensor("w", type: f32, dims: [4], PB.external([("location", "w.bin"), ("offset", "9223372036854775800")]))]),
                "external data offset 9223372036854775800 overflows")
        refuses(PB.model(initializers: [PB.tensor("w", type: f32, dims: [4], PB.external([("offset", "0")]))]), "external data without a location")
    }

    @Test func tensorData() throws {
        func one(_ t: [UInt8]) -> [UInt8] { PB.model(initializers: [t]) }
        refuses(one(PB.tensor("w", type: 1, dims: [2, 3], PB.bytes(9, [UInt8](repeating: 0, count: 20)))),
                "initializer 'w': raw_data of 20 bytes, but [2, 3] of F32 needs 24")
        refuses(one(PB.tensor("w", type: 3, dims: [3], PB.packed(5, [1, 2]))), "initializer 'w': 2 values for 3 elements")
        refuses(one(PB.tensor("w", type: 3, dims: [1], PB.packed(5, [1, 2]))), "initializer 'w': more values than its 1 elements")
        refuses(one(PB.tensor("w", type: 3, dims: [1], PB.packed(5, [200]))), "initializer 'w': value 200 is out of the range of I8")
        refuses(one(PB.tensor("w", type: 10, dims: [1], PB.packed(5, [-1]))), "value -1 is out of the range of F16")
        refuses(one(PB.tensor("w", type: 3, dims: [1], PB.fixed32(4, 0))), "its values are in field 4, not field 5 where I8 belongs")
        refuses(one(PB.tensor("w", type: 1, dims: [1], PB.fixed32(4, 0) + PB.bytes(9, [0, 0, 0, 0]))), "holds its data in more than one of raw_data")
        refuses(one(PB.tensor("w", type: 1, dims: [3], PB.bytes(4, [0, 0, 0, 0, 0]))), "packed the values of 'w' of 5 bytes is not a whole number of 4-byte values")
        refuses(one(PB.tensor("w", type: 1, dims: [1], PB.bytes(3, []))), "initializer 0: segmented tensors are not supported")
        refuses(one(PB.packed(1, [1]) + PB.int(2, 1)), "initializer 0 has no name")
        refuses(one(PB.tensor("w", type: 1, dims: [-1])), "initializer 0: dimension -1 is negative")
        refuses(one(PB.tensor("w", type: 1, dims: [Int64](repeating: 1, count: 65))), "initializer 0: more than 64 dimensions")
        refuses(one(PB.tensor("w", type: 1, dims: [1 << 32, 1 << 32])), "initializer 'w': dimensions [4294967296, 4294967296] overflow the element count")
        refuses(one(PB.tensor("w", type: 11, dims: [1 << 61])), "dimensions [2305843009213693952] overflow the byte count")
        refuses(PB.model(initializers: [PB.tensor("w", type: 1, dims: [], PB.fixed32(4, 0)), PB.tensor("w", type: 1, dims: [], PB.fixed32(4, 0))]),
                "two initializers are named 'w'")
        // Typed values are decoded into memory only up to 64 MiB per model: refused from the dims.
        refuses(one(PB.tensor("w", type: 1, dims: [(64 << 20) / 4 + 1], PB.fixed32(4, 0))), "typed data beyond the limit of 67108864 bytes per model")
        // Unpacked repeated values (one field each) are read like packed ones; an empty tensor has none.
        let unpacked = try parse(one(PB.tensor("w", type: 1, dims: [2], PB.fixed32(4, Float(1.5).bitPattern) + PB.fixed32(4, Float(-2).bitPattern))))
        #expect(unpacked.initializers[0].data == .values(LE.f32s([1.5, -2])))
        #expect(try parse(one(PB.tensor("e", type: 1, dims: [0, 3]))).initializers[0].data == .values([]))
        // A type libmodeltree does not read is listed, not checked.
        let string = try parse(one(PB.tensor("s", type: 8, dims: [2], PB.bytes(6, [0x61]))))
        #expect(string.initializers[0].dtype == nil && string.initializers[0].data == ONNXTensor.Location.none)
        // At most 1,000,000 initializers (3 here).
        let four = PB.model(initializers: (0..<4).map { PB.tensor("w\($0)", type: 1, dims: [], PB.fixed32(4, 0)) })
        #expect(try parse(four).initializers.count == 4)
        expectError(.format, "more than 3 initializers (the limit for a model)") {
            _ = try four.withUnsafeBytes { try ONNXModel.parse(MemoryBytes(image: $0), maxInitializers: 3) }
        }
        refuses(PB.int(1, 8), "no graph: not an ONNX model")
        refuses(PB.int(7, 1), "ModelProto field 7 has the wrong wire type")
    }

    @Test func wireFormat() throws {
        refuses([0x08] + [UInt8](repeating: 0xFF, count: 10) + [0x01], "protobuf: field 1 is a varint beyond 64 bits (at byte 1)")
        refuses([0x08] + [UInt8](repeating: 0xFF, count: 9) + [0x02], "protobuf: field 1 is a varint beyond 64 bits")
        // The largest varint, 2^64 − 1 in ten bytes, is read (ir_version), and then the model has no graph.
        refuses([0x08] + [UInt8](repeating: 0xFF, count: 9) + [0x01], "no graph: not an ONNX model")
        refuses([0x00, 0x00], "protobuf: field number 0 at byte 0 is out of range")
        refuses([0x0B], "protobuf: field 1 at byte 0 uses the deprecated group encoding")
        refuses([0x0E], "protobuf: field 1 at byte 0 has invalid wire type 6")
        refuses([0x3A, 0x05, 0x01], "protobuf: field 7 (5 bytes at byte 2) runs past the end of its message at byte 3")
        refuses([0x3A, 0x03, 0x2A, 0x05, 0x00], "protobuf: field 5 (5 bytes at byte 4) runs past the end of its message at byte 5")
        refuses([0x0D, 0x00, 0x00], "field 1 (4 bytes at byte 1) runs past the end of the file at byte 3")
        refuses(PB.model(initializers: [PB.tensor(String(repeating: "n", count: 65_537), type: 1, dims: [])]),
                "protobuf: an initializer name is 65537 bytes long, over the limit of 65536")
        refuses(PB.model(initializers: [PB.int(2, 1) + PB.bytes(8, [0xC0, 0x80])]), "protobuf: an initializer name is not UTF-8")
    }

    /// Every prefix of a real model either parses (a protobuf message may end after any field)
    /// or is a format error; never a crash.
    @Test func everyTruncationIsHandled() throws {
        let image = try Fixtures.bytes("formats/onnx/linear_qdq_channel.onnx")
        let full = try parse(image)
        for n in 0..<image.count {
            do {
                let partial = try parse(Array(image[..<n]))
                #expect(partial.initializers.allSatisfy { t in full.initializers.contains(t) }, "prefix \(n)")
            } catch ModelTreeError.format {
            } catch {
                Issue.record("prefix \(n): \(error)")
            }
        }
    }

    /// The reader opens sub-messages at most 16 deep (the ONNX walk itself needs 4).
    @Test func nestingIsCapped() throws {
        var message: [UInt8] = []
        for _ in 0..<20 { message = PB.bytes(1, message) }
        try message.withUnsafeBytes { raw in
            var reader = ProtobufReader(MemoryBytes(image: raw))
            var depth = 0
            do {
                while case .bytes(let r)? = try reader.next()?.value {
                    reader = try reader.message(r)
                    depth += 1
                }
                Issue.record("20 levels were opened")
            } catch let error as ModelTreeError {
                #expect(depth == 15)
                #expect(error.message.contains("protobuf: messages nested deeper than 16"))
            }
        }
    }

    @Test func dequantizationNodes() throws {
        let w = PB.tensor("w", type: 3, dims: [2, 3], PB.bytes(9, [1, 2, 3, 4, 5, 6]))
        let scale2 = PB.tensor("s", type: 1, dims: [2], PB.bytes(9, LE.f32s([0.5, 0.25])))
        let zp2 = PB.tensor("z", type: 3, dims: [2], PB.bytes(9, [1, 0xFF]))
        func model(_ nodes: [[UInt8]], _ extra: [[UInt8]] = []) throws -> ONNXModel { try parse(PB.model(initializers: [w, scale2, zp2] + extra, nodes: nodes)) }
        let ok = try model([PB.node("DequantizeLinear", ["w", "s", "z"], ["W"], ints: [("axis", 0)])])
        #expect(ok.dequantizations == [ONNXDequantization(weight: "w", scale: "s", zeroPoint: "z", axis: 0, output: "W", pattern: .dequantizeLinear)])
        // (x − zp) · scale along axis 0: rows [1, 2, 3] − 1 and [4, 5, 6] + 1.
        #expect(ONNXDequantization.dequantize([1, 2, 3, 4, 5, 6], range: 0..<6, shape: [2, 3], axis: 0, scales: [0.5, 0.25], zeroPoints: [1, -1])
                == [0, 0.5, 1, 1.25, 1.5, 1.75])
        #expect(try model([PB.node("DequantizeLinear", ["w", "s", "z"], ["W"], ints: [("axis", -2)])]).dequantizations[0].axis == 0)
        expectError(.format, "DequantizeLinear of 'w': scale of shape [2] does not run along axis 1 of shape [2, 3]") {
            _ = try model([PB.node("DequantizeLinear", ["w", "s"], ["W"])])
        }
        expectError(.format, "DequantizeLinear of 'w': blocked quantization (block_size 2) is not supported") {
            _ = try model([PB.node("DequantizeLinear", ["w", "s"], ["W"], ints: [("axis", 0), ("block_size", 2)])])
        }
        expectError(.format, "DequantizeLinear of 'w': zero point 's' is not an initializer of I8 shaped like the scale") {
            _ = try model([PB.node("DequantizeLinear", ["w", "s", "s"], ["W"], ints: [("axis", 0)])])
        }
        // Activations (not initializers) and float inputs are not weights to dequantize.
        #expect(try model([PB.node("DequantizeLinear", ["x", "s"], ["X"]), PB.node("DequantizeLinear", ["s", "s"], ["S"])]).dequantizations.isEmpty)
        // Cast → Mul: scale shapes that broadcast along one axis are linked, others not.
        let scaleRow = PB.tensor("r", type: 1, dims: [2, 1], PB.bytes(9, LE.f32s([2, 3])))
        let scaleBad = PB.tensor("b", type: 1, dims: [2, 3], PB.bytes(9, LE.f32s([1, 2, 3, 4, 5, 6])))
        let castMul = try model([PB.node("Cast", ["w"], ["c"], ints: [("to", 1)]), PB.node("Mul", ["c", "r"], ["W"]),
                                 PB.node("Mul", ["b", "c"], ["V"]), PB.node("Cast", ["w"], ["i"], ints: [("to", 7)]),
                                 PB.node("Mul", ["i", "r"], ["U"])], [scaleRow, scaleBad])
        #expect(castMul.dequantizations == [ONNXDequantization(weight: "w", scale: "r", zeroPoint: nil, axis: 0, output: "W", pattern: .castMul)])
    }
}
