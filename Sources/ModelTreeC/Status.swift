// Status codes and the per-thread error message: the one place where a Swift error becomes a
// `modeltree_status_t`. Every fallible entry point runs its body through `_catching`.
import CModelTree
import ModelTree

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension ModelTreeError {
    /// The status this error is reported as (one-to-one with the header's values).
    var _status: modeltree_status_t {
        switch self {
        case .invalidArgument: return MODELTREE_INVALID_ARGUMENT
        case .io: return MODELTREE_IO
        case .format: return MODELTREE_FORMAT
        case .incompatibleModels: return MODELTREE_INCOMPATIBLE_MODELS
        case .outOfMemory: return MODELTREE_OUT_OF_MEMORY
        case .cancelled: return MODELTREE_CANCELLED
        case .internal: return MODELTREE_INTERNAL
        }
    }
}

/// Runs the body of a fallible entry point: returns `MODELTREE_OK`, or records the error's message
/// for the calling thread and returns its status. Errors other than `ModelTreeError` (there should
/// be none) become `MODELTREE_INTERNAL`.
@inline(__always)
func _catching(_ body: () throws -> Void) -> modeltree_status_t {
    do {
        try body()
        return MODELTREE_OK
    } catch let error as ModelTreeError {
        _ErrorMessage.set(error.message)
        return error._status
    } catch {
        _ErrorMessage.set("unexpected error: \(error)")
        return MODELTREE_INTERNAL
    }
}

/// The calling thread's last error message, a `malloc`ed C string in a pthread key whose destructor
/// is libc's `free` (so a thread that exits after the library is unloaded runs no code of ours).
enum _ErrorMessage {
    /// The key, created once (Swift globals are initialised once, thread-safely); nil if the process
    /// ran out of keys, in which case messages are not kept.
    private static let key: pthread_key_t? = {
        var key = pthread_key_t()
        return pthread_key_create(&key, free) == 0 ? key : nil
    }()

    /// Replaces the calling thread's message. If the copy cannot be allocated, the old message is
    /// dropped and readers get "".
    static func set(_ message: String) {
        guard let key else { return }
        let copy = strdup(message)  // nil on allocation failure: getters then see ""
        let old = pthread_getspecific(key)
        if pthread_setspecific(key, copy) != 0 {
            free(copy)
            return
        }
        free(old)
    }

    /// The calling thread's message, or "" (static) if none.
    static func get() -> UnsafePointer<CChar> {
        if let key, let message = pthread_getspecific(key) {
            return UnsafePointer(message.assumingMemoryBound(to: CChar.self))
        }
        return _staticCString("")
    }
}

/// A pointer to a string literal's bytes, valid for the life of the process.
@inline(__always)
func _staticCString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// The C function `modeltree_status_string`.
@c @implementation
public func modeltree_status_string(_ status: modeltree_status_t) -> UnsafePointer<CChar>! {
    switch status {
    case MODELTREE_OK: return _staticCString("ok")
    case MODELTREE_INVALID_ARGUMENT: return _staticCString("invalid argument")
    case MODELTREE_IO: return _staticCString("I/O error")
    case MODELTREE_FORMAT: return _staticCString("malformed file")
    case MODELTREE_INCOMPATIBLE_MODELS: return _staticCString("incompatible models")
    case MODELTREE_OUT_OF_MEMORY: return _staticCString("out of memory")
    case MODELTREE_CANCELLED: return _staticCString("cancelled")
    case MODELTREE_INTERNAL: return _staticCString("internal error")
    default: return _staticCString("unknown status")
    }
}

/// The C function `modeltree_last_error_message`.
@c @implementation
public func modeltree_last_error_message() -> UnsafePointer<CChar>! {
    _ErrorMessage.get()
}
