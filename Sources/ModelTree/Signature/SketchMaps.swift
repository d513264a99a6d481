/// The random maps of a signature's sketches, all drawn from hashes of element indices under a
/// tensor's seed (`Hashing`), so that they are never stored and always the same.

/// The CountSketch of a distance tensor: element i (row-major) goes to bucket `h(i)` with sign
/// `σ(i)`, both from `Hashing.mix(seed, i)`: the bucket from its upper 32 bits
/// (`Hashing.bucket`), the sign from its lowest bit (0: +1, 1: −1).
struct CountSketch {
    let seed: UInt64
    let buckets: Int

    /// The salt of the distance sketch's seed (`Hashing.tensorSeed`).
    static let salt: UInt64 = 0x4D54_4449_5354_0001      // "MTDIST" 1

    init(name: String, shape: [Int], buckets: Int) {
        seed = Hashing.tensorSeed(name: name, shape: shape, salt: Self.salt)
        self.buckets = buckets
    }

    /// Adds `count` values, the elements `first…`, into `sketch` (`buckets` doubles).
    func add(_ x: UnsafePointer<Float>, count: Int, first: Int, into sketch: UnsafeMutablePointer<Double>) {
        let k = UInt64(buckets)
        for t in 0..<count {
            let z = Hashing.mix(seed, UInt64(first + t))
            let b = Int(((z >> 32) &* k) >> 32)
            let v = Double(x[t])
            sketch[b] += (z & 1) == 0 ? v : -v
        }
    }

    /// The sketch of a whole tensor's values (for a tensor kept exact, whose coarse sketch is
    /// made from its values).
    func sketch(_ values: [Float]) -> [Double] {
        var out = [Double](repeating: 0, count: buckets)
        values.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { add(v.baseAddress!, count: v.count, first: 0, into: $0.baseAddress!) }
        }
        return out
    }

    /// The sketch folded to `coarse` buckets (bucket b collects the buckets ≡ b mod `coarse`):
    /// itself a CountSketch, with buckets h(i) mod `coarse`.
    static func fold(_ sketch: [Double], to coarse: Int) -> [Double] {
        var out = [Double](repeating: 0, count: coarse)
        for (b, v) in sketch.enumerated() { out[b % coarse] += v }
        return out
    }
}

/// A sparse sign embedding of `n` coordinates into `m` (Nelson & Nguyễn's OSNAP, in its block
/// form): coordinate j has one non-zero in each of `hits` blocks of `m / hits` rows, at a row and
/// with a sign drawn from `Hashing.mix(seed, j · hits + l)` for block l, each of magnitude
/// 1/√hits. Its noise gain equals a Gaussian embedding's (each row collects n · hits / m
/// coordinates of weight 1/hits), which the rank tolerance relies on; applying it costs `hits`
/// additions per coordinate instead of m multiplications. When n ≤ m there is nothing to reduce:
/// the map is the identity.
struct SparseSignEmbedding {
    let n: Int
    let m: Int
    let hits: Int
    /// `n · hits` entries: target row × 2 + (1 for a negative sign); empty for the identity.
    let table: [Int32]

    var isIdentity: Bool { table.isEmpty }
    /// The magnitude of a non-zero.
    var scale: Double { isIdentity ? 1 : 1 / Double(hits).squareRoot() }
    /// The output size.
    var size: Int { isIdentity ? n : m }

    init(n: Int, m: Int, hits: Int, seed: UInt64) {
        self.n = n
        self.m = m
        self.hits = hits
        guard n > m else { table = []; return }
        let width = m / hits
        var table = [Int32](repeating: 0, count: n * hits)
        for j in 0..<n {
            for l in 0..<hits {
                let z = Hashing.mix(seed, UInt64(j * hits + l))
                let row = l * width + Hashing.bucket(z, width)
                table[j * hits + l] = Int32(row * 2 + Int(z & 1))
            }
        }
        self.table = table
    }
}

/// The rank sketch Z = Ψᵀ·A·Ω of one tensor seen as a matrix A (`RankSketchPlan`): A is the
/// tensor as `shape[0] × (product of the rest)`, transposed when it is wider than tall (so A
/// has at least as many rows as columns); Ψ embeds A's rows into `rankRows`, Ω its columns into
/// `rankColumns`. Z accumulates element by element in storage order, so a streaming pass makes
/// it from segments that split rows anywhere: every element adds ψ·ω·w to the entries its row
/// and column reach.
struct RankSketchPlan {
    /// The tensor's rows and columns (storage order).
    let r: Int, c: Int
    let transposed: Bool
    /// Over A's rows (the tensor's columns when transposed) and A's columns.
    let psi: SparseSignEmbedding
    let omega: SparseSignEmbedding

    /// The salts of the two embeddings' seeds.
    static let psiSalt: UInt64 = 0x4D54_5053_4900_0001, omegaSalt: UInt64 = 0x4D54_4F4D_4547_0001

    init(name: String, shape: [Int], parameters p: ModelSignature.Parameters) {
        r = shape.first ?? 1
        c = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
        transposed = c > r
        let rows = Swift.max(r, c), cols = Swift.min(r, c)
        psi = SparseSignEmbedding(n: rows, m: p.rankRows, hits: p.rankHits,
                                  seed: Hashing.tensorSeed(name: name, shape: shape, salt: Self.psiSalt))
        omega = SparseSignEmbedding(n: cols, m: p.rankColumns, hits: p.rankHits,
                                    seed: Hashing.tensorSeed(name: name, shape: shape, salt: Self.omegaSalt))
    }

    /// Sketch rows and columns.
    var rows: Int { psi.size }
    var columns: Int { omega.size }

    /// The map applied to a tensor column index j (inner, per element) and to a row index i
    /// (outer, once per row): Ω and Ψ, or Ψ and Ω when transposed.
    private var inner: SparseSignEmbedding { transposed ? psi : omega }
    private var outer: SparseSignEmbedding { transposed ? omega : psi }

    /// Adds the elements `first ..< first + count` (row-major values `x`) into `z` (column-major
    /// rows × columns, unscaled: `finish` applies the embeddings' magnitudes). `row` is scratch
    /// of `inner.size` doubles.
    func add(_ x: UnsafePointer<Float>, count: Int, first: Int, into z: UnsafeMutablePointer<Double>,
             row: UnsafeMutablePointer<Double>) {
        let inner = self.inner, outer = self.outer
        let width = inner.size
        var e = first
        let end = first + count
        inner.table.withUnsafeBufferPointer { innerTable in
            outer.table.withUnsafeBufferPointer { outerTable in
                while e < end {
                    let i = e / c
                    let stop = Swift.min(end, (i + 1) * c)
                    row.update(repeating: 0, count: width)
                    // The inner map along this row's elements.
                    if inner.isIdentity {
                        for e2 in e..<stop { row[e2 - i * c] += Double(x[e2 - first]) }
                    } else {
                        let hits = inner.hits
                        for e2 in e..<stop {
                            let v = Double(x[e2 - first])
                            let base = (e2 - i * c) * hits
                            for l in 0..<hits {
                                let t = Int(innerTable[base + l])
                                row[t >> 1] += (t & 1) == 0 ? v : -v
                            }
                        }
                    }
                    // The outer map: the row's partial sums go to the rows (or columns) of z that
                    // row i reaches.
                    let rows = self.rows
                    func flush(_ target: Int, _ negative: Bool) {
                        if transposed {            // target is a column q: z[p + q·rows] += u[p]
                            let col = z + target * rows
                            if negative { for p in 0..<width { col[p] -= row[p] } } else { for p in 0..<width { col[p] += row[p] } }
                        } else {                   // target is a row p: z[p + q·rows] += u[q]
                            if negative { for q in 0..<width { z[target + q * rows] -= row[q] } }
                            else { for q in 0..<width { z[target + q * rows] += row[q] } }
                        }
                    }
                    if outer.isIdentity {
                        flush(i, false)
                    } else {
                        for l in 0..<outer.hits {
                            let t = Int(outerTable[i * outer.hits + l])
                            flush(t >> 1, (t & 1) == 1)
                        }
                    }
                    e = stop
                }
            }
        }
    }

    /// The finished sketch: `z` scaled by both embeddings' magnitudes.
    func finish(_ z: [Double]) -> [Double] {
        let s = psi.scale * omega.scale
        return s == 1 ? z : z.map { $0 * s }
    }

    /// The sketch of a whole tensor's values.
    func sketch(_ values: [Float]) -> [Double] {
        var z = [Double](repeating: 0, count: rows * columns)
        var row = [Double](repeating: 0, count: Swift.max(1, transposed ? rows : columns))
        values.withUnsafeBufferPointer { v in
            z.withUnsafeMutableBufferPointer { zb in
                row.withUnsafeMutableBufferPointer { add(v.baseAddress!, count: v.count, first: 0, into: zb.baseAddress!, row: $0.baseAddress!) }
            }
        }
        return finish(z)
    }

    /// Numerical rank of Z_a − Z_b: the rank of W_a − W_b when it is below the sketch's size,
    /// against the tolerance of the rounding the two tensors' storage carries
    /// (`NumericalRank.rankOfDifference`, the gains of the two embeddings included).
    func rank(_ a: [Double], _ b: [Double], sumSquares: (Double, Double), unitRoundoff: Double) -> Int {
        NumericalRank.rankOfDifference(a, b, rows: rows, columns: columns, matrixRows: Swift.max(r, c), matrixColumns: Swift.min(r, c),
                                       sumSquares: sumSquares.0 + sumSquares.1, unitRoundoff: unitRoundoff)
    }
}
