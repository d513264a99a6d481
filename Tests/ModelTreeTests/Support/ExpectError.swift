import Testing
@testable import ModelTree

enum ErrorKind: String { case format, io, invalidArgument, incompatibleModels, outOfMemory }

/// Expects `body` to throw a `ModelTreeError` of `kind` whose message contains every fragment,
/// so each hostile input is shown to fail for its own reason, not merely to fail.
func expectError(_ kind: ErrorKind, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected a \(kind) error mentioning \(fragments), got success", sourceLocation: sourceLocation)
    } catch let error as ModelTreeError {
        let actual: ErrorKind?
        switch error {
        case .format: actual = .format
        case .io: actual = .io
        case .invalidArgument: actual = .invalidArgument
        case .incompatibleModels: actual = .incompatibleModels
        case .outOfMemory: actual = .outOfMemory
        default: actual = nil
        }
        if actual != kind {
            Issue.record("expected a \(kind) error, got \(error)", sourceLocation: sourceLocation)
        }
        for fragment in fragments where !error.message.contains(fragment) {
            Issue.record("message \"\(error.message)\" does not mention \"\(fragment)\"", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a ModelTreeError, got \(error)", sourceLocation: sourceLocation)
    }
}
