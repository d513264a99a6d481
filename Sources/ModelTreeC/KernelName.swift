// The vector kernels in use, for reports: the core's `kernelName()`.
import CModelTree
import ModelTree

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The set's name, copied once and never freed (a process-lifetime constant).
/// `nonisolated(unsafe)`: written once, by the thread-safe initialisation of globals, then read.
nonisolated(unsafe) private let _kernelName: UnsafePointer<CChar> =
    UnsafePointer(strdup(kernelName()) ?? UnsafeMutablePointer(mutating: _staticCString("?")))

/// The C function `modeltree_kernel_name`.
@c @implementation
public func modeltree_kernel_name() -> UnsafePointer<CChar>! {
    _kernelName
}
