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

@Suite struct IndexTests {
    @Test func everyExampleZooIsCovered() {
        #expect(exampleZoos.contains("zoo") && exampleZoos.contains("zoo2") && exampleZoos.count >= 3, "\(exampleZoos)")
    }

    @Test(arguments: exampleZoos)
    func theIndexGraphIsRecoversGraph(name: String) throws {
        let models = try zoo(name)
        // The index keeps no weights, so it does not type quantized copies from their storage
        // grids, infer latent parents or layer subsets, attach adapters to their bases, nor order
        // pairs by their untouched rows (`recover` only): compare like with like.
        var untyped = RecoveryOptions()
        untyped.typesQuantizedCopies = false
        untyped.infersLatentParentsAndLayerSubsets = false
        untyped.attachesAdapters = false
        untyped.ordersByUntouchedRows = false
        let exact = try recover(models, options: untyped)
        let file = TemporaryIndex()
        let index = try HubIndex(path: file.path)
        for m in models { try index.add(model: m) }
        let g = try index.graph()
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
