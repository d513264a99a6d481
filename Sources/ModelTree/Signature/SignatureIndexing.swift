/// What the hub index (the ModelTreeIndex target) asks of signatures: a key of their layout, the
/// coarse vector of the candidate search, and the statistics and ranks of pairs.
extension ModelSignature {
    /// XXH64 of the distance tensors' names and shapes: models with the same key have the same
    /// distance tensors, so their sketches compare directly (the candidate search's partition).
    package var layoutKey: Int64 {
        var bytes: [UInt8] = []
        for name in distanceTensorNames {
            let t = tensor(named: name)!
            bytes += Array(t.name.utf8); bytes.append(0)
            for d in t.shape { withUnsafeBytes(of: UInt64(d).littleEndian) { bytes += $0 } }
            bytes.append(0xFF)
        }
        return Int64(bitPattern: Hashing.xxh64(bytes))
    }

    /// The distance tensors' names (the rule of `distanceCandidates`), sorted.
    package var distanceTensorNames: [String] {
        let candidates = Self.distanceCandidates(tensors.map { ($0.name, $0.shape) })
        return tensors.map(\.name).filter { candidates.contains($0) }
    }

    /// Whether every sketched tensor's rank sketch is loaded.
    package var hasRankSketches: Bool {
        tensors.allSatisfy { t in
            if case .sketched(_, nil)? = t.sketch { return false }
            return true
        }
    }

    /// Tensors holding NaN or infinity (never compared).
    package var nonFiniteTensors: [String] { tensors.filter(\.hasNonFinite).map(\.name) }

    /// The coarse vector of the candidate search: per distance tensor (in name order) its
    /// distance sketch folded to `coarseBuckets` (`CountSketch.fold`; a kept tensor is sketched
    /// first), scaled to unit norm, all divided by √(tensors). The dot product of two models'
    /// vectors then estimates the mean over tensors of the cosine of their weights — the mean
    /// correlation for weights centred near zero — with a standard deviation of about
    /// 1/√(coarseBuckets · tensors) between unrelated models. Needs the distance sketches.
    package func coarseVector() -> [Float] {
        let names = distanceTensorNames
        var out: [Float] = []
        out.reserveCapacity(names.count * parameters.coarseBuckets)
        for name in names {
            let t = tensor(named: name)!
            let sketch: [Double]
            switch t.sketch {
            case .exact(let values)?:
                sketch = CountSketch(name: t.name, shape: t.shape, buckets: parameters.distanceBuckets).sketch(values)
            case .sketched(let distance, _)?:
                sketch = distance
            case nil:
                preconditionFailure("coarseVector: the distance sketches were not loaded")
            }
            let folded = CountSketch.fold(sketch, to: parameters.coarseBuckets)
            let norm = folded.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let scale = norm > 0 && norm.isFinite ? 1 / (norm * Double(names.count).squareRoot()) : 0
            out += folded.map { Float($0 * scale) }
        }
        return out
    }

    /// Σ (W_a − W_b)² of each of `tensors` for two signatures with distance sketches loaded
    /// (`SignatureComparison.squaredDifference`).
    package static func squaredDifferences(_ a: ModelSignature, _ b: ModelSignature, tensors: [String]) -> [Double] {
        tensors.map { SignatureComparison.squaredDifference(a.tensor(named: $0)!, b.tensor(named: $0)!) }
    }

    /// The RMS distance and the correlation of two models over `tensors`, from the sums of
    /// squared differences (`PairAccumulator`, as every path computes them).
    package static func pairStatistics(_ a: ModelSignature, _ b: ModelSignature, tensors: [String],
                                       sums: [Double]) -> (rms: Double, correlation: Double) {
        var pair = PairAccumulator()
        for (name, ss) in zip(tensors, sums) {
            let x = a.tensor(named: name)!, y = b.tensor(named: name)!
            guard !x.hasNonFinite && !y.hasNonFinite else { continue }
            pair.add(sumSquares: ss, count: x.count, x.moments, y.moments)
        }
        return (pair.rms, pair.correlation)
    }

    /// The rank of W_a − W_b in each of `tensors` (rank sketches loaded).
    package static func ranks(_ a: ModelSignature, _ b: ModelSignature, tensors: [String]) throws -> [Int] {
        try tensors.map { try SignatureComparison.rank(a.tensor(named: $0)!, b.tensor(named: $0)!, a.parameters) }
    }

    /// The auto metric's low-rank limit of each of `tensors` (`Distances.lowRankLimits`).
    package func lowRankLimits(_ tensors: [String]) -> [Int] {
        Distances.lowRankLimits(shapes: tensors.map { tensor(named: $0)!.shape }, capacity: parameters.rankColumns)
    }
}

extension FileIdentity {
    /// Identities as a JSON array (integers as strings: nanosecond times exceed a double's
    /// exact range), for the index's `files` column.
    package static func json(_ files: [FileIdentity]) -> String {
        "[" + files.map { f in
            "{\"path\": \(Formatting.jsonString(f.path)), \"size\": \"\(f.size)\", \"modified\": \"\(f.modified)\", "
                + "\"device\": \"\(f.device)\", \"inode\": \"\(f.inode)\"}"
        }.joined(separator: ", ") + "]"
    }

    /// Identities from `json(_:)`.
    /// - Throws: `.format` for anything else.
    package static func parse(json text: String) throws -> [FileIdentity] {
        guard case .array(let items) = try JSONParser.parse(text) else { throw ModelTreeError.format("file identities: not an array") }
        return try items.map { item in
            guard case .string(let path)? = item["path"], case .string(let size)? = item["size"], case .string(let modified)? = item["modified"],
                  case .string(let device)? = item["device"], case .string(let inode)? = item["inode"],
                  let s = Int(size), let m = Int(modified), let d = UInt(device), let i = UInt(inode) else {
                throw ModelTreeError.format("file identities: an entry lacks path, size, modified, device or inode")
            }
            return FileIdentity(path: path, size: s, modified: m, device: d, inode: i)
        }
    }
}
