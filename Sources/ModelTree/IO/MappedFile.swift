import Glibc

/// A whole file mapped read-only into memory, unmapped when the object dies.
///
/// Checkpoints are read through mappings rather than `read(2)` so that a collection of
/// multi-gigabyte models costs address space, not resident memory, and tensor bytes are used in
/// place (the safetensors format is designed for this zero-copy use). `MAP_PRIVATE` because we
/// never write; a file truncated by another process while mapped raises SIGBUS on access, as it
/// does for every mmap-based reader.
final class MappedFile {
    let path: String
    /// The file's bytes; empty (nil base) for an empty file, which cannot be mapped.
    let bytes: UnsafeRawBufferPointer

    /// - Throws: `ModelTreeError.io("<path>: <reason>")` when the file cannot be opened, is not a
    ///   regular file, or cannot be mapped.
    init(path: String) throws {
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever (a
        // hostile folder can name one as a shard); fstat then refuses it. No effect on a regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw posixError(path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw posixError(path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ModelTreeError.io("\(path): \(info.st_mode & S_IFMT == S_IFDIR ? "is a directory" : "not a regular file")")
        }
        let size = Int(info.st_size)
        guard size > 0 else {
            self.path = path
            self.bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              base != UnsafeMutableRawPointer(bitPattern: -1) /* MAP_FAILED */ else {
            throw posixError(path)
        }
        self.path = path
        self.bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}

/// The one place a failed C call becomes an error: `.io("<path>: <strerror(errno)>")`.
/// Call it right after the failing call, before anything can overwrite `errno`.
func posixError(_ path: String, errno code: Int32 = errno) -> ModelTreeError {
    .io("\(path): \(String(cString: strerror(code)))")
}
