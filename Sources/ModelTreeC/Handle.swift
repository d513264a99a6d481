// Opaque C handles: a Swift object retained once when handed to C, borrowed by each call, and
// released by the matching `_free`.

/// Conversions between a class instance and the opaque pointer C callers hold.
enum _Handle {
    /// Retains `object` and returns it as a handle; balance with `release`.
    static func make<T: AnyObject>(_ object: T) -> OpaquePointer {
        OpaquePointer(Unmanaged.passRetained(object).toOpaque())
    }

    /// The object behind a live handle, without changing its retain count.
    static func borrow<T: AnyObject>(_ handle: OpaquePointer, as _: T.Type) -> T {
        Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    /// Gives up the reference `make` took; the object is destroyed if nothing else holds it.
    static func release<T: AnyObject>(_ handle: OpaquePointer, as _: T.Type) {
        Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).release()
    }
}
