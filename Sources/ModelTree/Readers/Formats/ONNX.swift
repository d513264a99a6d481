/// The weights of an ONNX model (its graph's initializers), validated, and how its integer
/// weights dequantize, read with `ProtobufReader` from `onnx/onnx.proto` (ModelProto.graph = 7;
/// GraphProto.node = 1, initializer = 5; TensorProto, NodeProto, AttributeProto,
/// StringStringEntryProto as below). No tensor byte is read here, except the typed fields
/// (`float_data`, `int32_data`, …) small tensors keep their values in.
///
/// Each initializer's data is one of: `raw_data` (located in the model file, never read here); the
/// typed field for its type (decoded into little-endian bytes, at most `maxTypedBytes` — 64 MiB —
/// per model: exporters write anything large as raw data); or external data (`data_location` =
/// EXTERNAL with `location`, `offset`, `length`): a file beside the model, named by a relative
/// path that may not leave the model's folder (no `..`, no absolute path, no backslash, no NUL).
/// The data's size must equal the element count times the element size. Types without a
/// `DType` (strings, complex, 4-bit, the FNUZ float8s) are listed with `dtype == nil` and not
/// checked further: they are never read. Dimensions are non-negative, at most 64, without
/// overflow; names are unique; at most 1,000,000 initializers (≈ 180 bytes each while open).
///
/// The graph's nodes are read only for dequantization: a `DequantizeLinear(x, scale[,
/// zero_point])` whose x is an integer initializer (per tensor, or per axis with `axis` — what
/// onnxruntime's quantizer writes), and `Cast(x → float) → Mul(·, scale)` (weight-only exports).
public struct ONNXModel: Sendable {
    public let irVersion: Int?
    /// `producer_name producer_version`.
    public let producer: String?
    /// The graph's initializers, in file order.
    public let initializers: [ONNXTensor]
    /// How integer initializers become float weights, one per weight found.
    public let dequantizations: [ONNXDequantization]
    /// Sparse initializers (GraphProto field 15), which are not read.
    public let sparseInitializerCount: Int

    static let maxTypedBytes = 64 << 20
    static let maxInitializers = 1_000_000
    static let maxRank = 64

    /// The initializer named `name`.
    public func initializer(_ name: String) -> ONNXTensor? { initializers.first { $0.name == name } }

    /// Parses the model in `source`. Errors carry the reason only; `open(path:)` adds the path.
    static func parse(_ source: ByteSource, maxInitializers: Int = ONNXModel.maxInitializers) throws -> ONNXModel {
        var model = ProtobufReader(source)
        var irVersion: Int?, producerName: String?, producerVersion: String?
        var graph: Range<Int>?
        while let (number, value) = try model.next() {
            switch (number, value) {
            case (1, .varint(let v)): irVersion = Int(truncatingIfNeeded: v)
            case (2, .bytes(let r)): producerName = try model.string(r, "producer_name")
            case (3, .bytes(let r)): producerVersion = try model.string(r, "producer_version")
            case (7, .bytes(let r)):
                guard graph == nil else { throw ModelTreeError.format("the model has two graphs") }
                graph = r
            case (1, _), (2, _), (3, _), (7, _):
                throw ModelTreeError.format("ModelProto field \(number) has the wrong wire type")
            default: break
            }
        }
        guard let graph else { throw ModelTreeError.format("no graph: not an ONNX model") }
        var parser = GraphParser(maxInitializers: maxInitializers)
        try parser.parse(try model.message(graph))
        let producer = [producerName, producerVersion].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        return ONNXModel(irVersion: irVersion, producer: producer.isEmpty ? nil : producer,
                         initializers: parser.initializers, dequantizations: try parser.dequantizations(),
                         sparseInitializerCount: parser.sparseCount)
    }

    /// Opens `path`, parses it and checks every external data file: it exists beside the model
    /// and holds the bytes its tensor claims.
    /// - Throws: `.io` when a file cannot be read; `.format("<path>: <reason>")` otherwise.
    static func open(path: String) throws -> (file: CheckpointFile, model: ONNXModel) {
        let file = try CheckpointFile(path: path)
        let model = try prefixingFormatErrors(path) { try parse(file) }
        let folder = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var sizes: [String: Int] = [:]
        for t in model.initializers {
            guard case .external(let location, let offset, let length) = t.data else { continue }
            let size: Int
            if let known = sizes[location] {
                size = known
            } else {
                size = try CheckpointFile(path: FileSystem.join(folder, location)).size
                sizes[location] = size
            }
            guard offset <= size, length <= size - offset else {
                throw ModelTreeError.format("\(path): initializer '\(t.name)' needs bytes \(offset)..<\(offset + length) of \(location), which has \(size)")
            }
        }
        return (file, model)
    }
}

/// One initializer.
public struct ONNXTensor: Sendable, Equatable {
    public let name: String
    /// `TensorProto.DataType` (1 FLOAT, 3 INT8, 10 FLOAT16, 16 BFLOAT16, …).
    public let dataType: Int
    /// The element type, or nil for one libmodeltree does not read.
    public let dtype: DType?
    /// numpy order (ONNX's own).
    public let shape: [Int]
    public let data: Location

    public enum Location: Sendable, Equatable {
        /// `count` bytes at `offset` of the model file.
        case raw(offset: Int, count: Int)
        /// The values from the typed field, as little-endian bytes of `dtype`.
        case values([UInt8])
        /// `length` bytes at `offset` of the file `location` (relative to the model's folder).
        case external(location: String, offset: Int, length: Int)
        /// No data (a type libmodeltree does not read).
        case none
    }

    public var elementCount: Int { checkedProduct(shape) ?? 0 }
}

/// How an integer initializer becomes a float weight: y = (x − zero_point) · scale, with one
/// scale (and zero point) for the whole tensor or one per index of `axis`.
public struct ONNXDequantization: Sendable, Equatable {
    public enum Pattern: String, Sendable { case dequantizeLinear = "DequantizeLinear", castMul = "Cast→Mul" }
    /// The integer initializer.
    public let weight: String
    public let scale: String
    public let zeroPoint: String?
    /// The axis of `weight` the scales run along; nil for a single scale.
    public let axis: Int?
    /// The graph value holding the float weights (the node's output).
    public let output: String
    public let pattern: Pattern

    /// Dequantizes elements `range` of the weight: `values` are its integers (already widened),
    /// `shape` its shape, `scales` and `zeroPoints` the decoded scale and zero point (one value,
    /// or one per index of `axis`; empty zero points mean 0). Computes in Float as onnxruntime
    /// does: Float(x − zp) · scale.
    public static func dequantize(_ values: [Int32], range: Range<Int>, shape: [Int], axis: Int?,
                                  scales: [Float], zeroPoints: [Int32]) -> [Float] {
        let inner = axis.map { shape[($0 + 1)...].reduce(1, *) } ?? 1
        let channels = axis.map { shape[$0] } ?? 1
        return zip(range, values).map { i, x in
            let c = axis == nil ? 0 : (i / inner) % channels
            let zp = zeroPoints.isEmpty ? 0 : zeroPoints[c]
            return Float(x &- zp) * scales[c]
        }
    }
}

/// The GraphProto walk: initializers, and the nodes that say how to dequantize.
private struct GraphParser {
    let maxInitializers: Int
    init(maxInitializers: Int) { self.maxInitializers = maxInitializers }
    var initializers: [ONNXTensor] = []
    var sparseCount = 0
    private var names: [String: Int] = [:]
    private var typedBytes = 0
    /// The nodes kept: DequantizeLinear, Cast, Mul.
    private var nodes: [(op: String, inputs: [String], outputs: [String], axis: Int?, blockSize: Int, castTo: Int?)] = []

    mutating func parse(_ graph: ProtobufReader) throws {
        var graph = graph
        while let (number, value) = try graph.next() {
            guard case .bytes(let r) = value else { continue }
            switch number {
            case 5:
                guard initializers.count < maxInitializers else {
                    throw ModelTreeError.format("more than \(maxInitializers) initializers (the limit for a model)")
                }
                let t = try tensor(try graph.message(r), index: initializers.count)
                guard names.updateValue(initializers.count, forKey: t.name) == nil else {
                    throw ModelTreeError.format("two initializers are named '\(t.name)'")
                }
                initializers.append(t)
            case 1: try node(try graph.message(r))
            case 15: sparseCount += 1
            default: break
            }
        }
    }

    /// A NodeProto, kept when it is one of the ops dequantization needs.
    private mutating func node(_ message: ProtobufReader) throws {
        var m = message
        var op = "", domain = "", inputs: [String] = [], outputs: [String] = []
        var attributes: [Range<Int>] = []
        while let (number, value) = try m.next() {
            guard case .bytes(let r) = value else { continue }
            switch number {
            case 1: inputs.append(try m.string(r, "a node input"))
            case 2: outputs.append(try m.string(r, "a node output"))
            case 4: op = try m.string(r, "a node's op_type")
            case 7: domain = try m.string(r, "a node's domain")
            case 5: attributes.append(r)
            default: break
            }
        }
        guard ["DequantizeLinear", "Cast", "Mul"].contains(op), ["", "ai.onnx", "com.microsoft"].contains(domain) else { return }
        var axis: Int?, blockSize = 0, castTo: Int?
        for r in attributes {
            var a = try m.message(r)
            var name = "", i: Int?
            while let (number, value) = try a.next() {
                switch (number, value) {
                case (1, .bytes(let s)): name = try a.string(s, "an attribute name")
                case (3, .varint(let v)): i = Int(truncatingIfNeeded: v)
                default: break
                }
            }
            switch name {
            case "axis": axis = i
            case "block_size": blockSize = i ?? 0
            case "to": castTo = i
            default: break
            }
        }
        nodes.append((op, inputs, outputs, axis, blockSize, castTo))
    }

    /// A TensorProto.
    private mutating func tensor(_ message: ProtobufReader, index: Int) throws -> ONNXTensor {
        var m = message
        var dims: [Int] = [], dataType = 0, name: String?
        var raw: Range<Int>?, typed: [(field: Int, value: ProtobufReader.Value)] = []
        var external: [(String, String)] = [], location = 0
        while let (number, value) = try m.next() {
            switch (number, value) {
            case (1, _):
                try m.forEachScalar(value, fixedWidth: nil, "dims") { d in
                    guard d <= UInt64(Int.max) else { throw ModelTreeError.format("initializer \(index): dimension \(Int64(bitPattern: d)) is negative") }
                    dims.append(Int(d))
                    guard dims.count <= ONNXModel.maxRank else { throw ModelTreeError.format("initializer \(index): more than \(ONNXModel.maxRank) dimensions") }
                }
            case (2, .varint(let v)): dataType = Int(truncatingIfNeeded: v)
            case (3, _): throw ModelTreeError.format("initializer \(index): segmented tensors are not supported")
            case (4, _), (5, _), (7, _), (10, _), (11, _): typed.append((number, value))
            case (8, .bytes(let r)): name = try m.string(r, "an initializer name")
            case (9, .bytes(let r)): raw = r
            case (13, .bytes(let r)):
                var entry = try m.message(r)
                var key = "", text = ""
                while let (n, v) = try entry.next() {
                    if case .bytes(let s) = v, n == 1 { key = try entry.string(s, "an external_data key") }
                    if case .bytes(let s) = v, n == 2 { text = try entry.string(s, "an external_data value") }
                }
                external.append((key, text))
            case (14, .varint(let v)): location = Int(truncatingIfNeeded: v)
            case (2, _), (8, _), (9, _), (13, _), (14, _):
                throw ModelTreeError.format("initializer \(index): field \(number) has the wrong wire type")
            default: break
            }
        }
        guard let name else { throw ModelTreeError.format("initializer \(index) has no name") }
        func bad(_ why: String) -> ModelTreeError { .format("initializer '\(name)': \(why)") }
        guard checkedProduct(dims) != nil else { throw bad("dimensions \(dims) overflow the element count") }
        let dtype = Self.dtypes[dataType]
        guard let dtype else {
            return ONNXTensor(name: name, dataType: dataType, dtype: nil, shape: dims, data: .none)
        }
        let count = checkedProduct(dims)!
        guard let byteCount = checkedProduct(count, dtype.size) else { throw bad("dimensions \(dims) overflow the byte count") }
        let sources = (raw != nil ? 1 : 0) + (typed.isEmpty ? 0 : 1) + (location == 1 ? 1 : 0)
        guard sources <= 1 else { throw bad("holds its data in more than one of raw_data, a typed field and external data") }
        if location == 1 {
            var path: String?, offset = 0, length: Int?
            for (key, text) in external {
                switch key {
                case "location": path = text
                case "offset":
                    guard let v = Self.decimal(text) else { throw bad("external data offset '\(text)' is not a non-negative integer") }
                    offset = v
                case "length":
                    guard let v = Self.decimal(text) else { throw bad("external data length '\(text)' is not a non-negative integer") }
                    length = v
                default: break
                }
            }
            guard let path else { throw bad("external data without a location") }
            guard Self.isContained(path) else {
                throw bad("external data location '\(path)' is not a relative path inside the model's folder")
            }
            let n = length ?? byteCount
            guard n == byteCount else { throw bad("external data of \(n) bytes, but \(dims) of \(dtype.rawValue) needs \(byteCount)") }
            guard checkedSum(offset, n) != nil else { throw bad("external data offset \(offset) overflows") }
            return ONNXTensor(name: name, dataType: dataType, dtype: dtype, shape: dims, data: .external(location: path, offset: offset, length: n))
        }
        if let raw {
            guard raw.count == byteCount else { throw bad("raw_data of \(raw.count) bytes, but \(dims) of \(dtype.rawValue) needs \(byteCount)") }
            return ONNXTensor(name: name, dataType: dataType, dtype: dtype, shape: dims, data: .raw(offset: raw.lowerBound, count: raw.count))
        }
        // The typed field: which one holds which type (onnx.proto's comments on each field).
        let field: Int
        switch dtype {
        case .f32: field = 4
        case .f64: field = 10
        case .i64: field = 7
        case .u32, .u64: field = 11
        default: field = 5                             // int32_data: the small integers, bool, f16, bf16, float8
        }
        guard byteCount <= ONNXModel.maxTypedBytes - typedBytes else {
            throw bad("typed data beyond the limit of \(ONNXModel.maxTypedBytes) bytes per model (large tensors belong in raw_data)")
        }
        var out: [UInt8] = []
        out.reserveCapacity(byteCount)
        for (number, value) in typed {
            guard number == field else { throw bad("its values are in field \(number), not field \(field) where \(dtype.rawValue) belongs") }
            try m.forEachScalar(value, fixedWidth: field == 4 ? 4 : field == 10 ? 8 : nil, "the values of '\(name)'") { bits in
                guard out.count < byteCount else { throw bad("more values than its \(count) elements") }
                try Self.append(bits, as: dtype, to: &out, bad)
            }
        }
        guard out.count == byteCount else {
            throw bad("\(out.count / dtype.size) values for \(count) elements")
        }
        typedBytes += byteCount
        return ONNXTensor(name: name, dataType: dataType, dtype: dtype, shape: dims, data: .values(out))
    }

    /// Appends one value of a typed field as little-endian bytes of `dtype`, checking its range.
    private static func append(_ bits: UInt64, as dtype: DType, to out: inout [UInt8], _ bad: (String) -> ModelTreeError) throws {
        let range: ClosedRange<Int64>
        switch dtype {
        case .f32, .f64, .i64, .u64: range = Int64.min...Int64.max     // the field's own width
        case .i8: range = -128...127
        case .u8, .f8e4m3, .f8e5m2: range = 0...255
        case .bool: range = 0...1
        case .i16: range = -32768...32767
        case .u16, .f16, .bf16: range = 0...65535
        case .i32: range = Int64(Int32.min)...Int64(Int32.max)
        case .u32: range = 0...Int64(UInt32.max)
        }
        // int32_data holds int32s as varints of their sign-extended 64-bit value.
        let value = dtype == .u64 ? 0 : Int64(bitPattern: bits)
        if dtype != .u64 && dtype != .f32 && dtype != .f64 && !range.contains(value) {
            throw bad("value \(value) is out of the range of \(dtype.rawValue)")
        }
        let little = bits.littleEndian
        withUnsafeBytes(of: little) { out.append(contentsOf: $0.prefix(dtype.size)) }
    }

    /// A decimal string of digits, as an Int.
    private static func decimal(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text)
    }

    /// Whether `path` names a file inside the model's folder: relative, no `..` component, no
    /// backslash (a Windows separator), no NUL, not empty.
    static func isContained(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\\"), !path.contains("\0") else { return false }
        return !path.split(separator: "/").contains("..")
    }

    static let dtypes: [Int: DType] = [1: .f32, 2: .u8, 3: .i8, 4: .u16, 5: .i16, 6: .i32, 7: .i64, 9: .bool, 10: .f16,
                                       11: .f64, 12: .u32, 13: .u64, 16: .bf16, 17: .f8e4m3, 19: .f8e5m2]

    /// The dequantizations the kept nodes describe, for integer initializers only.
    func dequantizations() throws -> [ONNXDequantization] {
        func initializer(_ name: String) -> ONNXTensor? { names[name].map { initializers[$0] } }
        func isInteger(_ t: ONNXTensor) -> Bool { [.i8, .u8, .i16, .u16, .i32].contains(t.dtype) }
        func isFloat(_ t: ONNXTensor) -> Bool { [.f32, .f16, .bf16].contains(t.dtype) }
        var out: [ONNXDequantization] = []
        for node in nodes {
            switch node.op {
            case "DequantizeLinear":
                guard node.inputs.count >= 2, let x = initializer(node.inputs[0]), isInteger(x),
                      let scale = initializer(node.inputs[1]), isFloat(scale), let output = node.outputs.first else { continue }
                func bad(_ why: String) -> ModelTreeError { .format("DequantizeLinear of '\(x.name)': \(why)") }
                guard node.blockSize == 0 else { throw bad("blocked quantization (block_size \(node.blockSize)) is not supported") }
                let zeroPoint = node.inputs.count > 2 && !node.inputs[2].isEmpty ? node.inputs[2] : nil
                if let zp = zeroPoint {
                    guard let z = initializer(zp), z.dtype == x.dtype, z.shape.reduce(1, *) == scale.shape.reduce(1, *) else {
                        throw bad("zero point '\(zp)' is not an initializer of \(x.dtype!.rawValue) shaped like the scale")
                    }
                }
                // One scale (a scalar or a 1-element vector) for the tensor, or a vector along `axis`.
                var axis: Int?
                if scale.elementCount != 1 {
                    var a = node.axis ?? 1
                    if a < 0 { a += x.shape.count }
                    guard a >= 0, a < x.shape.count, scale.shape.count == 1, scale.shape[0] == x.shape[a] else {
                        throw bad("scale of shape \(scale.shape) does not run along axis \(node.axis ?? 1) of shape \(x.shape)")
                    }
                    axis = a
                }
                out.append(ONNXDequantization(weight: x.name, scale: scale.name, zeroPoint: zeroPoint, axis: axis, output: output, pattern: .dequantizeLinear))
            case "Cast":
                // Cast(x → float) feeding a Mul by a float initializer.
                guard let x = node.inputs.first.flatMap(initializer), isInteger(x), [1, 10, 16].contains(node.castTo ?? 0),
                      let cast = node.outputs.first else { continue }
                for mul in nodes where mul.op == "Mul" && mul.inputs.count == 2 && mul.inputs.contains(cast) {
                    let other = mul.inputs[0] == cast ? mul.inputs[1] : mul.inputs[0]
                    guard let scale = initializer(other), isFloat(scale), let output = mul.outputs.first else { continue }
                    // The scale broadcasts against x (right-aligned): one value, or one axis of x.
                    guard scale.shape.count <= x.shape.count else { continue }
                    let aligned = [Int](repeating: 1, count: x.shape.count - scale.shape.count) + scale.shape
                    let varying = aligned.indices.filter { aligned[$0] != 1 }
                    if varying.isEmpty {
                        out.append(ONNXDequantization(weight: x.name, scale: scale.name, zeroPoint: nil, axis: nil, output: output, pattern: .castMul))
                    } else if varying.count == 1, aligned[varying[0]] == x.shape[varying[0]] {
                        out.append(ONNXDequantization(weight: x.name, scale: scale.name, zeroPoint: nil, axis: varying[0], output: output, pattern: .castMul))
                    }
                }
            default: break
            }
        }
        return out
    }
}
