/// Lower-precision copies of a model (GGUF of any type, int8 dequantised exports, a BF16/F16
/// cast), found *before* the tree is solved and fixed as leaves of their source.
///
/// Why first: a copy is as near its source one way as the other, and kurtosis cannot tell the
/// direction (issue 12: Q8_0 rounding moves it more than a fine-tune does), so a tree solved with
/// the copies in it can make an F16 export the parent of its source, or hang a fine-tune from a
/// GGUF file — errors a typing after the solve can only patch. The grids decide instead: a model
/// stored coarser than F32 is a copy of the model whose rounding to its own grid it is — nearly
/// every differing element within half a step of its grid from that model (`minimumShare`,
/// `GridEvidence`), that model not so explained by its own grid (or its grid the finer). The copy
/// is a leaf: it leaves the tree solve, and the candidates of merges and parents, and hangs from
/// its source (nothing is fine-tuned from a GGUF file).
enum QuantizedCopies {
    /// The share of the differing elements within half a step of a grid that makes the grid
    /// explain the difference. Chosen on the formats zoo and synthetic casts (the held-out typed
    /// zoo only measures it): every export there reaches 0.995 or more (Q4_0, the coarsest,
    /// lowest: ggml's F16 block scales round after the elements); fine-tunes and merges stored in
    /// BF16 from an F32 parent reach at most 0.35 (TIES and DARE merges leave a third of the
    /// elements at the parent's value, rounded to BF16). 0.9 leaves room on the exports' side for
    /// quantizers that do not round to the nearest level (importance-weighted K-quants).
    static let minimumShare = 0.9

    /// Models nearest a coarse model tested as its source: its own source is the nearest (a
    /// rounding moves it least), other copies of the source and fine-tunes next.
    static let candidates = 3

    /// A pair is first tested on this many elements of each tensor (one segment of the pass);
    /// only pairs where one grid explains at least `screenShare` of the differences there are
    /// read whole. Fine-tunes stored coarse measure at most 0.35 on the whole, exports 0.995: a
    /// screen at 0.5 keeps a BF16 collection from reading every pair again whole.
    static let screenElements = StreamingPass.segmentSize
    static let screenShare = 0.5

    /// `GridEvidence.gather` behind the screen: the fits of screened-out pairs are the screen's.
    static func screenedFits(_ pairs: [(parent: Int, child: Int)], models: [Model], tensors: [String], threads: Int,
                     kernels: KernelSet) throws -> [GridEvidence.Fit] {
        var fits = try GridEvidence.gather(models: models, pairs: pairs, tensorNames: tensors, prefix: screenElements,
                                           threads: threads, kernels: kernels)
        let whole = fits.indices.filter { fits[$0].childShare >= screenShare || fits[$0].parentShare >= screenShare }
        let more = try GridEvidence.gather(models: models, pairs: whole.map { pairs[$0] }, tensorNames: tensors,
                                           threads: threads, kernels: kernels)
        for (k, fit) in zip(whole, more) { fits[k] = fit }
        return fits
    }

    /// One copy: the model, its source and how much of the difference the copy's grid explains;
    /// the next best candidate source and its share (nil, 0 when none other was close enough).
    struct Copy: Equatable {
        var child: Int
        var source: Int
        var share: Double
        var runnerUp: Int? = nil
        var runnerUpShare = 0.0
    }

    /// The copies among `models` (one architecture group, every pair measured): for each model
    /// stored coarser than F32 or holding an int8 grid or BF16/F16 values in F32 (`IntegerGrids`,
    /// `FloatGrids`; its duplicate
    /// group's stand-in only), the `candidates` models
    /// nearest it that are close enough to be its source (`RelationEvidence.withinRounding`) are
    /// tested, and the one whose rounding explains it best (the largest share, then the nearest)
    /// is its source. A source that is itself a copy is followed to its own (a BF16 cast of an
    /// F16 export hangs from the F32 original), so every copy hangs from a model that is not one.
    /// - Parameters:
    ///   - rms: the pass's RMS distances; `storage`: each model's rounding and RMS weight.
    static func find(models: [Model], tensors: [String], rms: SquareMatrix<Double>,
                     storage: [(rounding: Double, weightRMS: Double)], threads: Int, kernels: KernelSet) throws -> [Copy] {
        let n = models.count
        let standIn = Duplicates.standIns(groups: Duplicates.groups(count: n, identical: { rms[$0, $1] == 0 }), count: n)
        var coarse = models.map { storedCoarse($0, tensors: tensors) }
        // An int8 export or a BF16/F16 cast saved back as F32 is coarse too: its grid tensors
        // read with their grid's steps (`IntegerGrids`, `FloatGrids`), its rounding that grid's.
        var models = models, storage = storage
        for c in 0..<n where !coarse[c] && standIn[c] == c {
            guard let (regridded, rounding) = try IntegerGrids.regridded(models[c], tensors: tensors)
                    ?? FloatGrids.regridded(models[c], tensors: tensors) else { continue }
            models[c] = regridded
            storage[c].rounding = Swift.max(storage[c].rounding, rounding)
            coarse[c] = true
        }
        func closeEnough(_ a: Int, _ b: Int) -> Bool { RelationEvidence.withinRounding(storage[a], storage[b], rms: rms[a, b]) }
        var asked: [(source: Int, child: Int)] = []
        for c in 0..<n where coarse[c] && standIn[c] == c {
            let nearest = (0..<n).filter { $0 != c && standIn[$0] == $0 && closeEnough($0, c) }
                .sorted { (rms[$0, c], $0) < (rms[$1, c], $1) }
            asked += nearest.prefix(candidates).map { ($0, c) }
        }
        guard !asked.isEmpty else { return [] }
        let fits = try screenedFits(asked.map { (parent: $0.source, child: $0.child) }, models: models, tensors: tensors,
                                    threads: threads, kernels: kernels)
        var best: [Int: Copy] = [:]
        var shares: [Int: [(source: Int, share: Double)]] = [:]
        for (ask, fit) in zip(asked, fits) { shares[ask.child, default: []].append((ask.source, fit.childShare)) }
        for (ask, fit) in zip(asked, fits) where verdict(fit) == .childQuantized {
            if let b = best[ask.child], b.share >= fit.childShare { continue }     // asked nearest first: ties keep the nearer
            best[ask.child] = Copy(child: ask.child, source: ask.source, share: fit.childShare)
        }
        // The runner-up: the best other candidate that is not itself a copy (another copy of the
        // same source explains the copy as well as the source does, and is no alternative).
        for (c, copy) in best {
            let other = shares[c]!.filter { $0.source != copy.source && best[$0.source] == nil }
                .max { ($0.share, -$0.source) < ($1.share, -$1.source) }
            best[c]?.runnerUp = other?.source
            best[c]?.runnerUpShare = other?.share ?? 0
        }
        // Follow sources that are copies themselves; a cycle (which the verdicts' grid order
        // rules out) would end at the model met twice, kept as a source.
        var result: [Copy] = []
        for c in best.keys.sorted() {
            var copy = best[c]!
            var seen: Set<Int> = [c]
            while let up = best[copy.source], seen.insert(copy.source).inserted, up.source != c {
                copy.source = up.source
                if copy.runnerUp == copy.source { copy.runnerUp = nil; copy.runnerUpShare = 0 }
            }
            if copy.source != c { result.append(copy) }
        }
        let sources = Set(result.map(\.source))
        return result.filter { !sources.contains($0.child) }
    }

    /// The verdict for one edge.
    enum Verdict: Equatable {
        /// Neither side is a rounding of the other.
        case none
        /// The child is the parent rounded to the child's grid.
        case childQuantized
        /// The parent is the child rounded to the parent's grid: the edge is reversed.
        case parentQuantized
    }

    static func verdict(_ fit: GridEvidence.Fit) -> Verdict {
        let child = fit.childShare >= minimumShare, parent = fit.parentShare >= minimumShare
        switch (child, parent) {
        case (true, false): return .childQuantized
        case (false, true): return .parentQuantized
        case (true, true): return fit.childSteps >= fit.parentSteps ? .childQuantized : .parentQuantized
        case (false, false): return .none
        }
    }

    /// Whether some compared tensor of `model` is stored coarser than F32 (only then can it be a
    /// rounding of another model: an F32 tensor's grid is finer than any difference the pass
    /// can tell from a fine-tune's).
    static func storedCoarse(_ model: Model, tensors: [String]) -> Bool {
        tensors.contains { model.tensor(named: $0).map { $0.unitRoundoff > DType.f32.unitRoundoff } ?? false }
    }
}
