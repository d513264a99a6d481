/// A view whose elements are its operand's, in another order (`PermutedRows`, `Transposed`):
/// the same gathering serves the values and the grid steps, and the operand's kind is its own.
protocol Rearranged: TensorSource {
    var base: TensorView { get }
    /// Reads `range` of the view through `read` of ranges of `base` (values or steps), each
    /// read with the cursor it is given.
    func gather(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor,
                _ read: (Range<Int>, UnsafeMutablePointer<Float>, TensorCursor) throws -> Void) throws
}

extension Rearranged {
    var isWeight: Bool { base.isWeight }
    var unitRoundoff: Double { base.unitRoundoff }
    var typeName: String { base.typeName }

    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        try gather(range, into: target, cursor: cursor) { try base.source.decode($0, into: $1, cursor: $2) }
    }

    func decodeSteps(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        try gather(range, into: target, cursor: cursor) { try base.source.decodeSteps($0, into: $1, cursor: $2) }
    }
}
