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
