/// Per-model moments of whole tensors, streamed as `PairwiseStatistics` streams them: segments of
/// every model spread over the cores, SIMD sums (`Moments.addFast`), partials merged in segment
/// order (results independent of the thread count).
enum TensorMoments {
    /// - Returns: `moments[t][m]` for tensor `tensorNames[t]` of model `models[m]`.
    /// - Parameter progress: called on the caller's thread after each tensor; throws to stop.
    /// - Throws: what `progress` throws; `.io` when a file cannot be read or has changed.
    static func gather(models: [Model], tensorNames: [String], threads: Int = defaultThreadCount(),
                       progress: (Double) throws -> Void) throws -> [[Moments]] {
        let n = models.count
        let segmentSize = PairwiseStatistics.segmentSize, maxBatch = 16, block = 8_192
        // Per thread: one segment's raw bytes (up to 8 per element) and one decoded block.
        let workers = Swift.max(1, threads)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: workers * segmentSize * 8, alignment: 64)
        let floats = UnsafeMutablePointer<Float>.allocate(capacity: workers * block)
        defer { raw.deallocate(); floats.deallocate() }
        nonisolated(unsafe) let rawBuffers = raw
        nonisolated(unsafe) let floatBuffers = floats
        var result: [[Moments]] = []
        for (t, name) in tensorNames.enumerated() {
            let views = models.map { $0.tensor(named: name)! }
            var moments = try views.map { Moments(shift: try initialShift($0)) }
            let shifts = moments.map(\.center)
            let count = views[0].count
            let segments = (count + segmentSize - 1) / segmentSize
            var first = 0
            while first < segments {
                let batch = Swift.min(maxBatch, segments - first)
                var parts = [Moments](repeating: Moments(), count: n * batch)
                try parts.withUnsafeMutableBufferPointer { buf in
                    nonisolated(unsafe) let out = buf.baseAddress!
                    try parallelForEach(n * batch, threads: threads) { item, worker in
                        let m = item / batch, seg = first + item % batch
                        let v = views[m]
                        let start = seg * segmentSize, end = Swift.min(count, start + segmentSize)
                        let source = try v.bytes(start..<end, buffer: rawBuffers + worker * segmentSize * 8, prefetch: true)
                        let buffer = floatBuffers + worker * block
                        var part = Moments(shift: shifts[m])
                        var s = start
                        while s < end {
                            let len = Swift.min(block, end - s)
                            v.dtype.decode(source + (s - start) * v.dtype.size, count: len, into: buffer)
                            part.addFast(buffer, count: len)
                            s += len
                        }
                        out[item] = part
                    }
                }
                for m in 0..<n { for k in 0..<batch { moments[m].merge(parts[m * batch + k]) } }
                first += batch
            }
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
