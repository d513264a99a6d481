import XCTest
@testable import ModelTree

/// Whichever kernel set runs, the same graph: every set this CPU supports is forced in turn
/// (`RecoveryOptions.kernels`, what `MODELTREE_KERNEL` does for a process) on the example zoos
/// and on synthetic families shaped like the benchmark's (a root, ⌈√(n−1)⌉ children, the rest
/// grandchildren; dense fine-tunes or merged LoRA updates; BF16 and F32; sizes on both sides of
/// the Gram form's threshold). Edges, roots, metric and trees are identical; distances agree
/// within `tolerance` (sets round differently: 4, 8 or 16 lanes, FMA or not, the Gram form);
/// and on each set the graph is bit for bit the same on 1 and 3 threads. On the synthetic
/// families the edges are also the true ones, known by construction.
final class KernelChoiceTests: XCTestCase {
    /// Distances of two sets differ by at most this, relatively: each RMS is within ~(32 + 8)·u
    /// of the exact value on every set (the Gram form within 64 times that, by its check), a
    /// rank distance is an integer plus RMS / (2 · max RMS).
    let tolerance = 1e-4

    static let repository: String = {
        var path = #filePath
        for _ in 0..<3 { path = FileSystem.parent(path) }     // Tests/ModelTreeTests/<file>
        return path
    }()

    /// Recovers `models` on every supported set and thread count; compares with the first (the
    /// best set, one thread). Returns that graph.
    @discardableResult
    func recoverOnEverySet(_ models: [Model], _ label: String, options: RecoveryOptions = RecoveryOptions()) throws -> ModelGraph {
        var reference: (set: String, graph: ModelGraph)?
        for kernels in KernelSet.supported {
            var perSet: ModelGraph?
            for threads in [1, 3] {
                var o = options
                o.kernels = kernels
                o.threads = threads
                let g = try recover(models, options: o)
                if let perSet {
                    XCTAssertEqual(g.distances, perSet.distances, "\(label) \(kernels.name): threads change the distances")
                    XCTAssertEqual(g.edges, perSet.edges, "\(label) \(kernels.name): threads change the edges")
                    continue
                }
                perSet = g
                guard let (name, r) = reference else { reference = (kernels.name, g); continue }
                let pair = "\(label) \(kernels.name) against \(name)"
                XCTAssertEqual(g.metric, r.metric, pair)
                XCTAssertEqual(g.parents, r.parents, pair)
                XCTAssertEqual(g.edges.map { [$0.parent, $0.child] }, r.edges.map { [$0.parent, $0.child] }, pair)
                XCTAssertEqual(g.edges.map(\.type), r.edges.map(\.type), pair)
                XCTAssertEqual(g.trees.map(\.members), r.trees.map(\.members), pair)
                XCTAssertEqual(g.roots, r.roots, pair)
                XCTAssertEqual(g.tensors, r.tensors, pair)
                for (x, y) in zip(g.distances.elements, r.distances.elements) {
                    XCTAssertEqual(x, y, accuracy: tolerance * Swift.max(Swift.abs(y), 1e-30), pair)
                }
            }
        }
        return reference!.graph
    }

    func testExampleZoos() throws {
        for zoo in ["examples/zoo", "examples/zoo2"] {
            let models = try ModelLoader.expand([FileSystem.join(Self.repository, zoo)]).map(ModelLoader.load)
            XCTAssertGreaterThan(models.count, 5, zoo)
            try recoverOnEverySet(models, zoo)
            var rms = RecoveryOptions()
            rms.metric = .rms
            try recoverOnEverySet(models, zoo + " rms", options: rms)
        }
    }

    /// The benchmark's family shape (bench/gen_family.py), small: parent of each model.
    func benchmarkTree(_ n: Int) -> [Int] {
        var parent = [Int](repeating: -1, count: n)
        let children = n > 1 ? Int(Double(n - 1).squareRoot().rounded(.up)) : 0
        for i in 1..<Swift.min(n, children + 1) { parent[i] = 0 }
        for (k, i) in (Swift.min(n, children + 1)..<n).enumerated() { parent[i] = 1 + k % children }
        return parent
    }

    /// Weights of a benchmark-shaped family: Laplace root, children by dense noise of 8–12 % of
    /// the spread (`lora`: by rank-`rank` updates of every matrix instead).
    func benchmarkFamily(_ n: Int, side: Int, layers: Int, lora: Bool, dtype: DType, seed: UInt64) throws -> (models: [Model], parent: [Int]) {
        var s = Sampler(seed: seed)
        let parent = benchmarkTree(n)
        let spread = 0.02
        var weights: [[[Double]]] = []
        for m in 0..<n {
            if parent[m] < 0 {
                weights.append((0..<layers).map { _ in (0..<(side * side)).map { _ in s.laplace(spread / 2.0.squareRoot()) } })
                continue
            }
            weights.append(weights[parent[m]].map { w in
                if lora {
                    let update = s.lowRank(side, side, 4, scale: spread / 4)
                    return zip(w, update).map { $0 + $1 }
                }
                let noise = spread * (0.08 + 0.04 * s.uniform())
                return w.map { $0 + noise * s.gaussian() }
            })
        }
        let models = try weights.enumerated().map { m, w in
            try makeModel("m\(m)", w.enumerated().map { ("layers.\($0.offset).weight", [side, side], $0.element) }, dtype: dtype)
        }
        return (models, parent)
    }

    func testBenchmarkShapedFamilies() throws {
        // Big enough for the Gram form on the sets that take it first (AVX2 from 96 models).
        let gramFamily = KernelSet.supported.map(PairwiseStatistics.gramMinimumModels).min()! + 6
        for (n, side, lora, dtype) in [(8, 64, false, DType.bf16), (8, 64, false, .f32), (33, 48, false, .bf16),
                                       (gramFamily, 64, false, .bf16), (12, 48, true, .bf16)] {
            let label = "n\(n) \(lora ? "lora" : "full") \(dtype)"
            let (models, parent) = try benchmarkFamily(n, side: side, layers: 3, lora: lora, dtype: dtype, seed: UInt64(n * 7 + side))
            let g = try recoverOnEverySet(models, label)
            XCTAssertEqual(g.metric, lora ? .rank : .rms, label)
            XCTAssertEqual(g.parents, parent, label)
        }
    }
}
