import Glibc

/// The few file-system questions the loader asks, over Glibc (the core does not use Foundation).
enum FileSystem {
    enum Kind { case file, directory, other }

    /// What `path` is, following symbolic links (Hugging Face caches link blobs into snapshots).
    /// - Throws: `ModelTreeError.io` when it cannot be stat'ed (for example, it does not exist).
    static func kind(of path: String) throws -> Kind {
        var info = stat()
        guard stat(path, &info) == 0 else { throw posixError(path) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// The names in a directory, sorted, without `.`, `..` and hidden entries (names starting
    /// with a dot: `.cache`, `.git`, macOS `._*` files are never models). Names that are not
    /// valid UTF-8 are skipped: a Swift `String` could not name them faithfully.
    static func list(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { throw posixError(directory) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: $0.pointee)) {
                    String(validatingCString: $0)
                }
            }
            if let name, !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }

    /// The process's working directory (`getcwd`).
    /// - Throws: `ModelTreeError.io` when it cannot be determined (removed, or too long).
    static func currentDirectory() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { throw posixError("the working directory") }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// `directory` + "/" + `name`, without doubling a trailing slash.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The folder holding `path` ("a/b/c" → "a/b", "c" → ".", "/c" → "/").
    static func parent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// The last path component, trailing slashes ignored ("a/b/" → "b", "/" → "/").
    static func lastComponent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard trimmed != "/", let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }
}
