import Glibc
import Testing
@testable import ModelTree
@testable import ModelTreeIndex

/// The repository's example zoos, found from this file's place in it.
private let root: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path
}()

/// Every example zoo: the folders of examples/ that hold a truth.json, so a new zoo is covered as
/// soon as it is added.
private let exampleZoos: [String] = {
    guard let dir = opendir(root + "/examples") else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if !name.hasPrefix("."), access(root + "/examples/" + name + "/truth.json", F_OK) == 0 { names.append(name) }
    }
    return names.sorted()
}()

/// The zoo's models as `recover` compares them: an ONNX export's initializers under the other
/// models' names (`TensorMatching`, which the index does not run: it adds models one by one).
private func zoo(_ name: String) throws -> [Model] {
    try TensorMatching.align(ModelLoader.expand([root + "/examples/" + name]).map(ModelLoader.load)).models
}

/// A fresh index file in a temporary folder, removed with it.
private final class TemporaryIndex {
    let folder: String
    let path: String
    init() {
        var template = Array("/tmp/modeltree-index-XXXXXX".utf8CString)
        folder = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        path = folder + "/index.db"
    }
    deinit { _ = system("rm -rf '\(folder)'") }
}

/// A model of F32 tensors held in memory (row-major values).
private func memoryModel(_ id: String, _ tensors: [(name: String, shape: [Int], values: [Float])]) throws -> Model {
    final class Values: @unchecked Sendable {   // written once here, only read after
        let floats: UnsafeMutableBufferPointer<Float>
        init(_ values: [Float]) { floats = .allocate(capacity: Swift.max(1, values.count)); _ = floats.initialize(from: values) }
        deinit { floats.deallocate() }
    }
    let owners = tensors.map { Values($0.values) }
    let views = try zip(tensors, owners).map { t, o in
        try TensorView(name: t.name, dtype: .f32, shape: t.shape, bytes: UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(o.floats)[0..<(4 * t.values.count)]))
    }
    return try Model(id: id, path: nil, tensors: views, owners: owners)
}

/// Deterministic normal and Laplace draws (xorshift64*, Box–Muller).
private struct Draws {
    var state: UInt64
    mutating func uniform() -> Double {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return (Double((state &* 0x2545F4914F6CDD1D) >> 11) + 0.5) * 0x1p-53
    }
    mutating func normal(_ std: Double) -> Float { Float(std * (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())) }
    mutating func laplace(_ b: Double) -> Float { let u = uniform() - 0.5; return Float(-b * (u < 0 ? -1 : 1) * log(1 - 2 * Swift.abs(u))) }
}

/// `models` recovered from their weights as the index can (the index keeps no weights, so it
/// does not type quantized copies from their storage grids, infer latent parents or layer
/// subsets, attach adapters to their bases, nor order pairs by their untouched rows: `recover`
/// only — compare like with like), and added to a fresh index, with its graph.
private func recoveredAndIndexed(_ models: [Model]) throws -> (exact: ModelGraph, index: HubIndex, graph: ModelGraph, file: TemporaryIndex) {
    var untyped = RecoveryOptions()
    untyped.typesQuantizedCopies = false
    untyped.infersLatentParentsAndLayerSubsets = false
    untyped.attachesAdapters = false
    untyped.ordersByUntouchedRows = false
    let exact = try recover(models, options: untyped)
    let file = TemporaryIndex()
    let index = try HubIndex(path: file.path)
    for m in models { try index.add(model: m) }
    return (exact, index, try index.graph(), file)
}

@Suite struct IndexTests {
    @Test func everyExampleZooIsCovered() {
        #expect(exampleZoos.contains("zoo") && exampleZoos.contains("zoo2") && exampleZoos.count >= 3, "\(exampleZoos)")
    }

    @Test(arguments: exampleZoos)
    func theIndexGraphIsRecoversGraph(name: String) throws {
        let (exact, index, g, file) = try recoveredAndIndexed(try zoo(name))
        defer { withExtendedLifetime(file) {} }
        #expect(g.ids == exact.ids)
        #expect(g.parents == exact.parents)
        #expect(g.metric == exact.metric)
        #expect(g.trees.map(\.members) == exact.trees.map(\.members))
        // Edge by edge: a merge has one per parent (both find merges from the same distances).
        #expect(g.edges.map { [$0.parent, $0.child] } == exact.edges.map { [$0.parent, $0.child] })
        for (e, f) in zip(exact.edges, g.edges) {
            #expect(f.type == e.type)
            #expect(Swift.abs(f.distance - e.distance) <= 1e-6 * e.distance)
            // Raw: the calibration's steep ramps (a finetune's 0.18 to 0.79 over 0.04 of raw
            // confidence) magnify the last bits the index's sums differ in.
            #expect(Swift.abs(f.rawConfidence - e.rawConfidence) <= 1e-6)
            #expect(Swift.abs(f.confidence - e.confidence) <= 1e-4)
        }
        // Every indexed model's parent, asked alone, is the graph's: a parent query solves its
        // family alone, over the tensors the family shares, and `graph` and `recover` compare
        // each family over its own tensors too — also where an architecture holds a model with
        // fewer tensors (the typed zoos' adapter folders read as weights here, and layer subsets).
        for (i, id) in exact.ids.enumerated() {
            let answer = try index.parent(of: id)
            #expect(answer.indexed)
            #expect(answer.parents.first?.id == exact.primaryParent(of: i).map { exact.ids[$0] }, "\(id)")
        }
    }

    /// As the CLI adds a folder: each model loaded alone, no export's names mapped onto the
    /// others' (`TensorMatching`), so an ONNX export can make a family of its own beside its
    /// source's, with fewer tensors than the rest of the architecture. Each model's parent,
    /// asked alone, is still the graph's (on main, 8 of typed_zoo's 30 were not).
    @Test(arguments: exampleZoos)
    func aParentQueryIsTheGraphsAsTheCLIAddsModels(name: String) throws {
        let models = try ModelLoader.expand([root + "/examples/" + name]).map(ModelLoader.load)
        let file = TemporaryIndex()
        let index = try HubIndex(path: file.path)
        for m in models { try index.add(model: m) }
        let g = try index.graph()
        for (i, id) in g.ids.enumerated() where !g.models[i].latent {
            let answer = try index.parent(of: id)
            #expect(answer.parents.first?.id == g.primaryParent(of: i).map { g.ids[$0] }, "\(name): \(id)")
        }
    }

    /// Two families of one layout (the same square tensors): LoRA fine-tunes with a head, full
    /// fine-tunes without one. Families with other tensors are solved apart, but the metric is
    /// one for a layout's families — in `recover`, `graph` and a parent query alike: RMS, since
    /// the full fine-tunes' nearest differences are of full rank (by construction).
    @Test func familiesOfOneLayoutShareTheirMetric() throws {
        var draw = Draws(state: 0x9E3779B97F4A7C15)
        let n = 32
        func matrix() -> [Float] { (0..<(n * n)).map { _ in draw.laplace(0.05) } }
        func lora(_ w: [Float]) -> [Float] {   // W + B·A of rank 2
            let b = (0..<(2 * n)).map { _ in draw.normal(0.03) }, a = (0..<(2 * n)).map { _ in draw.normal(1) }
            return (0..<(n * n)).map { k in w[k] + b[(k / n) * 2] * a[k % n] + b[(k / n) * 2 + 1] * a[n + k % n] }
        }
        func dense(_ w: [Float]) -> [Float] { w.map { $0 + draw.normal(0.02) } }
        let head = (0..<(16 * n)).map { _ in draw.laplace(0.05) }
        let l0 = [matrix(), matrix()], f0 = [matrix(), matrix()]
        let l1 = l0.map(lora), l2 = l0.map(lora), f1 = f0.map(dense), f2 = f0.map(dense)
        let l3 = l1.map(lora), f3 = f1.map(dense)
        func named(_ w: [[Float]], head withHead: Bool) -> [(name: String, shape: [Int], values: [Float])] {
            [("q.0", [n, n], w[0]), ("q.1", [n, n], w[1])] + (withHead ? [("head", [16, n], head)] : [])
        }
        let models = try [("l0", l0), ("l1", l1), ("l2", l2), ("l3", l3)].map { try memoryModel($0.0, named($0.1, head: true)) }
            + [("f0", f0), ("f1", f1), ("f2", f2), ("f3", f3)].map { try memoryModel($0.0, named($0.1, head: false)) }
        let (exact, index, g, file) = try recoveredAndIndexed(models)
        defer { withExtendedLifetime(file) {} }
        #expect(exact.metric == .rms && g.metric == .rms)
        #expect(!g.warnings.contains { $0.contains("different metrics") })
        for (i, id) in exact.ids.enumerated() {
            let answer = try index.parent(of: id)
            #expect(answer.metric == .rms, "\(id)")
            let edge = exact.primaryEdge(into: i)
            #expect(answer.parents.first?.id == edge.map { exact.ids[$0.parent] }, "\(id)")
            if let edge, let found = answer.parents.first {
                #expect(Swift.abs(found.distance - edge.distance) <= 1e-6 * edge.distance, "\(id)")
            }
        }
    }

    @Test func aCandidateGetsTheParentRecoverGivesIt() throws {
        let models = try zoo("zoo")
        let exact = try recover(models)
        let signatures = try models.map { try ModelSignature.compute($0) }
        // Leave each leaf out of the index, then ask who it is.
        let leaves = exact.ids.indices.filter { i in !exact.parents.contains(i) }
        for leaf in leaves {
            let file = TemporaryIndex()
            let index = try HubIndex(path: file.path)
            for (k, s) in signatures.enumerated() where k != leaf { try index.add(s) }
            let answer = try index.parent(of: signatures[leaf])
            #expect(!answer.indexed)
            #expect(answer.parents.first?.id == exact.primaryParent(of: leaf).map { exact.ids[$0] }, "\(exact.ids[leaf])")
            #expect(try index.count() == models.count - 1)
        }
    }

    @Test func storedSignaturesComeBackByteForByte() throws {
        let model = try zoo("zoo")[0]
        let signature = try ModelSignature.compute(model)
        let file = TemporaryIndex()
        let index = try HubIndex(path: file.path)
        try index.add(signature)
        #expect(try index.signature(of: model.id).serialized() == signature.serialized())
        let listed = try index.list()
        #expect(listed.map(\.id) == [model.id])
        #expect(listed[0].signatureBytes == (try signature.serialized()).count)
    }
}
