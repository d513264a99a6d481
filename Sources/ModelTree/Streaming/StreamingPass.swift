import ModelTreeKernels

/// The one streaming driver every pass over the weights runs on (the pairwise statistics, the
/// tensor moments, and later the signatures of an index): it cuts a tensor into segments, spreads
/// them over a pool of threads with scratch of their own, and hands the per-segment results back
/// on the caller's thread in segment order — so that whatever a pass reduces comes out the same,
/// bit for bit, whatever the thread count.
///
/// A pass reads weights only through `Worker.decode`, that is through the tensor's
/// `TensorSource`: the driver knows nothing of files, dtypes or encodings, and a new source needs
/// nothing from it. The ranges it asks for start at multiples of `TensorView.rangeAlignment`
/// (segments are multiples of it, and so are blocks: `blockSize` is a power of two ≥ 256).
///
/// Memory: per thread, the cursors' staging buffers and the decoded blocks (`Worker`); and the
/// partial results of at most `maxBatch` segments per lane in flight.
struct StreamingPass {
    /// Floats of padding after each decoded row (`Worker.stride`).
    static let rowPad = Int(MTK_ROW_PAD)
    /// Elements per segment: the unit of parallel work and of the deterministic reduction.
    static let segmentSize = 65_536
    /// Segments in flight at once: 1M elements of every model.
    static let maxBatch = 16

    /// One thread's scratch: `slots` cursors (each with a staging buffer of `stagingBytes`) and
    /// `rows` decoded blocks of `block` floats, `stride` floats apart, plus `doubles` of scratch.
    ///
    /// `@unchecked Sendable`: a worker holds raw buffers, and is used by one thread at a time —
    /// `parallelForEach` gives worker index w to exactly one thread, and the pass reads the
    /// workers again only after every thread was joined.
    final class Worker: @unchecked Sendable {
        let block: Int
        /// Floats from one row to the next: the block and `MTK_ROW_PAD` more, so that rows a
        /// power of two long do not all fall into the same L1 sets while a kernel's register
        /// tile reads several of them (bench/kernels/README.md).
        let stride: Int
        /// The pass's kernels (the same for every worker).
        let kernels: KernelSet
        private let cursors: [TensorCursor]
        private let floats: UnsafeMutablePointer<Float>
        /// Scratch for a pass's own use (the pair kernel's per-block sums).
        let doubles: UnsafeMutablePointer<Double>

        init(slots: Int, stagingBytes: Int, rows: Int, block: Int, doubles: Int, kernels: KernelSet) {
            self.block = block
            stride = block + StreamingPass.rowPad
            self.kernels = kernels
            cursors = (0..<slots).map { _ in TensorCursor(capacity: stagingBytes, kernels: kernels) }
            floats = .allocate(capacity: Swift.max(1, rows * stride))
            self.doubles = .allocate(capacity: Swift.max(1, doubles))
        }

        deinit { floats.deallocate(); doubles.deallocate() }

        /// Decoded block `row` (`block` floats; rows are `stride` floats apart).
        func row(_ row: Int) -> UnsafeMutablePointer<Float> { floats + row * stride }

        /// Decodes `range` of `view` into block `row`, through the cursor of `slot`.
        func decode(_ view: TensorView, slot: Int, _ range: Range<Int>, into row: Int) throws {
            try view.source.decode(range, into: self.row(row), cursor: cursors[slot])
        }

        /// Asks the caches for the stored bytes the cursor of `slot` expects to decode next: the
        /// range after the last one it decoded (`TensorCursor.prefetch`). No read, no change to
        /// any result.
        func prefetch(slot: Int) {
            cursors[slot].prefetch()
        }

        /// Decodes the grid steps of `range` of `view` (`TensorSource.decodeSteps`) into block `row`.
        func decodeSteps(_ view: TensorView, slot: Int, _ range: Range<Int>, into row: Int) throws {
            try view.source.decodeSteps(range, into: self.row(row), cursor: cursors[slot])
        }

        /// Starts a unit of work over `range`: the cursors read nothing outside it.
        fileprivate func begin(_ range: Range<Int>) {
            for c in cursors { c.window = range }
        }
    }

    let threads: Int
    /// The vector kernels every unit of work runs (`KernelSet.active` unless a test forces one).
    let kernels: KernelSet
    let workers: [Worker]

    /// - Parameters:
    ///   - threads: worker threads (the caller's is one of them).
    ///   - slots: cursors per thread (one per model a unit of work reads).
    ///   - stagingBytes: bytes of file reads each cursor holds at a time.
    ///   - rows, block: decoded blocks per thread, and their length in elements.
    ///   - doubles: extra scratch per thread.
    ///   - kernels: the vector kernels the units run.
    init(threads: Int, slots: Int, stagingBytes: Int, rows: Int, block: Int, doubles: Int = 0,
         kernels: KernelSet = .active) {
        self.threads = Swift.max(1, threads)
        self.kernels = kernels
        workers = (0..<self.threads).map { _ in
            Worker(slots: slots, stagingBytes: stagingBytes, rows: rows, block: block, doubles: doubles, kernels: kernels)
        }
    }

    /// Streams one tensor of `count` elements in `lanes` independent lanes (one per model for a
    /// pass that reads models apart; 1 for a pass that reads every model in each unit).
    ///
    /// Each unit of work is a lane and a segment; `unit` computes its partial result on some
    /// thread, with that thread's worker; `reduce` receives the partials on the caller's thread,
    /// for each segment in order, lane by lane.
    /// - Throws: what `unit` throws (the lowest failing unit's error, whatever the thread count)
    ///   or `reduce` throws.
    func stream<Partial: Sendable>(count: Int, lanes: Int = 1,
                                   unit: @Sendable (_ lane: Int, _ range: Range<Int>, _ worker: Worker) throws -> Partial,
                                   reduce: (_ lane: Int, _ partial: Partial) throws -> Void) throws {
        let segmentSize = Self.segmentSize
        let segments = (count + segmentSize - 1) / segmentSize
        let workers = self.workers
        var first = 0
        while first < segments {
            let batch = Swift.min(Self.maxBatch, segments - first)
            var parts = [Partial?](repeating: nil, count: lanes * batch)
            let firstSegment = first
            try parts.withUnsafeMutableBufferPointer { buffer in
                // Each unit writes its own slot; the caller reads them after every thread joined.
                nonisolated(unsafe) let out = buffer.baseAddress!
                try parallelForEach(lanes * batch, threads: threads) { item, w in
                    let lane = item / batch, segment = firstSegment + item % batch
                    let start = segment * segmentSize
                    let range = start..<Swift.min(count, start + segmentSize)
                    workers[w].begin(range)
                    out[item] = try unit(lane, range, workers[w])
                }
            }
            for k in 0..<batch {
                for lane in 0..<lanes { try reduce(lane, parts[lane * batch + k]!) }
            }
            first += batch
        }
    }
}
