/// Every failure the engine reports. Each case maps one-to-one onto a `modeltree_status_t` value of
/// `include/modeltree.h`, and carries the one-line message a user sees.
public enum ModelTreeError: Error, Equatable, CustomStringConvertible {
    /// The caller passed something that can never work (an empty collection, a bad option).
    case invalidArgument(String)
    /// The file system refused: a path that does not exist, a read that failed.
    case io(String)
    /// A checkpoint or JSON file is malformed.
    case format(String)
    /// The models cannot be compared (no tensor in common, …).
    case incompatibleModels(String)
    /// An allocation the engine needed was refused or would exceed a limit.
    case outOfMemory(String)
    /// The progress callback asked to stop.
    case cancelled
    /// A bug in the engine: an invariant did not hold.
    case `internal`(String)

    public var message: String {
        switch self {
        case .invalidArgument(let m), .io(let m), .format(let m), .incompatibleModels(let m),
             .outOfMemory(let m), .internal(let m):
            return m
        case .cancelled:
            return "cancelled by the progress callback"
        }
    }

    public var description: String { message }
}
