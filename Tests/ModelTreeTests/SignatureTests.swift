import Glibc
import Testing
@testable import ModelTree

/// The repository's example zoos, found from this file's place in it.
let repositoryRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = FileSystem.parent(path) }
    return path
}()

func zooModels(_ zoo: String) throws -> [Model] {
    try ModelLoader.expand([FileSystem.join(repositoryRoot, "examples/" + zoo)]).map(ModelLoader.load)
}

@Suite struct SignatureTests {
    @Test func xxh64MatchesTheSpecificationsVectors() {
        // Published test vectors of XXH64 (seed 0): "" and "a" and "abc".
        #expect(Hashing.xxh64([]) == 0xEF46_DB37_51D8_E999)
        #expect(Hashing.xxh64(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(Hashing.xxh64(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
    }

    @Test(arguments: ["zoo", "zoo2"])
    func signaturesRecoverTheSameGraphAsTheWeights(zoo: String) throws {
        let models = try zooModels(zoo)
        let exact = try recover(models)
        let signatures = try models.map { try ModelSignature.compute($0) }
        let sketched = try recover(signatures: signatures)
        #expect(sketched.ids == exact.ids)
        #expect(sketched.parents == exact.parents)
        #expect(sketched.metric == exact.metric)
        #expect(sketched.trees.map(\.members) == exact.trees.map(\.members))
        #expect(sketched.trees.map(\.direction) == exact.trees.map(\.direction))
        for (e, f) in zip(sketched.edges, exact.edges) {
            #expect(Swift.abs(e.distance - f.distance) <= 1e-6 * f.distance)
        }
    }

    @Test func aSignatureSurvivesItsBytes() throws {
        let model = try zooModels("zoo")[0]
        let signature = try ModelSignature.compute(model)
        let bytes = try signature.serialized()
        let back = try ModelSignature(bytes: bytes)
        #expect(try back.serialized() == bytes)
        #expect(back.id == model.id && back.hash == signature.hash && back.tensors.count == signature.tensors.count)
    }

    /// The distance sketch estimates Σ (a − b)² without bias, with a relative standard deviation of
    /// about √(2/k) of that sum; a tensor kept whole gives it exactly. The oracle is a plain loop.
    @Test func distanceSketchesEstimateSquaredDifferences() throws {
        var s = Sampler(seed: 11)
        let n = 200
        let a = (0..<(n * n)).map { _ in s.laplace(0.05) }
        let b = a.map { $0 + s.gaussian() * 0.002 }
        let exact = zip(a, b).reduce(0.0) { sum, p in
            let d = Double(Float(p.0)) - Double(Float(p.1)); return sum + d * d
        }
        var errors: [Double] = []
        for (k, seedName) in [(512, "w"), (512, "v"), (512, "u"), (2048, "w")] {
            let p = ModelSignature.Parameters(distanceBuckets: k, coarseBuckets: 64, rankRows: 96, rankColumns: 64, rankHits: 4)
            let x = try ModelSignature.compute(try makeModel("a", [(seedName, [n, n], a)]), parameters: p)
            let y = try ModelSignature.compute(try makeModel("b", [(seedName, [n, n], b)]), parameters: p)
            let estimate = SignatureComparison.squaredDifference(x.tensors[0], y.tensors[0])
            let relative = (estimate - exact) / exact
            #expect(Swift.abs(relative) < 5 * (2.0 / Double(k)).squareRoot(), "k \(k): \(relative)")
            errors.append(relative)
        }
        #expect(errors.contains { $0 != 0 })          // sketched, not kept
        // 64 × 64 = 4,096 elements ≤ 2k: kept, exact.
        let small = try ModelSignature.compute(try makeModel("a", [("w", [64, 64], Array(a.prefix(4096)))]))
        let other = try ModelSignature.compute(try makeModel("b", [("w", [64, 64], Array(b.prefix(4096)))]))
        let kept = zip(a.prefix(4096), b.prefix(4096)).reduce(0.0) { sum, p in
            let d = Double(Float(p.0)) - Double(Float(p.1)); return sum + d * d
        }
        #expect(SignatureComparison.squaredDifference(small.tensors[0], other.tensors[0]) == kept)
    }

    /// A merged LoRA update of rank r reads as rank r from two signatures (sketches of each model
    /// alone, subtracted), in F32 and BF16, tall and wide; a full fine-tune fills the sketch.
    @Test(arguments: [DType.f32, .bf16])
    func rankSketchesGiveTheRankOfADifference(dtype: DType) throws {
        var s = Sampler(seed: 13)
        for (rows, cols, r) in [(300, 200, 5), (120, 400, 9)] {
            let base = (0..<(rows * cols)).map { _ in s.laplace(0.05) }
            let child = zip(base, s.lowRank(rows, cols, r, scale: 0.03)).map { $0 + $1 }
            let full = base.map { $0 + s.gaussian() * 0.01 }
            let sigs = try [base, child, full].enumerated().map { k, w in
                try ModelSignature.compute(try makeModel("m\(k)", [("w", [rows, cols], w)], dtype: dtype))
            }
            guard case .sketched(_, let sketch?)? = sigs[0].tensors[0].sketch else {
                Issue.record("a \(rows) × \(cols) tensor was not sketched"); continue
            }
            #expect(sketch.single == (dtype == .bf16))
            let p = sigs[0].parameters
            #expect(try SignatureComparison.rank(sigs[0].tensors[0], sigs[1].tensors[0], p) == r, "\(dtype) \(rows)×\(cols)")
            #expect(try SignatureComparison.rank(sigs[1].tensors[0], sigs[1].tensors[0], p) == 0)
            #expect(try SignatureComparison.rank(sigs[0].tensors[0], sigs[2].tensors[0], p) == p.rankColumns)
        }
    }

    /// Moments kept in a signature give scipy's excess kurtosis (fisher, biased), computed here by a
    /// plain two-pass loop.
    @Test func kurtosisFromTheSignatureIsTheTensors() throws {
        var s = Sampler(seed: 17)
        let values = (0..<30_000).map { _ in s.laplace(0.05) + 0.01 }
        let sig = try ModelSignature.compute(try makeModel("a", [("w", [150, 200], values)]))
        let x = values.map { Double(Float($0)) }
        let mean = x.reduce(0, +) / Double(x.count)
        let m2 = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
        let m4 = x.reduce(0) { $0 + pow($1 - mean, 4) } / Double(x.count)
        #expect(Swift.abs(sig.tensors[0].kurtosis - (m4 / (m2 * m2) - 3)) < 1e-6)
    }

    @Test func corruptAndForeignBytesAreRefusedWithAMessage() throws {
        let bytes = try ModelSignature.compute(try zooModels("zoo")[0]).serialized()
        func refused(_ b: [UInt8], _ fragment: String) {
            do {
                _ = try ModelSignature(bytes: b)
                Issue.record("accepted: \(fragment)")
            } catch let e as ModelTreeError {
                guard case .format(let m) = e, m.contains(fragment) else { Issue.record("\(e) lacks '\(fragment)'"); return }
            } catch { Issue.record("\(error)") }
        }
        var flipped = bytes
        flipped[bytes.count / 2] ^= 1
        refused(flipped, "checksum does not match")
        refused(Array(bytes.dropLast()), "truncated")
        refused(bytes + [0], "after the end")
        var newer = bytes
        newer[8] = 2
        refused(newer, "newer than this library reads")
        refused(Array("not a signature at all".utf8), "not a signature")
    }
}
