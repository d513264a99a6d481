import ModelTreeKernels

/// How the elements of one tensor are produced: the single interface through which every pass
/// reads weights (`StreamingPass`, `TensorView.decode`, the rank sketches). A reader wraps what
/// it found in a source; nothing downstream sees files, dtypes or encodings.
///
/// Today's source is `StoredElements`: little-endian F64/F32/F16/BF16 elements (and the integer
/// types of safetensors, which are not weights) in a file or in memory a caller lends. A new
/// format adds a source in `Tensors/Sources/<Name>.swift` and touches nothing else:
/// - a block-quantized encoding (GGUF Q8_0, Q4_K …: blocks of B = 32 or 256 elements stored in
///   S bytes) reads whole blocks through `TensorStorage.staged` and decodes them. The passes ask
///   for ranges that start at multiples of `TensorView.rangeAlignment` (256 elements) and end at
///   one or at the tensor's end, so their ranges always cover whole blocks; `TensorView.decode`
///   may ask for any range, which such a source serves by decoding the covering blocks into
///   `cursor.scratch(bytes:)` and copying the part asked for.
/// - a computed view decodes a range from other views: a row permutation (GGUF's q/k
///   un-permute), a transpose (ONNX), a strided storage (PyTorch pickles: strides, a storage
///   offset, storages shared between tensors), a low-rank product B·A·scale (an unmerged PEFT
///   adapter), int8 values with a per-tensor or per-axis scale and zero point. It holds its
///   operands as `TensorView`s and decodes them through their own sources with
///   `cursor.operand(k)` (a cursor per operand, so their staged bytes do not evict each other).
///
/// A source is immutable and shared by every thread; the per-thread state is the cursor.
protocol TensorSource: Sendable {
    /// Whether the values are weights a recovery may compare: floating point, or an encoding or
    /// computation of them. False for integers and booleans (step counters, masks, position ids).
    var isWeight: Bool { get }
    /// Half the gap between 1 and the next representable stored value, the relative rounding the
    /// storage adds to each weight (the rank distance must not count it as a difference). For a
    /// computed view, that of its coarsest operand. Meaningful only for weights.
    var unitRoundoff: Double { get }
    /// The stored type's name for messages ("F32", "BF16", later "Q8_0" …).
    var typeName: String { get }
    /// The smallest normal binary exponent of the stored float type, for `decodeSteps`' spacing
    /// (a requirement, so that a source's own value, F16's −14, is the one the default reads).
    var minimumExponent: Int { get }
    /// Decodes the elements in `range` (row-major order of the view's shape, within its count)
    /// into `target`, which holds `range.count` floats. Called only for weights.
    ///
    /// The cursor is the calling thread's own, for this tensor and this unit of work: storage
    /// reads go through it (`TensorStorage.staged`), and must stay inside `cursor.window`, the
    /// elements the unit covers. The passes call with increasing ranges inside one window.
    /// - Throws: `.io` naming the file when it cannot be read or has changed since it was opened.
    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws

    /// The step of the grid the stored values lie on, at each element of `range` (as `decode`):
    /// the gap between the element's value and the next one the storage can hold there, so that
    /// rounding onto the storage moves a value by at most half of it. A float type's spacing at
    /// the value (`FloatGrid`), a GGUF block's (or sub-block's) scale, an int8 weight's scale; 0
    /// where the values lie on no grid of their own (a computed product). What typing an edge
    /// `quantized` reads (`GridEvidence`).
    func decodeSteps(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws

    /// The files the values are read from (none for caller memory; a computed view, its
    /// operands'): an index records them to tell later whether a model's files changed.
    var files: [CheckpointFile] { get }
}

extension TensorSource {
    var files: [CheckpointFile] { [] }

    /// A float storage's steps: the values decoded, then each replaced by the type's spacing
    /// there (`unitRoundoff`; F16's smaller exponent range through `minimumExponent`).
    func decodeSteps(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        try decode(range, into: target, cursor: cursor)
        FloatGrid(unitRoundoff: unitRoundoff, minimumExponent: minimumExponent).steps(target, count: range.count)
    }

    /// The smallest normal exponent of the stored float type (−126 for F32 and BF16).
    var minimumExponent: Int { -126 }
}

/// The representable values of a binary floating-point type: spacing 2u·2^e at a value of
/// binary exponent e (u the unit roundoff), constant below the smallest normal exponent
/// (subnormals).
struct FloatGrid {
    let unitRoundoff: Double
    let minimumExponent: Int

    init(unitRoundoff: Double, minimumExponent: Int) {
        self.unitRoundoff = unitRoundoff
        self.minimumExponent = minimumExponent
    }

    init(_ dtype: DType) { self.init(unitRoundoff: dtype.unitRoundoff, minimumExponent: dtype.minimumExponent) }

    /// Replaces each of `count` values in place by the spacing of the grid there.
    func steps(_ values: UnsafeMutablePointer<Float>, count: Int) {
        let scale = 2 * unitRoundoff
        for k in 0..<count {
            let v = values[k]
            let e = v == 0 || !v.isFinite ? minimumExponent : Swift.max(Int(v.exponent), minimumExponent)
            values[k] = Float(scale * Double(sign: .plus, exponent: e, significand: 1))
        }
    }
}

/// One thread's state for reading one tensor during one unit of work: a staging buffer for the
/// bytes a source reads from storage (so that consecutive blocks a pass decodes come from one
/// read), the window of elements the unit covers (nothing outside it is read, so that two
/// threads never read the same bytes), cursors for a computed source's operands, and scratch.
///
/// Made by the driver once per thread and model slot and reused for every tensor; setting the
/// window forgets what was staged. Never shared between threads.
final class TensorCursor {
    /// Bytes of the staging buffer: a source reads at most this much at once.
    let capacity: Int
    /// The vector kernels a source decodes with (the pass's).
    let kernels: KernelSet
    private let staging: UnsafeMutableRawPointer
    /// What the staging buffer holds: bytes `stagedBytes` of the file `stagedFile`.
    private var stagedFile: ObjectIdentifier?
    private var stagedBytes = 0..<0
    private var operands: [TensorCursor] = []
    private var extra: (pointer: UnsafeMutableRawPointer, bytes: Int)?

    /// The stored bytes that follow the last range decoded through this cursor, as far as it
    /// holds them (`notePrefetch`): what `prefetch()` asks the caches for.
    private var following: (start: UnsafeRawPointer, count: Int)?

    /// The elements the current unit of work covers.
    var window: Range<Int> = 0..<0 {
        didSet { stagedFile = nil; following = nil }
    }

    init(capacity: Int, kernels: KernelSet = .active) {
        self.capacity = Swift.max(capacity, 64)
        self.kernels = kernels
        staging = .allocate(byteCount: self.capacity, alignment: 64)
    }

    deinit {
        staging.deallocate()
        extra?.pointer.deallocate()
    }

    /// Bytes `needed` (offsets in `file`, at most `capacity` of them) from the staging buffer,
    /// reading them when they are not staged yet: a read starts at `needed.lowerBound` and goes
    /// on up to `capacity` bytes, but never past `limit` (the window's end in the file), so that
    /// the next ranges of the window come from the same read. The kernel is asked to fetch the
    /// bytes after the read when the window goes on beyond it.
    func staged(_ file: CheckpointFile, bytes needed: Range<Int>, limit: Int) throws -> UnsafeRawPointer {
        precondition(needed.count <= capacity && needed.upperBound <= limit)
        let id = ObjectIdentifier(file)
        if stagedFile != id || needed.lowerBound < stagedBytes.lowerBound || needed.upperBound > stagedBytes.upperBound {
            let end = Swift.min(limit, needed.lowerBound + capacity)
            stagedFile = nil
            try file.read(into: staging, count: end - needed.lowerBound, at: needed.lowerBound, prefetch: end < limit)
            stagedFile = id
            stagedBytes = needed.lowerBound..<end
        }
        return UnsafeRawPointer(staging + (needed.lowerBound - stagedBytes.lowerBound))
    }

    /// Notes the bytes (staged by this cursor, or lent memory; nil: none at hand) that a pass
    /// will decode next through it.
    func notePrefetch(_ bytes: (start: UnsafeRawPointer, count: Int)?) {
        following = bytes.flatMap { $0.count > 0 ? $0 : nil }
    }

    /// The part of bytes `wanted` (offsets in `file`) that is staged, if any.
    func stagedPart(_ file: CheckpointFile, bytes wanted: Range<Int>) -> (start: UnsafeRawPointer, count: Int)? {
        guard stagedFile == ObjectIdentifier(file) else { return nil }
        let part = wanted.clamped(to: stagedBytes)
        return part.isEmpty ? nil : (UnsafeRawPointer(staging + (part.lowerBound - stagedBytes.lowerBound)), part.count)
    }

    /// Asks the caches for the bytes that follow the last range decoded (`mtk_prefetch`), so
    /// that decoding them later does not wait for memory. Reads nothing, changes no result;
    /// nothing happens when the cursor's source noted none (only stored elements do).
    func prefetch() {
        if let following { mtk_prefetch(following.start, following.count) }
    }

    /// The cursor of a computed source's operand `k`, made on first use with the same capacity
    /// and kernels;
    /// its window is this cursor's window unless the source sets another.
    func operand(_ k: Int) -> TensorCursor {
        while operands.count <= k { operands.append(TensorCursor(capacity: capacity, kernels: kernels)) }
        return operands[k]
    }

    /// At least `bytes` of scratch memory for a source's own use (kept for the cursor's life and
    /// grown on demand; its content does not survive a call that grows it).
    func scratch(bytes: Int) -> UnsafeMutableRawPointer {
        if let extra, extra.bytes >= bytes { return extra.pointer }
        extra?.pointer.deallocate()
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(bytes, 64), alignment: 64)
        extra = (fresh, Swift.max(bytes, 64))
        return fresh
    }
}

/// Where a tensor's stored bytes are: in memory a caller lends, or at an offset of a checkpoint
/// file (read with `pread` through a cursor, never mapped).
///
/// `@unchecked Sendable`: lent memory is only ever read, and the caller promised, when lending
/// it, to keep it valid and unchanged while a model holding it lives.
enum TensorStorage: @unchecked Sendable {
    case memory(UnsafeRawBufferPointer)
    /// At byte `offset` of the file.
    case file(CheckpointFile, offset: Int)

    /// `count` bytes at `offset` (relative to the tensor's first byte), staged in `cursor` for a
    /// file; `limit` (relative too) is how far the current window reaches.
    func bytes(at offset: Int, count: Int, limit: Int, cursor: TensorCursor) throws -> UnsafeRawPointer {
        switch self {
        case .memory(let bytes):
            // A zero-length buffer may have no address: there is nothing to read then.
            guard let base = bytes.baseAddress else { return UnsafeRawPointer(cursor.scratch(bytes: 0)) }
            return base + offset
        case .file(let file, let start):
            return try cursor.staged(file, bytes: (start + offset)..<(start + offset + count), limit: start + limit)
        }
    }

    /// Elements `range` of `elementSize` bytes each, handed to `body` in pieces of at most the
    /// cursor's capacity (the bytes of elements `piece`, which start at `range.lowerBound` or
    /// where the last piece ended). A file is read on to the end of the window when it fits, so
    /// the blocks a pass asks for next are already staged.
    func pieces(_ range: Range<Int>, elementSize: Int, cursor: TensorCursor,
                _ body: (_ bytes: UnsafeRawPointer, _ piece: Range<Int>) throws -> Void) throws {
        let limit = Swift.max(range.upperBound, cursor.window.upperBound) * elementSize
        let piece = Swift.max(1, cursor.capacity / elementSize)
        var start = range.lowerBound
        while start < range.upperBound {
            let end = Swift.min(range.upperBound, start + piece)
            try body(try bytes(at: start * elementSize, count: (end - start) * elementSize, limit: limit, cursor: cursor), start..<end)
            start = end
        }
        // What a pass decodes next, as far as it is at hand: the range of the same length after
        // this one, inside the window (`TensorCursor.prefetch`).
        let next = range.upperBound * elementSize, following = next..<Swift.min(limit, next + range.count * elementSize)
        switch self {
        case .memory(let buffer):
            cursor.notePrefetch(buffer.baseAddress.map { ($0 + next, following.count) })
        case .file(let file, let start):
            cursor.notePrefetch(cursor.stagedPart(file, bytes: (start + following.lowerBound)..<(start + following.upperBound)))
        }
    }

    /// Copies `count` bytes at `offset` (relative to the tensor's first byte) into `buffer`
    /// without staging them (a read larger than a cursor holds); returns `buffer`.
    func copy(at offset: Int, count: Int, into buffer: UnsafeMutableRawPointer) throws -> UnsafeMutableRawPointer {
        switch self {
        case .memory(let bytes):
            if count > 0, let base = bytes.baseAddress { buffer.copyMemory(from: base + offset, byteCount: count) }
        case .file(let file, let start):
            try file.read(into: buffer, count: count, at: start + offset)
        }
        return buffer
    }

    /// The first `count` bytes, as an array.
    func readAll(_ count: Int) throws -> [UInt8] {
        switch self {
        case .memory(let bytes):
            return Array(bytes.prefix(count))
        case .file(let file, let offset):
            return try file.bytes(count: count, at: offset)
        }
    }
}
