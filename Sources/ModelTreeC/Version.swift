// The library's version. The header's MODELTREE_VERSION_MAJOR/MINOR/PATCH are the one source of
// truth: the library reports the numbers it was compiled against.
import CModelTree

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// "MAJOR.MINOR.PATCH", allocated once and never freed (a process-lifetime constant).
/// `nonisolated(unsafe)`: a pointer is not `Sendable`, but this one is written once, by the
/// thread-safe initialisation of globals, and only read after.
nonisolated(unsafe) private let _versionString: UnsafePointer<CChar> = {
    let text = "\(MODELTREE_VERSION_MAJOR).\(MODELTREE_VERSION_MINOR).\(MODELTREE_VERSION_PATCH)"
    return UnsafePointer(strdup(text) ?? UnsafeMutablePointer(mutating: _staticCString("?")))
}()

/// The C function `modeltree_version_number`: MAJOR * 10000 + MINOR * 100 + PATCH.
@c @implementation
public func modeltree_version_number() -> UInt32 {
    UInt32(MODELTREE_VERSION_MAJOR * 10000 + MODELTREE_VERSION_MINOR * 100 + MODELTREE_VERSION_PATCH)
}

/// The C function `modeltree_version_string`.
@c @implementation
public func modeltree_version_string() -> UnsafePointer<CChar>! {
    _versionString
}

/// The C function `modeltree_version_compatible`: the header's compatibility rule, applied by
/// the library that knows its own version.
@c @implementation
public func modeltree_version_compatible(_ header_version: UInt32) -> Bool {
    let loaded = modeltree_version_number()
    return loaded / 10000 == header_version / 10000 && loaded >= header_version
}
