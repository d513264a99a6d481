import ModelTree

/// The candidate search of the index: which families a model belongs to, without comparing it
/// with every indexed model.
///
/// Each family keeps a few representatives: its first model, and every model whose coarse
/// vector (`ModelSignature.coarseVector`) scores below `representativeScore` against the
/// family's representatives so far. An upload is scored against the representatives of its
/// layout (one dot product of `coarseBuckets · tensors` floats each, from a cache that lives
/// as long as no other process writes); families scoring above `candidateScore` are candidates,
/// and a candidate family is joined when the upload's correlation with one of its members —
/// from the distance sketches — exceeds 1/2, the relation `recover` links trees with.
///
/// Cost per upload: O(R · c) for R representatives of its layout and c = coarseBuckets · tensors,
/// plus O(s · k · tensors) for the s members of its candidate families: linear in the number of
/// families, not of models, and the comparisons that matter are those with relatives.
struct FamilySearch {
    /// Coarse score above which a family is a candidate: between unrelated models the score has a
    /// standard deviation of 1/√(coarseBuckets · tensors) (≤ 0.125), related models correlate
    /// above 1/2, and the sketches' own error is well below the margin.
    static let candidateScore: Float = 0.25
    /// Coarse score below which a new member also represents its family (it is far enough from
    /// the family's representatives that an upload close to it might not score with them).
    static let representativeScore: Float = 0.8

    /// A model being added or asked about.
    struct Upload {
        let signature: ModelSignature
        let layout: Int64
        let tensors: [String]
        let coarse: [Float]

        init(_ signature: ModelSignature) {
            self.signature = signature
            layout = signature.layoutKey
            tensors = signature.distanceTensorNames
            coarse = signature.coarseVector()
        }
    }

    /// The families an upload belongs to.
    struct Found {
        struct Member {
            let id: Int64
            /// With distance sketches.
            let signature: ModelSignature
            /// Σ (W_upload − W_member)² per tensor of the family.
            let sums: [Double]
            let statistics: (rms: Double, correlation: Double)
        }
        struct Family {
            let id: Int64
            let tensors: [String]
            let members: [Member]
        }
        /// Joined families, by id.
        var families: [Family] = []
        /// The upload's best coarse score against the representatives of the joined families.
        var bestRepresentativeScore: Float = -.infinity
        var members: [Member] { families.flatMap(\.members) }
    }

    private struct Representative {
        var id: Int64
        var family: Int64
        var vector: [Float]
    }

    private var dataVersion: Int64?
    private var byLayout: [Int64: [Representative]] = [:]

    /// Drops the cache when another connection has committed since it was read.
    mutating func refresh(_ db: SQLiteConnection) throws {
        let version = try db.dataVersion()
        if version != dataVersion {
            byLayout = [:]
            dataVersion = version
        }
    }

    /// Drops the cache (after a change this connection made that it does not track).
    mutating func invalidate() {
        byLayout = [:]
    }

    /// Keeps the cache current after this connection added a model (called once committed).
    mutating func added(id: Int64, family: Int64, layout: Int64, coarse: [Float], representative: Bool, merged: [Int64]) {
        guard var reps = byLayout[layout] else { return }
        if !merged.isEmpty {
            for k in reps.indices where merged.contains(reps[k].family) { reps[k].family = family }
        }
        if representative { reps.append(Representative(id: id, family: family, vector: coarse)) }
        byLayout[layout] = reps
    }

    private mutating func representatives(_ layout: Int64, _ db: SQLiteConnection) throws -> [Representative] {
        if let cached = byLayout[layout] { return cached }
        let reps = try db.query("SELECT id, family, coarse FROM models WHERE layout = ? AND representative", [.int(layout)]) { row in
            Representative(id: row.int(0), family: row.int(1), vector: row.withBlob(2) { floats($0) })
        }
        byLayout[layout] = reps
        return reps
    }

    /// The families `upload` belongs to, with its sums and statistics against their members.
    mutating func related(_ upload: Upload, in index: HubIndex) throws -> Found {
        var best: [Int64: Float] = [:]
        for rep in try representatives(upload.layout, index.db) where rep.vector.count == upload.coarse.count {
            var s: Float = 0
            for i in rep.vector.indices { s += rep.vector[i] * upload.coarse[i] }
            best[rep.family] = Swift.max(best[rep.family] ?? -.infinity, s)
        }
        var found = Found()
        for (family, score) in best.filter({ $0.value > Self.candidateScore }).sorted(by: { $0.key < $1.key }) {
            let tensors = try parseStringArray(try index.db.query("SELECT tensors FROM families WHERE id = ?", [.int(family)]) {
                $0.text(0) ?? "[]"
            }.first ?? "[]")
            guard tensors == upload.tensors else { continue }
            let rows = try index.db.query("SELECT id FROM models WHERE family = ? ORDER BY id", [.int(family)]) { $0.int(0) }
            var members: [Found.Member] = []
            var related = false
            for row in rows {
                let sig = try index.loadSignature(row, distances: true, ranks: false)
                let sums = ModelSignature.squaredDifferences(upload.signature, sig, tensors: tensors)
                let stats = ModelSignature.pairStatistics(upload.signature, sig, tensors: tensors, sums: sums)
                if stats.correlation > relatednessThreshold { related = true }
                members.append(Found.Member(id: row, signature: sig, sums: sums, statistics: stats))
            }
            if related {
                found.families.append(Found.Family(id: family, tensors: tensors, members: members))
                found.bestRepresentativeScore = Swift.max(found.bestRepresentativeScore, score)
            }
        }
        return found
    }
}
