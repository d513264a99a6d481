/// What an adapter's weights say about a candidate base, measured tensor by tensor: the evidence
/// `AdapterAttachment` weighs. Reads each tensor once, in pieces, never a whole model.
struct AdapterEvidence {
    /// The tensors an adapter touches, by how it touches them.
    struct Touched {
        /// Low-rank updates ΔW = scale·B·A (or its transpose), by base tensor name.
        var updates: [(name: String, update: LowRankProduct)] = []
        /// Full tensors the adapter saves (`modules_to_save`, an embedding's base layer), by base
        /// tensor name: a trained copy of the base's tensor (or the base's own, untrained).
        var saved: [(name: String, tensor: TensorView)] = []
        /// Every base tensor the adapter changes, with its shape: what a base must hold.
        var shapes: [(name: String, shape: [Int])] = []
    }

    /// What an adapter touches: its low-rank updates, its saved tensors (a target both saved and
    /// updated counts as both) and its bias updates (shape only: a scaled bias is no evidence).
    static func touched(_ adapter: Model) -> Touched {
        var touched = Touched()
        for t in adapter.tensors {
            touched.shapes.append((t.name, t.shape))
            switch t.source {
            case let update as LowRankProduct:
                touched.updates.append((t.name, update))
                if let plus = update.plus { touched.saved.append((t.name, plus)) }
            case is Affine:
                break
            default:
                touched.saved.append((t.name, t))
            }
        }
        return touched
    }

    /// Orthonormal bases of an update's column and row spaces: for ΔW = B·A·scale the columns of
    /// B ([out, r]) and of Aᵀ ([k, r]); for a transposed update (an embedding, fan_in_fan_out)
    /// the other way round.
    struct Subspaces {
        /// Rows × `left.count`, one orthonormal column per entry (length: the tensor's rows).
        var left: [[Double]]
        /// One orthonormal column per entry (length: the tensor's elements per row).
        var right: [[Double]]
    }

    static func subspaces(_ update: LowRankProduct) throws -> Subspaces {
        let a = try update.a.decode().map(Double.init), b = try update.b.decode().map(Double.init)
        let r = update.pair.rank, k = a.count / r, out = b.count / r
        // Columns of B: B[o, q]; columns of Aᵀ: A[q, ·].
        let bColumns = (0..<r).map { q in (0..<out).map { b[$0 * r + q] } }
        let aColumns = (0..<r).map { q in Array(a[(q * k)..<((q + 1) * k)]) }
        return update.pair.transposed
            ? Subspaces(left: orthonormal(aColumns), right: orthonormal(bColumns))
            : Subspaces(left: orthonormal(bColumns), right: orthonormal(aColumns))
    }

    /// Gram–Schmidt, twice per column for stability; a column with nothing left beyond the others
    /// (relative to its own norm) is dropped, so the bases span what the update can reach.
    static func orthonormal(_ columns: [[Double]]) -> [[Double]] {
        var basis: [[Double]] = []
        for column in columns {
            var v = column
            let norm0 = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm0 > 0 else { continue }
            for _ in 0..<2 {
                for q in basis {
                    var dot = 0.0
                    for i in v.indices { dot += v[i] * q[i] }
                    for i in v.indices { v[i] -= dot * q[i] }
                }
            }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 1e-6 * norm0 else { continue }
            basis.append(v.map { $0 / norm })
        }
        return basis
    }

    /// Elements decoded per piece: a multiple of `TensorView.rangeAlignment`, so a block-quantized
    /// candidate decodes whole blocks.
    static let piece = 1 << 18

    /// A tensor seen through an update's subspaces: Lᵀ·W·R (|L| × |R|, row-major) and ‖W‖²_F.
    struct Projection {
        var inside: [Double]
        var energy: Double

        /// ‖Lᵀ W R‖²_F / ‖W‖²_F: the share of W's energy in the update's subspaces. A matrix with
        /// no preference puts |L|·|R| / (rows·columns) of its energy there.
        var share: Double { energy > 0 ? inside.reduce(0) { $0 + $1 * $1 } / energy : .nan }

        /// ⟨Lᵀ X R, Lᵀ Y R⟩ = ⟨X, Y⟩ when X lies in the subspaces (an update does).
        static func dot(_ x: Projection, _ y: Projection) -> Double {
            zip(x.inside, y.inside).reduce(0) { $0 + $1.0 * $1.1 }
        }
    }

    /// `w` (viewed as rows × the rest) through the subspaces `s`: O(elements · |R|) arithmetic
    /// over one read of the tensor.
    static func project(_ w: TensorView, _ s: Subspaces) throws -> Projection {
        let rows = w.shape.first ?? 1, columns = w.count / Swift.max(rows, 1)
        let rl = s.left.count, rr = s.right.count
        // R row-major (columns × rr), so W·R accumulates element by element.
        var right = [Double](repeating: 0, count: columns * rr)
        for (j, v) in s.right.enumerated() { for c in 0..<columns { right[c * rr + j] = v[c] } }
        var wr = [Double](repeating: 0, count: rows * rr)
        var energy = 0.0
        try forEachPiece(of: w) { start, values in
            for (n, x) in values.enumerated() {
                let index = start + n, row = index / columns, column = index - row * columns
                let value = Double(x)
                energy += value * value
                for j in 0..<rr { wr[row * rr + j] += value * right[column * rr + j] }
            }
        }
        var inside = [Double](repeating: 0, count: rl * rr)
        for (i, q) in s.left.enumerated() {
            for j in 0..<rr {
                var e = 0.0
                for row in 0..<rows { e += q[row] * wr[row * rr + j] }
                inside[i * rr + j] = e
            }
        }
        return Projection(inside: inside, energy: energy)
    }

    /// The RMS of `a − b` (same shape).
    static func rmsDifference(_ a: TensorView, _ b: TensorView) throws -> Double {
        var sum = 0.0
        var other = [Float](repeating: 0, count: Swift.min(piece, b.count))
        try forEachPiece(of: a) { start, values in
            try other.withUnsafeMutableBufferPointer { buffer in
                try b.decode(start..<(start + values.count), into: buffer.baseAddress!)
            }
            for (n, x) in values.enumerated() {
                let d = Double(x) - Double(other[n])
                sum += d * d
            }
        }
        return (sum / Double(Swift.max(1, a.count))).squareRoot()
    }

    /// `body(start, values)` for consecutive pieces of the tensor's elements.
    static func forEachPiece(of t: TensorView, _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        var buffer = [Float](repeating: 0, count: Swift.min(piece, t.count))
        var start = 0
        while start < t.count {
            let end = Swift.min(t.count, start + piece)
            try buffer.withUnsafeMutableBufferPointer { b in
                try t.decode(start..<end, into: b.baseAddress!)
                try body(start, UnsafeBufferPointer(rebasing: b[0..<(end - start)]))
            }
            start = end
        }
    }
}
