import Glibc
import ModelTree

/// Test artifacts (pictures, screenshots) go to `$MODELTREE_ARTIFACTS` or `.build/test-artifacts`,
/// where a person or CI can look at them after the run.
enum Artifacts {
    static var directory: String {
        let dir = getenv("MODELTREE_ARTIFACTS").map { String(cString: $0) } ?? SampleDrawings.root + "/.build/test-artifacts/render"
        var path = ""
        for part in dir.split(separator: "/") {
            path += "/" + part
            mkdir(path, 0o755)
        }
        return dir
    }

    /// Writes `text` to `name` in the artifacts directory and returns its path.
    @discardableResult
    static func write(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        guard let f = fopen(path, "wb") else { throw ModelTreeError.io("cannot write \(path)") }
        defer { fclose(f) }
        let bytes = Array(text.utf8)
        guard fwrite(bytes, 1, bytes.count, f) == bytes.count else { throw ModelTreeError.io("short write to \(path)") }
        return path
    }
}
