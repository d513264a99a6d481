/// A model's signature: what the hub index keeps of a model after one read of its weights,
/// enough to place it among other models without reading any weight again.
///
/// Per weight tensor (every floating-point tensor with elements): its shape and stored type, its
/// moments (count, extremes, and power sums about a shift: kurtosis, norm, variance and mean), and
/// a content hash. Per distance tensor (the model's square 2-D tensors, or all its 2-D ones when
/// it has no square one — what the default selection of `recover` compares) also:
///
/// - a **distance sketch**: a CountSketch (Charikar, Chen & Farach-Colton 2002) of the weights
///   into `k` buckets, accumulated in Double. It is linear, so the sketch of W_a − W_b is the
///   difference of the sketches, and ‖s(W_a) − s(W_b)‖² estimates ‖W_a − W_b‖² without bias with
///   a relative standard deviation of about √(2/k) of *that* difference (not of the weights'
///   norm). RMS distances and correlations follow with the moments (`PairAccumulator`).
/// - a **rank sketch**: Z = Ψᵀ·W·Ω with sparse sign embeddings Ψ, Ω (`SparseSignEmbedding`) to
///   `rankRows × rankColumns` — the LoRA distance's evidence: rank(Z_a − Z_b) = rank(W_a − W_b)
///   whenever that rank is below the sketch's size. Stored in Double for F32/F64 weights (whose
///   rank tolerance sits at Float rounding), in Float for 16-bit ones.
/// - or, for a tensor of at most 2·k elements, its values themselves (`.exact`): fewer bytes
///   than a distance sketch, and every statistic of it is then exact.
///
/// Sketches of a tensor are drawn from seeds fixed by its name and shape (`Hashing.tensorSeed`),
/// so two signatures compare wherever they were computed, provided their `parameters` agree.
/// The byte format is `ModelSignature.serialized()`; the computation is
/// `ModelSignature.compute(_:parameters:threads:)`.
public struct ModelSignature: Sendable {
    /// The sizes of the sketches. Two signatures are comparable only when these are equal.
    public struct Parameters: Equatable, Sendable {
        /// Buckets of a distance sketch.
        public var distanceBuckets: Int
        /// Buckets of the coarse sketch the candidate search compares (a divisor of
        /// `distanceBuckets`: the distance sketch folded).
        public var coarseBuckets: Int
        /// Rows and columns of a rank sketch (each a multiple of `rankHits`).
        public var rankRows: Int
        public var rankColumns: Int
        /// Non-zeros per row and column of the sparse sign embeddings.
        public var rankHits: Int

        public init(distanceBuckets: Int, coarseBuckets: Int, rankRows: Int, rankColumns: Int, rankHits: Int) {
            self.distanceBuckets = distanceBuckets; self.coarseBuckets = coarseBuckets
            self.rankRows = rankRows; self.rankColumns = rankColumns; self.rankHits = rankHits
        }

        /// The sizes the index uses unless told otherwise (chosen by measurement: BENCHMARKS.md,
        /// "Hub index").
        public static let standard = Parameters(distanceBuckets: 2_048, coarseBuckets: 64, rankRows: 96, rankColumns: 64, rankHits: 4)

        /// Checks that the sizes make sketches.
        /// - Throws: `.invalidArgument` naming the first bad one.
        public func validate() throws {
            func bad(_ m: String) -> ModelTreeError { .invalidArgument("signature parameters: " + m) }
            guard (1...(1 << 24)).contains(distanceBuckets) else { throw bad("distance buckets must be in 1...16777216, got \(distanceBuckets)") }
            guard coarseBuckets >= 1 && distanceBuckets % coarseBuckets == 0 else {
                throw bad("coarse buckets (\(coarseBuckets)) must divide the distance buckets (\(distanceBuckets))")
            }
            guard (1...64).contains(rankHits) else { throw bad("rank hits must be in 1...64, got \(rankHits)") }
            guard rankColumns >= rankHits && rankColumns % rankHits == 0 && rankColumns <= 4_096 else {
                throw bad("rank columns must be a multiple of the rank hits (\(rankHits)) up to 4096, got \(rankColumns)")
            }
            guard rankRows >= rankColumns && rankRows % rankHits == 0 && rankRows <= 8_192 else {
                throw bad("rank rows must be a multiple of the rank hits, at least the rank columns (\(rankColumns)) and at most 8192, got \(rankRows)")
            }
        }
    }

    /// What a distance tensor's signature keeps of its values.
    public enum Sketch: Sendable, Equatable {
        /// The values themselves (row-major, as Float): a tensor of at most 2·k elements.
        case exact([Float])
        /// A distance sketch of `distanceBuckets` values and a rank sketch (column-major
        /// `rankRows' × rankColumns'`, where each side is the tensor's own when it is not larger);
        /// nil when it was not loaded (an index reads rank sketches only when it needs them).
        case sketched(distance: [Double], rank: RankSketch?)
    }

    /// A rank sketch: column-major `rows × columns`, and the precision it is stored in.
    public struct RankSketch: Sendable, Equatable {
        public var rows: Int
        public var columns: Int
        public var values: [Double]
        /// Stored as Float (16-bit weights) rather than Double.
        public var single: Bool
    }

    /// One weight tensor.
    public struct Tensor: Sendable {
        public var name: String
        public var shape: [Int]
        /// The stored type's name ("F32", "BF16", …).
        public var typeName: String
        /// The storage's relative rounding (`TensorSource.unitRoundoff`).
        public var unitRoundoff: Double
        var moments: Moments
        /// XXH64 tree hash of the decoded values (`ModelSignature.compute`).
        public var hash: UInt64
        /// Set for distance tensors only.
        public var sketch: Sketch?

        /// Elements.
        public var count: Int { shape.contains(0) ? 0 : shape.reduce(1, *) }
        /// Whether the tensor holds a NaN or an infinity (it is then never compared).
        public var hasNonFinite: Bool { moments.nonFinite > 0 }
        /// Excess (Fisher) kurtosis; NaN for a constant or non-finite tensor.
        public var kurtosis: Double { hasNonFinite ? .nan : moments.excessKurtosis }
    }

    /// The id the model had when the signature was computed.
    public var id: String
    /// Where it was read from; nil for caller memory.
    public var path: String?
    /// The reader that read it ("safetensors", "memory", …).
    public var format: String
    /// The files read, as they were (for `verify`).
    public var files: [FileIdentity]
    public var parameters: Parameters
    /// XXH64 over every weight tensor's name, type, shape and hash: equal for models with the
    /// same tensors holding the same values (duplicates).
    public var hash: UInt64
    /// Weight tensors, sorted by name.
    public var tensors: [Tensor]

    /// The tensor named `name`.
    public func tensor(named name: String) -> Tensor? {
        var lo = 0, hi = tensors.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if tensors[mid].name < name { lo = mid + 1 } else { hi = mid }
        }
        return lo < tensors.count && tensors[lo].name == name ? tensors[lo] : nil
    }

    /// Names of the distance tensors (those with a sketch), sorted.
    public var distanceTensors: [String] { tensors.filter { $0.sketch != nil }.map(\.name) }

    /// The signature with another id (the id is the caller's name for the model).
    public func renamed(_ id: String) -> ModelSignature {
        var copy = self
        copy.id = id
        return copy
    }
}

extension ModelSignature {
    /// Which of a model's weight tensors get sketches: its square 2-D tensors, or all its 2-D
    /// tensors when it has no square one — per model, the rule `TensorSelection.select` applies
    /// to the tensors a collection shares.
    static func distanceCandidates(_ tensors: [(name: String, shape: [Int])]) -> Set<String> {
        let matrices = tensors.filter { $0.shape.count == 2 }
        let square = matrices.filter { $0.shape[0] == $0.shape[1] }
        return Set((square.isEmpty ? matrices : square).map(\.name))
    }

    /// Whether a tensor of `count` elements keeps its values rather than sketches.
    static func keepsValues(count: Int, _ p: Parameters) -> Bool { count <= 2 * p.distanceBuckets }

    /// The model's content hash from its tensors (see `hash`).
    static func modelHash(_ tensors: [Tensor]) -> UInt64 {
        var bytes: [UInt8] = []
        for t in tensors {
            bytes += Array(t.name.utf8); bytes.append(0)
            bytes += Array(t.typeName.utf8); bytes.append(0)
            for v in [UInt64(t.shape.count)] + t.shape.map({ UInt64($0) }) + [t.hash] {
                withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
            }
        }
        return Hashing.xxh64(bytes)
    }
}
