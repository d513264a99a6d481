import Glibc

/// A checkpoint file on disk, read with `pread(2)` — never memory-mapped.
///
/// Why not `mmap`: a file truncated by another process while it is mapped raises SIGBUS at the
/// next access to a page past its new end, and that kills the host process (a Python kernel, a
/// hub's server); a library cannot catch the signal safely. Read with `pread`, the same file is a
/// short read and an error. The price is one copy of every byte read, into small buffers that
/// stay in cache (`pread` moves bytes as fast as `mmap` and a copy, and the pass that compares
/// every pair of models costs far more; BENCHMARKS.md has the measurement).
///
/// The file is opened for each read and closed after it, so a collection may hold more files than
/// the process may keep open (the soft limit is often 1,024), and after each read the file must
/// still be the one validated when the object was made: the same device, inode, size and
/// modification time. A file replaced, truncated, extended or rewritten since is an `.io` error
/// naming it, not a graph computed from a mix of old and new weights. (A rewrite is seen through
/// the modification time, so one within the file system's timestamp resolution of the first
/// open can go unnoticed; a change of size never does.)
final class CheckpointFile: Sendable {
    /// The path as given, for messages.
    let path: String
    /// The path each read opens: absolute, so that a host that changes its working directory
    /// between adding a model and recovering (a notebook's `os.chdir`) still reads the same file.
    private let openPath: String
    /// The size when the file was opened, in bytes.
    var size: Int { identity.size }
    /// What the file was when it was opened, for an index to tell later whether it changed.
    var fileIdentity: FileIdentity {
        FileIdentity(path: openPath, size: identity.size, modified: identity.modifiedSeconds * 1_000_000_000 + identity.modifiedNanoseconds,
                     device: identity.device, inode: identity.inode)
    }
    private let identity: Identity

    /// What must not change between the opening and a read.
    private struct Identity: Equatable {
        var device: UInt, inode: UInt, size: Int
        var modifiedSeconds: Int, modifiedNanoseconds: Int

        init(_ info: stat) {
            device = UInt(info.st_dev); inode = UInt(info.st_ino); size = Int(info.st_size)
            modifiedSeconds = Int(info.st_mtim.tv_sec); modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
        }
    }

    /// Opens `path` to check that it is a regular file and to note its identity (every read,
    /// the header's included, is then checked against it).
    /// - Throws: `.io("<path>: <reason>")` when the file cannot be opened or is not a regular file.
    init(path: String) throws {
        self.path = path
        openPath = path.hasPrefix("/") ? path : FileSystem.join(try FileSystem.currentDirectory(), path)
        let fd = try Self.open(openPath, path)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw posixError(path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ModelTreeError.io("\(path): \(info.st_mode & S_IFMT == S_IFDIR ? "is a directory" : "not a regular file")")
        }
        identity = Identity(info)
    }

    /// Reads `count` bytes at `offset` into `buffer` (which must hold them).
    ///
    /// With `prefetch`, also asks the kernel to start reading the next `count` bytes in the
    /// background (`POSIX_FADV_WILLNEED`): the passes read each tensor in order, and a file that
    /// is not in the page cache then arrives from disk while the part before it is compared.
    /// - Throws: `.io` naming the file when it cannot be opened or read, or has changed since
    ///   this object was made (see the type's documentation).
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int, prefetch: Bool = false) throws {
        guard count > 0 else { return }
        let fd: Int32
        do { fd = try Self.open(openPath, path) } catch ModelTreeError.io(let reason) {
            throw ModelTreeError.io("\(reason) (it was there when the model was opened)")
        }
        defer { close(fd) }
        var done = 0
        while done < count {
            let got = pread(fd, buffer + done, count - done, off_t(offset + done))
            if got > 0 {
                done += got
            } else if got == 0 {
                break                                   // end of file: checked below
            } else if errno != EINTR {
                throw posixError(path)
            }
        }
        // Checked after the read: bytes read while the file was being changed are caught too.
        try checkUnchanged(fd)
        guard done == count else {                      // cannot happen to an unchanged file
            throw ModelTreeError.io("\(path): ends at byte \(offset + done), inside a tensor it held when opened")
        }
        if prefetch && offset + count < identity.size {
            _ = posix_fadvise(fd, off_t(offset + count), off_t(Swift.min(count, identity.size - offset - count)), POSIX_FADV_WILLNEED)
        }
    }

    /// `count` bytes at `offset`, as an array (a header, an index).
    func bytes(count: Int, at offset: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress { try read(into: base, count: count, at: offset) }
            initialized = count
        }
    }

    /// The whole file, which must be at most `limit` bytes.
    func readAll(limit: Int, tooLarge: (Int) -> ModelTreeError) throws -> [UInt8] {
        guard size <= limit else { throw tooLarge(size) }
        return try bytes(count: size, at: 0)
    }

    private func checkUnchanged(_ fd: Int32) throws {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw posixError(path) }
        let now = Identity(info)
        guard now != identity else { return }
        let what: String
        if now.device != identity.device || now.inode != identity.inode {
            what = "was replaced by another file"
        } else if now.size < identity.size {
            what = "was truncated from \(identity.size) to \(now.size) bytes"
        } else if now.size > identity.size {
            what = "grew from \(identity.size) to \(now.size) bytes"
        } else {
            what = "was rewritten (its modification time changed)"
        }
        throw ModelTreeError.io("\(path): \(what) while it was being read")
    }

    /// `open(2)` for reading. O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
    /// writer forever (a hostile folder can name one as a shard); `fstat` then refuses it. No
    /// effect on a regular file.
    private static func open(_ openPath: String, _ path: String) throws -> Int32 {
        while true {
            let fd = Glibc.open(openPath, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            if fd >= 0 { return fd }
            if errno != EINTR { throw posixError(path) }
        }
    }
}

/// The one place a failed C call becomes an error: `.io("<path>: <strerror(errno)>")`.
/// Call it right after the failing call, before anything can overwrite `errno`.
func posixError(_ path: String, errno code: Int32 = errno) -> ModelTreeError {
    .io("\(path): \(String(cString: strerror(code)))")
}

/// A file as it was when a model was read: an index keeps it per model file so that `verify`
/// can say which files changed or vanished since (size, modification time, or another file at
/// the path).
public struct FileIdentity: Equatable, Sendable {
    /// The absolute path.
    public var path: String
    public var size: Int
    /// Modification time in nanoseconds since the epoch.
    public var modified: Int
    public var device: UInt
    public var inode: UInt

    public init(path: String, size: Int, modified: Int, device: UInt, inode: UInt) {
        self.path = path; self.size = size; self.modified = modified; self.device = device; self.inode = inode
    }

    /// The file at `path` now (following links), or nil when it cannot be stat'ed.
    public static func current(_ path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileIdentity(path: path, size: Int(info.st_size),
                            modified: Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec),
                            device: UInt(info.st_dev), inode: UInt(info.st_ino))
    }

    /// How the file at the same path differs from this one now, in a few words; nil if it is
    /// unchanged.
    public func change() -> String? {
        guard let now = Self.current(path) else { return "vanished" }
        if now.device != device || now.inode != inode { return "replaced by another file" }
        if now.size != size { return "size changed from \(size) to \(now.size) bytes" }
        if now.modified != modified { return "rewritten (its modification time changed)" }
        return nil
    }
}
