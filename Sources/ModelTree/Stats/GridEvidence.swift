/// How well a storage grid explains the difference between two models, for the edges the tree
/// chose (`QuantizedCopies` decides from it).
///
/// A lower-precision copy is its source rounded to its own storage grid: its values lie on that
/// grid (a float type's representable values, a GGUF block's scale times integers, an int8
/// export's scale times integers), and every element differs from the source by at most half a
/// step of it. A fine-tune differs by its training, which no grid bounds. So for each edge and
/// each compared tensor this pass counts the elements whose difference is within half a step of
/// the child's grid, and of the parent's — the structure of the difference, not its size alone:
/// a light fine-tune moves weights less than a BF16 cast does, but not onto a grid.
struct GridEvidence {
    /// For one pair: of the elements that differ, those within half a step of each side's grid.
    ///
    /// Equal elements say nothing (a tensor an export kept in F32, a weight training did not
    /// move) and are left out; so are they from a model stored on the same grid as the other,
    /// where two different values are a whole step apart or more.
    struct Fit: Sendable, Equatable {
        var withinChildGrid = 0
        var withinParentGrid = 0
        /// Elements that differ.
        var changed = 0
        /// Elements compared (equal ones included).
        var compared = 0
        /// Σ over the elements that differ of each side's step (which side's grid is the coarser).
        var childSteps = 0.0
        var parentSteps = 0.0

        /// The share of differing elements within half a step of the child's grid (0 when none differ).
        var childShare: Double { changed == 0 ? 0 : Double(withinChildGrid) / Double(changed) }
        var parentShare: Double { changed == 0 ? 0 : Double(withinParentGrid) / Double(changed) }
        /// The share of all elements compared at which the child is the parent rounded to the
        /// child's grid, equal ones included (0 when none was compared): what a TIES or DARE merge
        /// keeps of its base (`TrimmedMerges`).
        var retainedShare: Double { compared == 0 ? 0 : Double(withinChildGrid + compared - changed) / Double(compared) }

        mutating func add(_ other: Fit) {
            withinChildGrid += other.withinChildGrid
            withinParentGrid += other.withinParentGrid
            changed += other.changed
            compared += other.compared
            childSteps += other.childSteps
            parentSteps += other.parentSteps
        }
    }

    /// A rounding is within half a step up to this relative slack: a GGUF block's F16 scale is
    /// itself rounded after the elements were (ggml rounds x / d with d in F32, then stores d in
    /// F16), which moves an element by up to |q|·2^-11 of a step.
    static let slack = 0x1p-6

    /// Elements per decoded block of a unit of work (four rows: both models' values and steps).
    static let block = 4_096

    /// Streams `tensorNames` of each pair (parent, child) once: values and grid steps of both;
    /// with `prefix`, only each tensor's first `prefix` elements (a screen).
    ///
    /// Cost: each pair's tensors are read twice (values and steps) — O(pairs · elements), run
    /// only for pairs where one side is stored coarser than F32 (the caller's choice).
    static func gather(models: [Model], pairs: [(parent: Int, child: Int)], tensorNames: [String], prefix: Int? = nil,
                       threads: Int, kernels: KernelSet) throws -> [Fit] {
        let pass = StreamingPass(threads: threads, slots: 4, stagingBytes: block * 8, rows: 4, block: block, kernels: kernels)
        return try pairs.map { pair in
            var fit = Fit()
            for name in tensorNames {
                guard let parent = models[pair.parent].tensor(named: name), let child = models[pair.child].tensor(named: name) else { continue }
                try pass.stream(count: Swift.min(parent.count, prefix ?? .max), unit: { _, range, worker in
                    var part = Fit()
                    var start = range.lowerBound
                    while start < range.upperBound {
                        let piece = start..<Swift.min(range.upperBound, start + block)
                        try worker.decode(parent, slot: 0, piece, into: 0)
                        try worker.decode(child, slot: 1, piece, into: 1)
                        try worker.decodeSteps(parent, slot: 2, piece, into: 2)
                        try worker.decodeSteps(child, slot: 3, piece, into: 3)
                        count(worker.row(0), worker.row(1), worker.row(2), worker.row(3), piece.count, into: &part)
                        start = piece.upperBound
                    }
                    return part
                }, reduce: { _, part in fit.add(part) })
            }
            return fit
        }
    }

    /// Adds `n` elements of parent values `p`, child values `c` and their grids' steps (Float
    /// arithmetic without branches, which the compiler vectorises).
    static func count(_ p: UnsafePointer<Float>, _ c: UnsafePointer<Float>, _ parentStep: UnsafePointer<Float>,
                      _ childStep: UnsafePointer<Float>, _ n: Int, into fit: inout Fit) {
        let half = Float(0.5 * (1 + slack))
        var changed = 0, withinChild = 0, withinParent = 0
        var childSteps: Float = 0, parentSteps: Float = 0
        for k in 0..<n {
            let d = abs(p[k] - c[k])
            let moved = d > 0
            changed &+= moved ? 1 : 0
            withinChild &+= moved && d <= half * childStep[k] ? 1 : 0
            withinParent &+= moved && d <= half * parentStep[k] ? 1 : 0
            childSteps += moved ? childStep[k] : 0
            parentSteps += moved ? parentStep[k] : 0
        }
        fit.changed += changed
        fit.compared += n
        fit.withinChildGrid += withinChild
        fit.withinParentGrid += withinParent
        fit.childSteps += Double(childSteps)
        fit.parentSteps += Double(parentSteps)
    }
}
