// libFuzzer target: the protobuf wire reader (`ProtobufReader`) and the ONNX walk on top of it
// (`ONNXModel.parse`), on arbitrary bytes taken as a whole `.onnx` file image.
//
// Built by mk/fuzz.mk like SafetensorsFuzz.swift. The reader is also driven schema-free: every
// length-delimited field is opened as a message, recursively, as deep as the reader allows. An
// input either parses — and then every initializer's data lies in the image, has the size its
// type and shape need, and dequantizes — or fails with `ModelTreeError.format`.

@testable import ModelTree

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtobuf(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let image = UnsafeRawBufferPointer(start: data, count: size)
    let source = MemoryBytes(image: image)
    expectFormatErrorsOnly { try walk(ProtobufReader(source), budget: 4096) }
    let model: ONNXModel
    do {
        model = try ONNXModel.parse(source)
    } catch let error as ModelTreeError {
        guard case .format = error else { fatalError("onnx: error of the wrong kind: \(error)") }
        return 0
    } catch {
        fatalError("onnx: not a ModelTreeError: \(error)")
    }
    var names = Set<String>()
    var bytes: [String: [UInt8]] = [:]
    for t in model.initializers {
        precondition(names.insert(t.name).inserted, "duplicate initializer names accepted")
        precondition(t.shape.allSatisfy { $0 >= 0 } && t.shape.count <= 64, "shape \(t.shape)")
        guard let dtype = t.dtype else { precondition(t.data == .none, "an unread type with data"); continue }
        switch t.data {
        case .raw(let offset, let count):
            precondition(offset >= 0 && offset + count <= size && count == t.elementCount * dtype.size, "raw data of '\(t.name)'")
            bytes[t.name] = Array(image[offset..<offset + count])
        case .values(let v):
            precondition(v.count == t.elementCount * dtype.size, "typed values of '\(t.name)'")
            bytes[t.name] = v
        case .external(let location, _, let length):
            precondition(!location.hasPrefix("/") && !location.split(separator: "/").contains("..") && length == t.elementCount * dtype.size,
                         "external data of '\(t.name)'")
        case .none:
            fatalError("a readable type without data")
        }
    }
    // Every dequantization runs on its weight's integers (when they are in the image).
    for d in model.dequantizations {
        guard let x = model.initializer(d.weight), let scale = model.initializer(d.scale),
              let xb = bytes[d.weight], let sb = bytes[d.scale], let sdtype = scale.dtype else {
            fatalError("a dequantization of initializers that do not exist")
        }
        var scales = [Float](repeating: 0, count: scale.elementCount)
        if sdtype.isFloatingPoint {
            sb.withUnsafeBytes { raw in scales.withUnsafeMutableBufferPointer { KernelSet.active.decode(sdtype, raw.baseAddress!, count: scale.elementCount, into: $0.baseAddress!) } }
        }
        let ints = integers(xb, x.dtype!)
        let zps = d.zeroPoint.flatMap { bytes[$0] }.map { integers($0, x.dtype!) } ?? []
        let n = Swift.min(ints.count, 4096)
        if let axis = d.axis { precondition(axis < x.shape.count && scales.count == x.shape[axis], "axis and scales") }
        else { precondition(scales.count == 1, "a single scale") }
        _ = ONNXDequantization.dequantize(Array(ints[..<n]), range: 0..<n, shape: x.shape, axis: d.axis, scales: scales, zeroPoints: zps)
    }
    return 0
}

/// Opens every length-delimited field as a message, recursively (at most `budget` fields).
private func walk(_ message: ProtobufReader, budget: Int) throws {
    var m = message, left = budget
    while left > 0, let (_, value) = try m.next() {
        left -= 1
        if case .bytes(let r) = value, let child = try? m.message(r) {
            expectFormatErrorsOnly { try walk(child, budget: left / 2) }
            _ = try? m.string(r, "a field")
        }
    }
}

private func expectFormatErrorsOnly(_ body: () throws -> Void) {
    do { try body() } catch let error as ModelTreeError {
        guard case .format = error else { fatalError("protobuf: error of the wrong kind: \(error)") }
    } catch {
        fatalError("protobuf: not a ModelTreeError: \(error)")
    }
}

/// Little-endian integers of an integer dtype, widened.
private func integers(_ bytes: [UInt8], _ dtype: DType) -> [Int32] {
    let n = bytes.count / dtype.size
    return (0..<n).map { i in
        let b = bytes[i * dtype.size..<(i + 1) * dtype.size]
        let u = b.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
        switch dtype {
        case .i8: return Int32(Int8(truncatingIfNeeded: u))
        case .i16: return Int32(Int16(truncatingIfNeeded: u))
        case .i32: return Int32(bitPattern: u)
        default: return Int32(truncatingIfNeeded: u)
        }
    }
}
