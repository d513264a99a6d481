/// Int8 exports that were dequantised and saved back as F32: their values lie on a grid of
/// integers times a scale, which their storage type does not show (`QuantizedCopies` tests only
/// models stored coarser than F32 otherwise).
///
/// Real exporters scale symmetric int8 three ways, all `s = absmax / 127` of the group and
/// `q = round(w / s)` clamped to ±127: per tensor (`torch.quantize_per_tensor`, TensorRT's
/// default), per row — the output channel of a Linear weight — (bitsandbytes' LLM.int8 CB/SCB,
/// onnxruntime's per-channel `quantize_static`, zoo 1's `lm-a-int8`) and per block of 32
/// consecutive elements of a row (GGUF Q8_0, whose F16 scale is `absmax / 127` too, so that the
/// block's largest element is ±127 steps exactly). Dequantised, every element of a group is
/// `q · s`: at most 255 values, and `w / s` an integer up to F32 rounding (|q| · 2^-23 steps).
///
/// The test, per tensor: at the granularity that explains it best, the share of its informative
/// elements (neither 0 nor ± the group's largest magnitude, which every grid holds) within
/// `tolerance` of the group's grid. Measured (issue 12, numpy over the files, the same rule):
/// zoo 1's `lm-a-int8` has 3072 of its 3840 rows on the row grid — 28 of its 30 matrices at
/// share 1.000 (every decoder Linear; embeddings and `lm_head` were kept F32, at 0.0015–0.0035),
/// its best block share 0.52 and tensor share 0.04; its F32 parent `lm-a` and F32 fine-tune
/// `lm-a-light` have no row of 3840, no block of 9234, no tensor of 39 on a grid, and shares of
/// 0.0010–0.0040 at every granularity (2 · `tolerance`, the chance of an arbitrary value).
/// Synthetic 256 × 512 Laplace and Gaussian matrices rounded per tensor, per row and per Q8_0
/// block (F16 scale) reach 1.000 at their own granularity and 0.0002–0.065 at the others; the
/// originals and a fine-tune of them 0.0017–0.0022. `minimumShare` 0.99 sits far from both
/// (`Tests/ModelTreeTests/IntegerGridTests.swift` builds such matrices).
enum IntegerGrids {
    /// How far from an integer number of steps an element may be and still be on the grid:
    /// F32 rounding of `q · s` and of `absmax / 127` moves it by at most ~127 · 2^-23 ≈ 2e-5
    /// steps; an element off the grid lands this close by chance with probability 2e-3.
    static let tolerance: Float = 1e-3

    /// The share of a tensor's informative elements on the grid that puts the tensor on it.
    static let minimumShare = 0.99

    /// The fewest informative elements a tensor needs for its share to count: with fewer, a
    /// tensor of a handful of distinct values (a norm's ones, a bias at zero) is on every grid.
    static let minimumInformative = 64

    /// Elements of each tensor the screen reads (`find`): an F32 model that is no int8 export
    /// fails every hypothesis on them, so only exports are read whole.
    static let screenElements = 4_096

    /// Elements one read decodes while a tensor is tested whole.
    static let chunk = 1 << 16

    /// On-grid and informative elements of one test.
    struct Count: Equatable {
        var onGrid = 0
        var informative = 0
        var share: Double { informative == 0 ? 0 : Double(onGrid) / Double(informative) }
        mutating func add(_ other: Count) {
            onGrid += other.onGrid
            informative += other.informative
        }
    }

    /// Counts the elements of `values` (`n` of them, whole groups of `group`) on each group's grid
    /// `k · s`, s = `scale` or the group's largest magnitude / 127, |k| ≤ 127; `steps` is handed
    /// each group's s in order.
    static func count(_ values: UnsafeBufferPointer<Float>, group: Int, scale: Float? = nil,
                      steps: ((Float) -> Void)? = nil) -> Count {
        var result = Count()
        var start = 0
        while start < values.count {
            let end = Swift.min(values.count, start + group)
            var largest: Float = 0
            if scale == nil { for k in start..<end { largest = Swift.max(largest, abs(values[k])) } }
            let step = scale ?? largest / 127
            steps?(step)
            if step > 0 && step.isFinite {
                let edge = scale == nil ? largest : 127 * step
                for k in start..<end {
                    let v = values[k], a = abs(v)
                    guard v != 0, a < edge, a.isFinite else { continue }
                    let q = v / step
                    result.informative += 1
                    result.onGrid += abs(q - q.rounded()) <= tolerance ? 1 : 0
                }
            }
            start = end
        }
        return result
    }

    /// A tensor found on a grid: the granularity (elements per scale) and the scales.
    struct Grid: Equatable {
        var group: Int
        var scales: [Float]
        var share: Double
        /// The RMS of the tensor's values.
        var valueRMS: Double
    }

    /// The granularities a tensor of `shape` is tested at, as group lengths: a row (the last
    /// dimension, for more than one dimension) and a block of 32 when rows are whole blocks; the
    /// whole tensor separately (it needs its largest magnitude first).
    static func groups(shape: [Int]) -> [Int] {
        let count = shape.contains(0) ? 0 : shape.reduce(1, *)
        let row = shape.count > 1 ? shape.last! : count
        var result: [Int] = []
        if row > 0 && row < count { result.append(row) }
        if row % 32 == 0 && row > 32 || (row == count && count % 32 == 0 && count > 32) { result.append(32) }
        return result
    }

    /// Whether the first elements of `tensor` (`screenElements`, whole rows) could lie on some
    /// grid: a row or block hypothesis with all its informative elements on the grid, or, for the
    /// whole-tensor grid and rows longer than the screen, at most 255 distinct values.
    static func screen(_ tensor: TensorView) throws -> Bool {
        let prefix = Swift.min(tensor.count, screenElements)
        guard prefix > 0 else { return false }
        var values = [Float](repeating: 0, count: prefix)
        try values.withUnsafeMutableBufferPointer { try tensor.decode(0..<prefix, into: $0.baseAddress!) }
        for group in groups(shape: tensor.shape) where group <= prefix {
            let whole = prefix / group * group
            let c = values.withUnsafeBufferPointer { count(UnsafeBufferPointer(rebasing: $0[..<whole]), group: group) }
            if c.informative > 0 && c.onGrid == c.informative { return true }
        }
        return Set(values.map(\.bitPattern)).count <= 255 + 1      // 0 and ±127 · s among them
    }

    /// The grid `tensor` lies on, nil when none: each granularity of `groups` measured in one
    /// read (with the tensor's largest magnitude), then the whole-tensor grid in a second read.
    static func grid(_ tensor: TensorView) throws -> Grid? {
        let n = tensor.count
        let candidates = groups(shape: tensor.shape)
        var counts = [Count](repeating: Count(), count: candidates.count)
        var scales = [[Float]](repeating: [], count: candidates.count)
        var largest: Float = 0
        var squares = 0.0
        // Chunks of whole rows and blocks: a multiple of every group length.
        let unit = candidates.reduce(1) { lcm($0, $1) }
        let step = Swift.max(unit, chunk / unit * unit)
        var buffer = [Float](repeating: 0, count: Swift.min(n, step))
        try read(tensor, chunk: step, into: &buffer) { values in
            for (k, group) in candidates.enumerated() {
                counts[k].add(count(values, group: group) { scales[k].append($0) })
            }
            for v in values {
                largest = Swift.max(largest, abs(v))
                squares += Double(v) * Double(v)
            }
        }
        let valueRMS = (squares / Double(Swift.max(1, n))).squareRoot()
        var best: Grid?
        for k in candidates.indices where counts[k].informative >= minimumInformative && counts[k].share >= minimumShare {
            if best.map({ counts[k].share > $0.share }) ?? true {
                best = Grid(group: candidates[k], scales: scales[k], share: counts[k].share, valueRMS: valueRMS)
            }
        }
        if best != nil { return best }
        let s = largest / 127
        var whole = Count()
        try read(tensor, chunk: step, into: &buffer) { whole.add(count($0, group: $0.count, scale: s)) }
        guard whole.informative >= minimumInformative, whole.share >= minimumShare else { return nil }
        return Grid(group: Swift.max(1, n), scales: [s], share: whole.share, valueRMS: valueRMS)
    }

    /// `tensor` decoded in pieces of `chunk` elements, each handed to `body`.
    private static func read(_ tensor: TensorView, chunk: Int, into buffer: inout [Float],
                             _ body: (UnsafeBufferPointer<Float>) -> Void) throws {
        var start = 0
        while start < tensor.count {
            let end = Swift.min(tensor.count, start + chunk)
            try buffer.withUnsafeMutableBufferPointer { b in
                try tensor.decode(start..<end, into: b.baseAddress!)
                body(UnsafeBufferPointer(rebasing: b[..<(end - start)]))
            }
            start = end
        }
    }

    private static func lcm(_ a: Int, _ b: Int) -> Int {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return a / x * b
    }

    /// `model` with each of `tensors` that lies on an int8 grid read through a `ScaledGrid`, and
    /// the relative rounding of its coarsest such tensor (half the RMS step over the RMS value);
    /// nil when none does. Only tensors stored as F32 or F64 are tested (a coarser storage has
    /// grid steps of its own), each first on its `screenElements` (`screen`).
    static func regridded(_ model: Model, tensors: [String]) throws -> (model: Model, rounding: Double)? {
        var replaced: [String: TensorView] = [:]
        var rounding = 0.0
        for name in tensors {
            guard let t = model.tensor(named: name), t.isWeight, t.unitRoundoff <= DType.f32.unitRoundoff,
                  t.count >= minimumInformative, try screen(t), let g = try grid(t) else { continue }
            replaced[name] = TensorView(name: name, shape: t.shape, source: ScaledGrid(base: t, group: g.group, scales: g.scales))
            let steps = g.scales.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(g.scales.count)
            if g.valueRMS > 0 { rounding = Swift.max(rounding, 0.5 * steps.squareRoot() / g.valueRMS) }
        }
        guard !replaced.isEmpty else { return nil }
        return (try model.replacingTensors(model.tensors.map { replaced[$0.name] ?? $0 }), rounding)
    }
}
