import ModelTree

/// The index's questions: a model's parent, and the whole graph, from kept statistics and
/// signatures only (no weight is read).
extension HubIndex {
    /// The answer to "who is this model's parent?".
    public struct Parent: Sendable, Equatable {
        /// One candidate parent.
        public struct Candidate: Sendable, Equatable {
            public var id: String
            public var type: EdgeType
            /// In `metric`.
            public var distance: Double
            /// In [0, 1] for the chosen parent (as `recover` measures it); NaN for alternatives.
            public var confidence: Double
            /// The chosen edge is not to be trusted (low confidence, or a direction the weights
            /// cannot tell); always false for alternatives.
            public var unsure: Bool
        }

        /// The model asked about.
        public var model: String
        /// Whether it is in the index (else it was a candidate upload, compared but not added).
        public var indexed: Bool
        /// The chosen parent first, then the nearest other relatives (in its tree) by distance;
        /// empty for a root — a model with no parent among its relatives, or with no relatives.
        public var parents: [Candidate]
        /// How many indexed models it was compared with (its family).
        public var relatives: Int
        /// The metric of the distances.
        public var metric: Metric
        /// Indexed models with the same weights.
        public var duplicates: [String]
    }

    /// The parent of indexed model `id`: its family solved as `recover` solves a tree, from the
    /// kept pair statistics; the metric is the one the family's architecture calls for (the
    /// kept neighbour tests). Milliseconds: no weight and no sketch is read but those of pairs
    /// not ranked yet.
    /// - Parameter alternatives: how many other relatives to list after the chosen parent.
    /// - Throws: `.invalidArgument` when `id` is not in the index.
    public func parent(of id: String, alternatives: Int = 3, options: RecoveryOptions = RecoveryOptions()) throws -> Parent {
        try db.transaction(write: false) {
            guard let row = try rowID(id) else { throw ModelTreeError.invalidArgument("no model '\(id)' in the index \(path)") }
            let (family, layout) = try db.query("SELECT family, layout FROM models WHERE id = ?", [.int(row)]) { ($0.int(0), $0.int(1)) }.first!
            let members = try familyRows(family)
            let familyLow = try familyLowRank(family)
            let metric = try chooseMetric(options.metric, layout: layout, excluding: family, block: familyLow)
            let block = try Block(index: self, rows: members.map(\.id), upload: nil)
            var only = options
            only.confidenceFor = [id]
            let graph = try block.solve(metric: metric, options: only)
            let me = members.firstIndex { $0.id == row }!
            let sig = try loadSignature(row, distances: true, ranks: false)
            return answer(graph, me, indexed: true, alternatives: alternatives,
                          duplicates: try duplicates(of: sig, excluding: row))
        }
    }

    /// The parent a model *not* in the index would have: the families it belongs to
    /// (`FamilySearch`) and it, solved together. The index is not changed. "Who is this upload?"
    /// - Throws: `.invalidArgument` for a signature of other sketch sizes.
    public func parent(of signature: ModelSignature, alternatives: Int = 3, options: RecoveryOptions = RecoveryOptions()) throws -> Parent {
        try checkComparable(signature)
        let upload = FamilySearch.Upload(signature)
        return try db.transaction(write: false) {
            try search.refresh(db)
            var found = try search.related(upload, in: self)
            let duplicates = try self.duplicates(of: signature, excluding: nil)
            // An upload that is a copy of indexed models is placed as they are: without them (a
            // pair of equal weights has no direction).
            if !duplicates.isEmpty {
                let copies = Set(try duplicates.compactMap { try rowID($0) })
                found.families = found.families.map { f in
                    FamilySearch.Found.Family(id: f.id, tensors: f.tensors, members: f.members.filter { !copies.contains($0.id) })
                }.filter { !$0.members.isEmpty }
            }
            guard !found.families.isEmpty else {
                return Parent(model: signature.id, indexed: false, parents: [], relatives: 0, metric: .rms, duplicates: duplicates)
            }
            // The upload keeps its id in the answer; in the solve it needs one no relative has.
            let names = Set(try found.members.map { m in try db.query("SELECT name FROM models WHERE id = ?", [.int(m.id)]) { $0.text(0) ?? "" }.first ?? "" })
            var solved = signature
            while names.contains(solved.id) { solved = solved.renamed(solved.id + " (upload)") }
            let block = try Block(index: self, rows: found.members.map(\.id), upload: (solved, found))
            var low = block.uploadLowRank()
            for family in found.families.dropFirst() where low { low = try familyLowRank(family.id) }
            let metric = try chooseMetric(options.metric, layout: upload.layout, excluding: found.families.map(\.id), block: low)
            var only = options
            only.confidenceFor = [solved.id]
            let graph = try block.solve(metric: metric, options: only)
            var result = answer(graph, graph.count - 1, indexed: false, alternatives: alternatives, duplicates: duplicates)
            result.model = signature.id
            return result
        }
    }

    /// The Model Graph of every indexed model, from the kept statistics: each family is a block of
    /// `RelationEvidence`, analysed as `recover` analyses a collection (`RelationAnalysis`); it
    /// equals `recover`'s graph whenever the candidate search found the same relatives. The
    /// edges are kept in the index (its recovered graph), and ranks computed on the way too.
    /// - Parameter options: as `recover`'s (not `trees`, `include`, `exclude` or the `max` metric,
    ///   which need the weights or every pair).
    public func graph(options: RecoveryOptions = RecoveryOptions()) throws -> ModelGraph {
        let (graph, ranked, rows, versions) = try db.transaction(write: false) { () -> (ModelGraph, [PairKey: [Int]], [Int64], [Int64: Int64]) in
            let models = try db.query("SELECT id, family FROM models ORDER BY name") { ($0.int(0), $0.int(1)) }
            guard !models.isEmpty else { throw ModelTreeError.invalidArgument("the index \(path) holds no models") }
            let versions = Dictionary(uniqueKeysWithValues: try db.query("SELECT id, version FROM families") { ($0.int(0), $0.int(1)) })
            let block = try Block(index: self, rows: models.map(\.0), upload: nil)
            var families: [Int64: [Int]] = [:]
            for (k, m) in models.enumerated() { families[m.1, default: []].append(k) }
            let graph = try block.solve(metric: options.metric, options: options, families: families.values.sorted { $0[0] < $1[0] })
            return (graph, block.computedRanks, models.map(\.0), versions)
        }
        try db.transaction(write: true) {
            for (pair, ranks) in ranked {
                try db.run("UPDATE pairs SET ranks = ? WHERE a = ? AND b = ?", [.blob(int32Bytes(ranks)), .int(pair.a), .int(pair.b)])
            }
            try db.run("DELETE FROM edges")
            for e in graph.edges {
                let family = try db.query("SELECT family FROM models WHERE id = ?", [.int(rows[e.child])]) { $0.int(0) }.first
                guard let family, let version = versions[family] else { continue }   // removed meanwhile
                try db.run("""
                    INSERT OR REPLACE INTO edges(child, parent, type, distance, confidence, unsure, family, family_version)
                    VALUES(?, ?, ?, ?, ?, ?, ?, ?)
                    """, [.int(rows[e.child]), .int(rows[e.parent]), .text(e.type.rawValue), .double(e.distance),
                          .double(e.confidence.isNaN ? -1 : e.confidence), .int(e.unsure ? 1 : 0), .int(family), .int(version)])
            }
        }
        return graph
    }

    // MARK: Parts

    struct PairKey: Hashable { var a: Int64, b: Int64 }

    func familyRows(_ family: Int64) throws -> [(id: Int64, name: String)] {
        try db.query("SELECT id, name FROM models WHERE family = ? ORDER BY name", [.int(family)]) { ($0.int(0), $0.text(1) ?? "") }
    }

    /// The kept answer of the low-rank test for a family: more than one member, each one's
    /// nearest neighbour low-rank, some difference not zero.
    func familyLowRank(_ family: Int64) throws -> Bool {
        try db.query("""
            SELECT count(*) > 1 AND min(coalesce(neighbour_low, 0)) = 1 AND max(coalesce(neighbour_nonzero, 0)) = 1
            FROM models WHERE family = ?
            """, [.int(family)]) { $0.int(0) == 1 }.first ?? false
    }

    /// The metric of a parent query: the one asked for, or with `auto` rank when the block and
    /// every other family of its layout pass the low-rank test (the families of one layout stand
    /// for its architecture, as `recover` decides per architecture).
    func chooseMetric(_ requested: Metric, layout: Int64, excluding: [Int64], block: Bool) throws -> Metric {
        guard requested == .auto else { return requested }
        guard block else { return .rms }
        let families = try db.query("SELECT DISTINCT family FROM models WHERE layout = ?", [.int(layout)]) { $0.int(0) }
        for f in families where !excluding.contains(f) {
            if !(try familyLowRank(f)) { return .rms }
        }
        return .rank
    }

    func chooseMetric(_ requested: Metric, layout: Int64, excluding family: Int64, block: Bool) throws -> Metric {
        try chooseMetric(requested, layout: layout, excluding: [family], block: block)
    }

    /// A parent answer from the block's graph, for model `me`.
    private func answer(_ graph: ModelGraph, _ me: Int, indexed: Bool, alternatives: Int, duplicates: [String]) -> Parent {
        var parents: [Parent.Candidate] = []
        if let edge = graph.primaryEdge(into: me) {
            parents.append(.init(id: graph.models[edge.parent].id, type: edge.type, distance: edge.distance,
                                 confidence: edge.confidence, unsure: edge.unsure))
            let tree = graph.trees[graph.tree(of: me)].members
            let others = tree.filter { $0 != me && $0 != edge.parent }.sorted { (graph.distance(me, $0), $0) < (graph.distance(me, $1), $1) }
            for q in others.prefix(Swift.max(0, alternatives)) {
                parents.append(.init(id: graph.models[q].id, type: .finetune, distance: graph.distance(me, q), confidence: .nan, unsure: false))
            }
        }
        return Parent(model: graph.models[me].id, indexed: indexed, parents: parents, relatives: graph.count - 1,
                      metric: graph.metric, duplicates: duplicates)
    }
}

/// Models analysed together: indexed models (by row) and maybe an upload, with the index's kept
/// pair statistics and ranks, and what must be computed from sketches for the rest.
final class Block {
    let index: HubIndex
    let rows: [Int64]
    /// Signatures: META of the rows (then the upload's, whole).
    var signatures: [ModelSignature]
    /// Kept sums and ranks of pairs (row ids a < b), aligned to their family's tensors.
    private var kept: [HubIndex.PairKey: (sums: [Double], ranks: [Int]?, tensors: [String])] = [:]
    /// The upload's sums with each row (aligned to the upload's tensors), and the cross-family
    /// members' signatures with distance sketches.
    private var uploadSums: [Int64: [Double]] = [:]
    private var loaded: [Int64: ModelSignature] = [:]
    private let upload: ModelSignature?
    /// Ranks computed here, to keep.
    private(set) var computedRanks: [HubIndex.PairKey: [Int]] = [:]

    init(index: HubIndex, rows: [Int64], upload: (ModelSignature, FamilySearch.Found)?) throws {
        self.index = index
        self.rows = rows
        let db = index.db
        let wanted = Set(rows)
        var familyIDs = Set<Int64>()
        if rows.count > 256 {
            let all = Dictionary(uniqueKeysWithValues: try db.query("SELECT id, family FROM models") { ($0.int(0), $0.int(1)) })
            for r in rows { if let f = all[r] { familyIDs.insert(f) } }
        } else {
            for r in rows { familyIDs.insert(try db.query("SELECT family FROM models WHERE id = ?", [.int(r)]) { $0.int(0) }.first ?? -1) }
        }
        for family in familyIDs {
            let tensors = try parseStringArray(try db.query("SELECT tensors FROM families WHERE id = ?", [.int(family)]) {
                $0.text(0) ?? "[]"
            }.first ?? "[]")
            for (a, b, sums, ranks) in try db.query("""
                SELECT p.a, p.b, p.sums, p.ranks FROM pairs p JOIN models m ON m.id = p.a WHERE m.family = ?
                """, [.int(family)], { ($0.int(0), $0.int(1), $0.blob(2), $0.isNull(3) ? nil : $0.blob(3)) }) where wanted.contains(a) && wanted.contains(b) {
                kept[HubIndex.PairKey(a: a, b: b)] = (doubles(sums), ranks.map(int32s), tensors)
            }
        }
        // The signatures' META sections, family by family (one query each).
        var metas: [Int64: ModelSignature] = [:]
        let what = "index \(index.path): a signature"
        for family in familyIDs {
            for (id, sig) in try db.query("SELECT s.model, s.meta FROM signatures s JOIN models m ON m.id = s.model WHERE m.family = ?",
                                          [.int(family)], { row in
                (row.int(0), try row.withBlob(1) { try ModelSignature(meta: try ModelSignature.sectionPayload($0, "META", what: what), distances: nil, ranks: nil) })
            }) where wanted.contains(id) { metas[id] = sig }
        }
        signatures = try rows.map { try metas[$0] ?? index.loadSignature($0, distances: false, ranks: false) }
        self.upload = upload?.0
        if let (sig, found) = upload {
            signatures.append(sig)
            for m in found.members {
                uploadSums[m.id] = m.sums
                loaded[m.id] = m.signature
            }
        }
    }

    /// The position of the upload among the block's models.
    private var uploadIndex: Int { rows.count }

    /// The graph of the block (one measured block, or `families` as blocks).
    func solve(metric: Metric, options: RecoveryOptions, families: [[Int]]? = nil) throws -> ModelGraph {
        var options = options
        options.metric = metric
        let source = SignatureSource(signatures: signatures, families: families,
                                     squaredDifferences: { [unowned self] a, b, tensors in try self.sums(a, b, tensors) },
                                     pairRanks: { [unowned self] a, b, tensors in try self.ranks(a, b, tensors) })
        return try source.recover(options: options)
    }

    /// Σ (W_a − W_b)² per tensor for models a, b of the block.
    private func sums(_ a: Int, _ b: Int, _ tensors: [String]) throws -> [Double] {
        if a == uploadIndex || b == uploadIndex {
            let row = rows[a == uploadIndex ? b : a]
            if let sums = uploadSums[row] {
                return try pick(sums, from: upload!.distanceTensorNames, tensors)
            }
            return ModelSignature.squaredDifferences(upload!, try withDistances(row), tensors: tensors)
        }
        let key = HubIndex.PairKey(a: Swift.min(rows[a], rows[b]), b: Swift.max(rows[a], rows[b]))
        if let k = kept[key] { return try pick(k.sums, from: k.tensors, tensors) }
        // Models of families the upload links, never compared: from their sketches.
        return ModelSignature.squaredDifferences(try withDistances(rows[a]), try withDistances(rows[b]), tensors: tensors)
    }

    /// The ranks of W_a − W_b per tensor for models a, b of the block.
    private func ranks(_ a: Int, _ b: Int, _ tensors: [String]) throws -> [Int] {
        let isUpload = a == uploadIndex || b == uploadIndex
        if !isUpload {
            let key = HubIndex.PairKey(a: Swift.min(rows[a], rows[b]), b: Swift.max(rows[a], rows[b]))
            if let k = kept[key], let ranks = k.ranks { return try pick(ranks, from: k.tensors, tensors) }
            let x = try withRanks(rows[a]), y = try withRanks(rows[b])
            if let k = kept[key] {
                let all = try ModelSignature.ranks(x, y, tensors: k.tensors)
                computedRanks[key] = all
                kept[key]?.ranks = all
                return try pick(all, from: k.tensors, tensors)
            }
            return try ModelSignature.ranks(x, y, tensors: tensors)
        }
        let row = rows[a == uploadIndex ? b : a]
        return try ModelSignature.ranks(upload!, try withRanks(row), tensors: tensors)
    }

    /// Whether the upload passes the low-rank test with its block: its nearest member's
    /// difference, and the members whose nearest it becomes, are low-rank (the other members keep
    /// their kept answer).
    func uploadLowRank() -> Bool {
        guard let upload, rows.count > 0 else { return false }
        let tensors = upload.distanceTensorNames.filter { !upload.tensor(named: $0)!.hasNonFinite }
        let limits = upload.lowRankLimits(tensors)
        func low(_ row: Int64) -> (Bool, Bool)? {
            guard let other = try? withRanks(row), let r = try? ModelSignature.ranks(upload, other, tensors: tensors) else { return nil }
            return (zip(r, limits).allSatisfy { $0 <= $1 }, r.contains { $0 > 0 })
        }
        var rms: [Int64: Double] = [:]
        for row in rows {
            guard let sums = uploadSums[row] else { continue }
            let other = signatures[rows.firstIndex(of: row)!]
            rms[row] = ModelSignature.pairStatistics(upload, other, tensors: upload.distanceTensorNames, sums: sums).rms
        }
        guard let nearest = rms.min(by: { ($0.value, $0.key) < ($1.value, $1.key) }), let own = low(nearest.key), own.0 else { return false }
        var nonzero = own.1
        for row in rows {
            let kept = try? index.db.query("SELECT neighbour_rms, neighbour_low, neighbour_nonzero FROM models WHERE id = ?", [.int(row)]) {
                ($0.isNull(0) ? Double.infinity : $0.double(0), $0.int(1) == 1, $0.int(2) == 1)
            }.first
            guard let kept else { return false }
            if let d = rms[row], d < kept.0 {
                guard let test = low(row), test.0 else { return false }
                nonzero = nonzero || test.1
            } else {
                guard kept.1 else { return false }
                nonzero = nonzero || kept.2
            }
        }
        return nonzero
    }

    private func withDistances(_ row: Int64) throws -> ModelSignature {
        if let s = loaded[row] { return s }
        let s = try index.loadSignature(row, distances: true, ranks: false)
        loaded[row] = s
        return s
    }

    private func withRanks(_ row: Int64) throws -> ModelSignature {
        if let s = loaded[row], s.hasRankSketches { return s }
        let s = try index.loadSignature(row, distances: true, ranks: true)
        loaded[row] = s
        return s
    }

    private func pick<T>(_ values: [T], from order: [String], _ wanted: [String]) throws -> [T] {
        if order == wanted { return values }
        var position: [String: Int] = [:]
        for (k, name) in order.enumerated() { position[name] = k }
        return try wanted.map { name in
            guard let k = position[name], k < values.count else {
                throw ModelTreeError.format("index \(index.path): kept pair statistics lack tensor '\(name)'")
            }
            return values[k]
        }
    }
}
