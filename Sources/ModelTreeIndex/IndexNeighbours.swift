import ModelTree

/// Each model's nearest family member, and whether their difference is low-rank: the index keeps
/// the answer of the auto metric's test (`Distances.matrices`: rank when every model's nearest
/// neighbour differs from it by a low-rank update in every tensor) up to date model by model, so
/// that a parent query knows its metric without testing the whole family. `graph` does not use
/// it: it runs the test itself, on the kept ranks.
extension HubIndex {
    /// After model `id` joined one family whose `members` it was compared with: its own nearest
    /// neighbour, and the members whose nearest it became.
    func updateNeighbours(added id: Int64, signature: ModelSignature, members: [FamilySearch.Found.Member]) throws {
        guard let nearest = members.min(by: { ($0.statistics.rms, $0.id) < ($1.statistics.rms, $1.id) }) else { return }
        let tensors = signature.distanceTensorNames
        try setNeighbour(id, nearest.id, nearest.statistics.rms, try test(signature, nearest.id, tensors))
        for member in members {
            let current = try db.query("SELECT neighbour, neighbour_rms FROM models WHERE id = ?", [.int(member.id)]) {
                ($0.isNull(0) ? nil : $0.int(0), $0.double(1))
            }.first
            guard let current else { continue }
            let closer = current.0 == nil || member.statistics.rms < current.1 || (member.statistics.rms == current.1 && id < current.0!)
            if closer {
                try setNeighbour(member.id, id, member.statistics.rms, try test(signature, member.id, tensors))
            }
        }
    }

    /// Every member's nearest neighbour again, from the kept pairs (after a merge or a removal).
    func updateNeighbours(family: Int64) throws {
        let members = try db.query("SELECT id FROM models WHERE family = ? ORDER BY id", [.int(family)]) { $0.int(0) }
        let tensors = try parseStringArray(try db.query("SELECT tensors FROM families WHERE id = ?", [.int(family)]) { $0.text(0) ?? "[]" }.first ?? "[]")
        var loaded: [Int64: ModelSignature] = [:]
        func signature(_ row: Int64) throws -> ModelSignature {
            if let s = loaded[row] { return s }
            let s = try loadSignature(row, distances: true, ranks: true)
            loaded[row] = s
            return s
        }
        for m in members {
            let nearest = try db.query("""
                SELECT other, rms FROM (SELECT b AS other, rms FROM pairs WHERE a = ?1 UNION ALL SELECT a AS other, rms FROM pairs WHERE b = ?1)
                ORDER BY rms, other LIMIT 1
                """, [.int(m)]) { ($0.int(0), $0.double(1)) }.first
            guard let nearest else {
                try db.run("UPDATE models SET neighbour = NULL, neighbour_rms = NULL, neighbour_low = NULL, neighbour_nonzero = NULL WHERE id = ?", [.int(m)])
                continue
            }
            try setNeighbour(m, nearest.0, nearest.1, try test(try signature(m), nearest.0, tensors, loaded: try signature(nearest.0)))
        }
    }

    private func setNeighbour(_ id: Int64, _ neighbour: Int64, _ rms: Double, _ result: (low: Bool, nonzero: Bool)) throws {
        try db.run("UPDATE models SET neighbour = ?, neighbour_rms = ?, neighbour_low = ?, neighbour_nonzero = ? WHERE id = ?",
                   [.int(neighbour), .double(rms), .int(result.low ? 1 : 0), .int(result.nonzero ? 1 : 0), .int(id)])
    }

    /// Whether `a`'s difference with indexed model `row` is low-rank in every tensor, and not
    /// zero; the ranks are kept in the pair when all were computed.
    private func test(_ a: ModelSignature, _ row: Int64, _ tensors: [String], loaded: ModelSignature? = nil) throws -> (low: Bool, nonzero: Bool) {
        let other = try loaded ?? loadSignature(row, distances: true, ranks: true)
        let usable = tensors.filter { !a.tensor(named: $0)!.hasNonFinite && !other.tensor(named: $0)!.hasNonFinite }
        let limits = a.lowRankLimits(usable)
        var ranks: [Int] = []
        for (name, limit) in zip(usable, limits) {
            let r = try ModelSignature.ranks(a, other, tensors: [name])[0]
            ranks.append(r)
            if r > limit { return (false, true) }
        }
        if usable.count == tensors.count, let aRow = try rowID(a.id) {
            let (x, y) = aRow < row ? (aRow, row) : (row, aRow)
            try db.run("UPDATE pairs SET ranks = ? WHERE a = ? AND b = ?", [.blob(int32Bytes(ranks)), .int(x), .int(y)])
        }
        return (true, ranks.contains { $0 > 0 })
    }
}
