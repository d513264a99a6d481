/// Per-model moments of whole tensors, on `StreamingPass`: one lane per model, segments spread
/// over the threads, vector sums (`Moments.addFast`), partials merged in segment order (results
/// independent of the thread count).
enum TensorMoments {
    /// Elements decoded at once into a worker's block.
    static let block = 8_192

    /// - Returns: `moments[t][m]` for tensor `tensorNames[t]` of model `models[m]`.
    /// - Parameter progress: called on the caller's thread after each tensor; throws to stop.
    /// - Throws: what `progress` throws; `.io` when a file cannot be read or has changed.
    static func gather(models: [Model], tensorNames: [String], threads: Int = defaultThreadCount,
                       kernels: KernelSet = .active, progress: (Double) throws -> Void) throws -> [[Moments]] {
        let n = models.count
        // Per thread: one cursor that stages a whole segment (up to 8 bytes per element), one block.
        let pass = StreamingPass(threads: threads, slots: 1, stagingBytes: StreamingPass.segmentSize * 8,
                                 rows: 1, block: block, kernels: kernels)
        var result: [[Moments]] = []
        for (t, name) in tensorNames.enumerated() {
            let views = models.map { $0.tensor(named: name)! }
            var moments = try views.map { Moments(shift: try initialShift($0)) }
            let shifts = moments.map(\.center)
            try pass.stream(count: views[0].count, lanes: n, unit: { m, range, worker in
                var part = Moments(shift: shifts[m])
                var s = range.lowerBound
                while s < range.upperBound {
                    let len = Swift.min(worker.block, range.upperBound - s)
                    try worker.decode(views[m], slot: 0, s..<(s + len), into: 0)
                    part.addFast(worker.row(0), count: len, kernels: worker.kernels)
                    s += len
                }
                return part
            }, reduce: { m, part in moments[m].merge(part) })
            result.append(moments)
            try progress(Double(t + 1) / Double(tensorNames.count))
        }
        return result
    }

    /// The shift of a tensor's moments: the mean of its first (up to 4,096) finite values, as a
    /// Float so that the SIMD kernel subtracts it exactly.
    static func initialShift(_ view: TensorView) throws -> Double {
        let k = Swift.min(view.count, 4_096)
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(k, 1))
        defer { tmp.deallocate() }
        try view.decode(0..<k, into: tmp)
        var sum = 0.0, finite = 0
        for i in 0..<k where tmp[i].isFinite { sum += Double(tmp[i]); finite += 1 }
        return Double(Float(finite > 0 ? sum / Double(finite) : 0))
    }
}
