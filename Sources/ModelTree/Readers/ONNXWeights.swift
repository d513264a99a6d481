/// An ONNX model's initializers as a model. Float initializers are their stored elements; an
/// integer initializer that the graph dequantizes (`DequantizeLinear`, `Cast → Mul`) is the float
/// weight the graph computes (`AffineIntegers`), named after the weight without onnxruntime's
/// `_quantized` suffix, and its scale and zero point are not tensors of their own. Other integer
/// initializers (shapes, indices) are kept as non-weights.
///
/// Names are the exporter's (`m.model.layers.0.input_layernorm.weight`, `val_133`):
/// `TensorMatching` maps them onto the other models' names by name or by content.
enum ONNXWeights {
    /// The most elements of a scale or zero point read into memory.
    static let maxScaleCount = 1 << 20

    static func read(path: String) throws -> ReadWeights {
        let (file, model) = try ONNXModel.open(path: path)
        let folder = FileSystem.parent(path)
        var owners: [any AnyObject & Sendable] = [file]
        var externals: [String: CheckpointFile] = [:]
        func storage(_ t: ONNXTensor) throws -> TensorStorage? {
            switch t.data {
            case .raw(let offset, _): return .file(file, offset: offset)
            case .values(let bytes):
                let owned = OwnedBytes(bytes)
                owners.append(owned)
                return .memory(owned.bytes)
            case .external(let location, let offset, _):
                if externals[location] == nil {
                    let opened = try CheckpointFile(path: FileSystem.join(folder, location))
                    externals[location] = opened
                    owners.append(opened)
                }
                return .file(externals[location]!, offset: offset)
            case .none: return nil
            }
        }
        return try prefixingFormatErrors(path) {
            var dequantized: [String: ONNXDequantization] = [:]
            var parameters = Set<String>()
            for d in model.dequantizations {
                dequantized[d.weight] = d
                parameters.insert(d.scale)
                if let z = d.zeroPoint { parameters.insert(z) }
            }
            var tensors: [TensorView] = []
            for t in model.initializers where !parameters.contains(t.name) {
                guard let dtype = t.dtype, let bytes = try storage(t) else { continue }
                if let d = dequantized[t.name] {
                    guard AffineIntegers.types.contains(dtype) else {
                        throw ModelTreeError.format("initializer '\(t.name)' is \(dtype.rawValue), which \(d.pattern.rawValue) does not dequantize here")
                    }
                    let scales = try values(model.initializer(d.scale), storage: storage, what: "scale").map { Float($0) }
                    let zeros = try d.zeroPoint.map { try values(model.initializer($0), storage: storage, what: "zero point").map { Int32($0) } } ?? []
                    var axis = d.axis
                    if let a = axis, a < 0 { axis = a + t.shape.count }
                    let channels = axis.map { (0..<t.shape.count).contains($0) ? t.shape[$0] : 0 } ?? 1
                    guard scales.count == channels, zeros.isEmpty || zeros.count == channels else {
                        throw ModelTreeError.format("initializer '\(t.name)' of shape \(t.shape): \(scales.count) scales and \(zeros.count) zero points for \(channels) channels")
                    }
                    let inner = axis.map { t.shape[($0 + 1)...].reduce(1, *) } ?? 1
                    let name = t.name.hasSuffix("_quantized") ? String(t.name.dropLast("_quantized".count)) : t.name
                    tensors.append(TensorView(name: name, shape: t.shape,
                                              source: AffineIntegers(dtype: dtype, storage: bytes, scales: scales, zeroPoints: zeros,
                                                                     inner: inner, channels: channels)))
                } else {
                    tensors.append(TensorView(name: t.name, shape: t.shape, source: StoredElements(dtype: dtype, storage: bytes)))
                }
            }
            var metadata: [(key: String, value: String)] = []
            if let producer = model.producer { metadata.append(("producer", producer)) }
            if let ir = model.irVersion { metadata.append(("ir_version", "\(ir)")) }
            return ReadWeights(tensors: tensors, owners: owners, format: "onnx", metadata: metadata)
        }
    }

    /// A scale's or zero point's values as Doubles (floats and integers alike).
    private static func values(_ t: ONNXTensor?, storage: (ONNXTensor) throws -> TensorStorage?, what: String) throws -> [Double] {
        guard let t, let dtype = t.dtype, let bytes = try storage(t) else {
            throw ModelTreeError.format("a \(what) that is not an initializer of a known type")
        }
        let count = t.elementCount
        guard count <= maxScaleCount else { throw ModelTreeError.format("\(what) '\(t.name)' has \(count) elements (at most \(maxScaleCount))") }
        let raw = try bytes.readAll(count * dtype.size)
        return raw.withUnsafeBytes { p in
            (0..<count).map { i -> Double in
                switch dtype {
                case .i8: return Double(p.load(fromByteOffset: i, as: Int8.self))
                case .u8: return Double(p.load(fromByteOffset: i, as: UInt8.self))
                case .i16: return Double(Int16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case .u16: return Double(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case .i32: return Double(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                default:
                    var x: Float = 0
                    if dtype.isFloatingPoint { KernelSet.active.decode(dtype, p.baseAddress! + i * dtype.size, count: 1, into: &x) }
                    return Double(x)
                }
            }
        }
    }
}
