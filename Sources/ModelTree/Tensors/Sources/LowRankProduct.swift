/// An unmerged LoRA update, ΔW = B·A·scale (or its transpose), under the base's tensor name,
/// computed for the rows a pass asks for (`LoRAPair.deltaRows`) from A and B, which are small
/// (rank × a dimension) and decoded whole per call — the update is never materialised. `plus`,
/// when set, is a full tensor the adapter also saves for that module (`modules_to_save`): the
/// view is then that tensor plus the update.
struct LowRankProduct: TensorSource {
    let pair: LoRAPair
    let a: TensorView, b: TensorView
    let plus: TensorView?

    var isWeight: Bool { true }
    var unitRoundoff: Double { Swift.max(a.unitRoundoff, b.unitRoundoff, plus?.unitRoundoff ?? 0) }
    var typeName: String { "LoRA r=\(pair.rank) (\(a.typeName))" }

    /// A product B·A·scale lies on no storage grid: 0.
    func decodeSteps(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        target.update(repeating: 0, count: range.count)
    }

    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        guard !range.isEmpty else { return }
        func whole(_ view: TensorView, _ k: Int) throws -> [Float] {
            let operand = cursor.operand(k)
            operand.window = 0..<view.count
            return try [Float](unsafeUninitializedCapacity: view.count) { buffer, initialized in
                if let base = buffer.baseAddress { try view.source.decode(0..<view.count, into: base, cursor: operand) }
                initialized = view.count
            }
        }
        let av = try whole(a, 0), bv = try whole(b, 1)
        let rowLength = pair.shape.dropFirst().reduce(1, *)
        let first = range.lowerBound / rowLength, end = (range.upperBound + rowLength - 1) / rowLength
        var rows = [Float](repeating: 0, count: (end - first) * rowLength)
        av.withUnsafeBufferPointer { a in
            bv.withUnsafeBufferPointer { b in
                rows.withUnsafeMutableBufferPointer { pair.deltaRows(first..<end, a: a, b: b, into: $0.baseAddress!) }
            }
        }
        let skip = range.lowerBound - first * rowLength
        rows.withUnsafeBufferPointer { (target).update(from: $0.baseAddress! + skip, count: range.count) }
        if let plus {
            let extra = cursor.operand(2)
            extra.window = cursor.window
            var full = [Float](repeating: 0, count: range.count)
            try full.withUnsafeMutableBufferPointer { try plus.source.decode(range, into: $0.baseAddress!, cursor: extra) }
            for i in 0..<range.count { target[i] += full[i] }
        }
    }
}
