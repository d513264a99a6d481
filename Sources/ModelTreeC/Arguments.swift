// Validation of caller input: every pointer, string and size from C passes through one of these
// before the core sees it. Each throws `ModelTreeError.invalidArgument` naming the argument.
import CModelTree
import ModelTree

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Throws unless `pointer` is non-NULL.
@inline(__always)
func _required<P>(_ pointer: P?, _ name: StaticString, _ function: StaticString) throws -> P {
    guard let pointer else {
        throw ModelTreeError.invalidArgument("\(function): \(name) is NULL")
    }
    return pointer
}

/// A C string argument as a Swift `String`: non-NULL, valid UTF-8, and non-empty unless allowed.
func _string(
    _ pointer: UnsafePointer<CChar>?, _ name: StaticString, _ function: StaticString,
    allowEmpty: Bool = false
) throws -> String {
    let pointer = try _required(pointer, name, function)
    guard let string = String(validatingCString: pointer) else {
        throw ModelTreeError.invalidArgument("\(function): \(name) is not valid UTF-8")
    }
    guard allowEmpty || !string.isEmpty else {
        throw ModelTreeError.invalidArgument("\(function): \(name) is empty")
    }
    return string
}

/// `count` C strings from `array` (which may be NULL only when `count` is 0).
func _strings(
    _ array: UnsafePointer<UnsafePointer<CChar>?>?, count: Int, _ name: StaticString,
    _ function: StaticString
) throws -> [String] {
    guard count >= 0 else {
        throw ModelTreeError.invalidArgument("\(function): \(name)_count is larger than the address space")
    }
    if count == 0 { return [] }
    let array = try _required(array, name, function)
    var result: [String] = []
    result.reserveCapacity(count)
    for i in 0..<count {
        guard let element = array[i] else {
            throw ModelTreeError.invalidArgument("\(function): \(name)[\(i)] is NULL")
        }
        guard let string = String(validatingCString: element) else {
            throw ModelTreeError.invalidArgument("\(function): \(name)[\(i)] is not valid UTF-8")
        }
        result.append(string)
    }
    return result
}

/// The bulk-accessor pattern of `modeltree_graph_distances`: copies `values` into `out` when it
/// is given and holds them all (`capacity`, a `size_t`, compared unsigned), and returns their
/// count whether or not it wrote; 0 for nil values (a NULL handle).
func _copy<T>(_ values: [T]?, to out: UnsafeMutablePointer<T>?, capacity: Int) -> Int {
    guard let values else { return 0 }
    if let out, UInt(bitPattern: capacity) >= UInt(values.count) {
        values.withUnsafeBufferPointer { buffer in
            if let base = buffer.baseAddress { out.update(from: base, count: buffer.count) }
        }
    }
    return values.count
}

/// `malloc`ed C copies of strings (nil entries stay NULL), handed out by accessors and freed
/// with their owner (a graph or a score).
final class _CStrings {
    private let pointers: [UnsafeMutablePointer<CChar>?]

    /// - Throws: `.outOfMemory` when a copy cannot be allocated (the others are then freed).
    init(_ strings: [String?]) throws {
        var pointers: [UnsafeMutablePointer<CChar>?] = []
        pointers.reserveCapacity(strings.count)
        do {
            for s in strings { pointers.append(try s.map(_mallocCString)) }
        } catch {
            pointers.forEach { free($0) }
            throw error
        }
        self.pointers = pointers
    }

    convenience init(_ strings: [String]) throws { try self.init(strings.map { Optional($0) }) }

    deinit { pointers.forEach { free($0) } }

    var count: Int { pointers.count }

    /// String `k`; nil for a nil entry or `k` out of range.
    subscript(k: Int) -> UnsafePointer<CChar>? {
        k >= 0 && k < pointers.count ? pointers[k].map { UnsafePointer($0) } : nil
    }
}

/// A copy of `string` in `malloc`ed memory, for the caller to release with `free`.
func _mallocCString(_ string: String) throws -> UnsafeMutablePointer<CChar> {
    guard let copy = strdup(string) else {
        throw ModelTreeError.outOfMemory("cannot allocate \(string.utf8.count + 1) bytes for a string")
    }
    return copy
}

extension modeltree_dtype_t {
    /// The core's dtype, or nil for a value the ABI does not define.
    var _dtype: DType? {
        switch self {
        case MODELTREE_DTYPE_F32: return .f32
        case MODELTREE_DTYPE_F64: return .f64
        case MODELTREE_DTYPE_F16: return .f16
        case MODELTREE_DTYPE_BF16: return .bf16
        default: return nil
        }
    }
}

extension modeltree_metric_t {
    var _metric: Metric? {
        switch self {
        case MODELTREE_METRIC_AUTO: return .auto
        case MODELTREE_METRIC_RMS: return .rms
        case MODELTREE_METRIC_MAX: return .max
        case MODELTREE_METRIC_RANK: return .rank
        default: return nil
        }
    }

    init(_ metric: Metric) {
        switch metric {
        case .auto: self = MODELTREE_METRIC_AUTO
        case .rms: self = MODELTREE_METRIC_RMS
        case .max: self = MODELTREE_METRIC_MAX
        case .rank: self = MODELTREE_METRIC_RANK
        }
    }
}

extension modeltree_format_t {
    /// The core's output format, or nil for a value the ABI does not define.
    var _format: OutputFormat? {
        switch self {
        case MODELTREE_FORMAT_JSON: return .json
        case MODELTREE_FORMAT_TEXT: return .text
        case MODELTREE_FORMAT_DOT: return .dot
        case MODELTREE_FORMAT_SVG: return .svg
        case MODELTREE_FORMAT_HTML: return .html
        default: return nil
        }
    }
}

extension modeltree_edge_type_t {
    init(_ type: EdgeType) {
        switch type {
        case .finetune: self = MODELTREE_EDGE_FINETUNE
        case .adapter: self = MODELTREE_EDGE_ADAPTER
        case .quantized: self = MODELTREE_EDGE_QUANTIZED
        case .merge: self = MODELTREE_EDGE_MERGE
        case .layerSubset: self = MODELTREE_EDGE_LAYER_SUBSET
        }
    }
}

extension modeltree_direction_t {
    var _direction: DirectionMode? {
        switch self {
        case MODELTREE_DIRECTION_AUTO: return .auto
        case MODELTREE_DIRECTION_FINETUNE: return .finetune
        case MODELTREE_DIRECTION_GENERALIZATION: return .generalization
        default: return nil
        }
    }

    init(_ direction: DirectionMode) {
        switch direction {
        case .auto: self = MODELTREE_DIRECTION_AUTO
        case .finetune: self = MODELTREE_DIRECTION_FINETUNE
        case .generalization: self = MODELTREE_DIRECTION_GENERALIZATION
        }
    }
}
