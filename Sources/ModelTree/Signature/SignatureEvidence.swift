/// The statistics relation analysis needs, estimated from signatures instead of weights: the
/// second producer of `RelationEvidence` (the first is the exact pass of `recover`).
extension RelationEvidence {
    /// The evidence of the signatures of one architecture group, compared block by block.
    ///
    /// Tensors are selected as `recover` selects them (`TensorSelection`, default selection: the
    /// distance tensors every model shares); a tensor with a non-finite value in any model is
    /// skipped. Moments give kurtosis and the direction votes exactly; pair statistics come from
    /// the pairs' sums of squared differences per tensor (`PairAccumulator`), estimated by the
    /// distance sketches (exact for tensors whose values are kept); ranks from the rank sketches.
    ///
    /// - Parameters:
    ///   - blocks: a partition of the signatures' indices, each ascending, sorted by first member:
    ///     the families whose pairs are compared (`[Array(signatures.indices)]` compares all).
    ///   - squaredDifferences: Σ (W_a − W_b)² per tensor of `tensors` for a pair of signatures;
    ///     by default from the sketches (the index passes the sums it keeps).
    ///   - pairRanks: the rank of W_a − W_b per tensor of `tensors` for a pair of signatures; by
    ///     default from their rank sketches (the index serves the ranks it keeps, loading rank
    ///     sketches only for pairs it has not ranked yet).
    /// - Throws: `.incompatibleModels` when no tensor is shared or a shared tensor has no
    ///   sketch in some signature (mixed architectures the index cannot compare);
    ///   `.invalidArgument` for signatures of different sketch sizes.
    init(signatures: [ModelSignature], blocks: [[Int]],
         squaredDifferences: ((Int, Int, [String]) throws -> [Double])? = nil,
         pairRanks: ((Int, Int, [String]) throws -> [Int])? = nil) throws {
        guard let first = signatures.first else { throw ModelTreeError.invalidArgument("no signatures to compare") }
        if let other = signatures.first(where: { $0.parameters != first.parameters }) {
            throw ModelTreeError.invalidArgument("signatures of '\(first.id)' and '\(other.id)' have different sketch sizes "
                + "(\(first.parameters.distanceBuckets) and \(other.parameters.distanceBuckets) buckets, …): compute them alike")
        }
        let compared = try TensorSelection.compared(models: signatures, include: [], exclude: [])
        let selected = compared.distance
        for sig in signatures {
            let sketched = ModelSignature.distanceCandidates(sig.tensors.map { ($0.name, $0.shape) })
            if let missing = selected.first(where: { !sketched.contains($0) }) {
                throw ModelTreeError.incompatibleModels("the signature of '\(sig.id)' has no sketch of '\(missing)', which the models "
                    + "of its architecture share and compare: its own square tensors differ from theirs (recover them from their weights)")
            }
        }
        var skipped: [(tensor: String, reason: String)] = []
        var names: [String] = []
        for name in selected {
            if let bad = signatures.first(where: { $0.tensor(named: name)!.hasNonFinite }) {
                skipped.append((name, "non-finite values (NaN or Inf, or F64 beyond Float's range) in model '\(bad.id)'"))
            } else {
                names.append(name)
            }
        }
        guard !names.isEmpty else {
            throw ModelTreeError.incompatibleModels("every selected tensor was skipped (\(skipped.map(\.reason).joined(separator: "; ")))")
        }
        let directionNames = compared.direction   // without include patterns, skipped tensors do not change them
        let direction = DirectionEvidence(signatures: signatures, tensors: directionNames)
        let sums = squaredDifferences ?? { a, b, tensors in
            tensors.map { SignatureComparison.squaredDifference(signatures[a].tensor(named: $0)!, signatures[b].tensor(named: $0)!) }
        }
        let tensorsOf = signatures.map { sig in names.map { sig.tensor(named: $0)! } }
        var pairBlocks: [PairBlock] = []
        for members in blocks {
            let s = members.count
            var rms = SquareMatrix<Double>(count: s, repeating: 0)
            var correlation = SquareMatrix<Double>(count: s, repeating: 0)
            var meanSquare = SquareMatrix<Double>(count: s, repeating: 0)
            for i in 0..<s {
                correlation[i, i] = 1
                for j in (i + 1)..<s {
                    let (a, b) = (members[i], members[j])
                    let ss = try sums(a, b, names)
                    var pair = PairAccumulator()
                    for t in names.indices {
                        pair.add(sumSquares: ss[t], count: tensorsOf[a][t].count, tensorsOf[a][t].moments, tensorsOf[b][t].moments)
                    }
                    rms[i, j] = pair.rms; rms[j, i] = pair.rms
                    correlation[i, j] = pair.correlation; correlation[j, i] = pair.correlation
                    meanSquare[i, j] = pair.meanSquare; meanSquare[j, i] = pair.meanSquare
                }
            }
            // Merges are found from these alone (`Merges`), so the index finds them as `recover` does.
            pairBlocks.append(PairBlock(members: members, rms: rms, correlation: correlation, maxNormalized: nil,
                                        meanSquare: meanSquare))
        }
        self.init(models: signatures.map { .init(id: $0.id, path: $0.path) }, tensors: names,
                  shapes: names.map { first.tensor(named: $0)!.shape }, skipped: skipped,
                  kurtosis: names.map { name in signatures.map { $0.tensor(named: name)!.kurtosis } },
                  direction: direction, blocks: pairBlocks,
                  ranks: SignatureRankEvidence(signatures: signatures, tensorNames: names, pairRanks: pairRanks))
    }
}

extension DirectionEvidence {
    /// The votes of `tensors` (2-D tensors every signature has), from the signatures' exact moments.
    init(signatures: [ModelSignature], tensors: [String]) {
        self.init(tensors: tensors, moments: tensors.map { name in signatures.map { $0.tensor(named: name)!.moments } },
                  models: signatures.count)
    }
}

/// How two signatures' tensors compare.
package enum SignatureComparison {
    /// Σ (W_a − W_b)² of one tensor: exact for kept values, else ‖s(W_a) − s(W_b)‖² of the
    /// distance sketches (unbiased; relative standard deviation ≈ √(2/k)).
    /// Precondition: both are distance tensors of comparable signatures, sketches loaded.
    package static func squaredDifference(_ a: ModelSignature.Tensor, _ b: ModelSignature.Tensor) -> Double {
        switch (a.sketch, b.sketch) {
        case let (.exact(x)?, .exact(y)?):
            var s = 0.0
            for i in x.indices { let d = Double(x[i]) - Double(y[i]); s += d * d }
            return s
        case let (.sketched(x, _)?, .sketched(y, _)?):
            var s = 0.0
            for i in x.indices { let d = x[i] - y[i]; s += d * d }
            return s
        default:
            preconditionFailure("squaredDifference: tensor '\(a.name)' is not sketched alike in both signatures")
        }
    }

    /// Numerical rank of W_a − W_b for one tensor: from the kept values exactly, else from the
    /// rank sketches (exact below the sketch's size).
    package static func rank(_ a: ModelSignature.Tensor, _ b: ModelSignature.Tensor, _ p: ModelSignature.Parameters) throws -> Int {
        let u = Swift.max(a.unitRoundoff, b.unitRoundoff, DType.f32.unitRoundoff)
        let ss = (a.moments.sumOfSquares, b.moments.sumOfSquares)
        switch (a.sketch, b.sketch) {
        case let (.exact(x)?, .exact(y)?):
            let r = a.shape.first ?? 1, c = a.count / Swift.max(r, 1)
            let (rows, cols) = (Swift.max(r, c), Swift.min(r, c))
            // Column-major rows × cols with rows ≥ cols: the row-major values of a wide tensor
            // already are its transpose in column-major order; a tall one is transposed.
            func matrix(_ v: [Float]) -> [Double] {
                c > r ? v.map { Double($0) } : LinearAlgebra.transpose(v.map { Double($0) }, rows: r, cols: c)
            }
            return NumericalRank.rankOfDifference(matrix(x), matrix(y), rows: rows, columns: cols, matrixRows: rows,
                                                  matrixColumns: cols, sumSquares: ss.0 + ss.1, unitRoundoff: u)
        case let (.sketched(_, x?)?, .sketched(_, y?)?):
            return RankSketchPlan(name: a.name, shape: a.shape, parameters: p).rank(x.values, y.values, sumSquares: ss, unitRoundoff: u)
        default:
            throw ModelTreeError.internal("rank of '\(a.name)': the rank sketches were not loaded")
        }
    }
}

/// The rank evidence of signatures: each pair's ranks from a provider (the index's cache) or
/// from the rank sketches (`SignatureComparison.rank`). Ranks of a 64-column sketch are exact up
/// to 63; the auto metric's limit is capped there.
struct SignatureRankEvidence: RankEvidence {
    let signatures: [ModelSignature]
    let tensorNames: [String]
    let pairRanks: ((Int, Int, [String]) throws -> [Int])?

    var rankCapacity: Int { signatures.first?.parameters.rankColumns ?? 64 }

    func ranks(pairs: [(Int, Int)], threads: Int, progress: (Double) throws -> Void) throws -> [[Int]] {
        var result: [[Int]] = []
        result.reserveCapacity(pairs.count)
        for (k, (a, b)) in pairs.enumerated() {
            result.append(try ranks(a, b, stopAbove: nil))
            if k % 64 == 63 { try progress(Double(k + 1) / Double(pairs.count)) }
        }
        try progress(1)
        return result
    }

    func screenedRanks(nearest: [(Int, Int)], limits: [Int], pairs: [(Int, Int)], threads: Int,
                       progress: (Double) throws -> Void) throws -> (nearest: [[Int]], pairs: [[Int]])? {
        var screened: [[Int]] = []
        for (a, b) in nearest {
            let r = try ranks(a, b, stopAbove: limits)
            if zip(r, limits).contains(where: { $0 > $1 }) { return nil }
            screened.append(r)
        }
        return (screened, try ranks(pairs: pairs, threads: threads, progress: progress))
    }

    /// One pair's ranks per tensor; with `stopAbove`, the tensors after the first rank above its
    /// limit are left at −1.
    private func ranks(_ a: Int, _ b: Int, stopAbove: [Int]?) throws -> [Int] {
        if let pairRanks { return try pairRanks(a, b, tensorNames) }
        var result = [Int](repeating: -1, count: tensorNames.count)
        for (t, name) in tensorNames.enumerated() {
            result[t] = try SignatureComparison.rank(signatures[a].tensor(named: name)!, signatures[b].tensor(named: name)!,
                                                     signatures[a].parameters)
            if let limits = stopAbove, result[t] > limits[t] { break }
        }
        return result
    }
}
