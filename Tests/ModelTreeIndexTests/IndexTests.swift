import Glibc
import Testing
import ModelTree
@testable import ModelTreeIndex

/// The repository's example zoos, found from this file's place in it.
private let root: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path
}()

private func zoo(_ name: String) throws -> [Model] {
    try ModelLoader.expand([root + "/examples/" + name]).map(ModelLoader.load)
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
    @Test(arguments: ["zoo", "zoo2"])
    func theIndexGraphIsRecoversGraph(name: String) throws {
        let models = try zoo(name)
        let exact = try recover(models)
        let file = TemporaryIndex()
        let index = try HubIndex(path: file.path)
        for m in models { try index.add(model: m) }
        let g = try index.graph()
        #expect(g.ids == exact.ids)
        #expect(g.parents == exact.parents)
        #expect(g.metric == exact.metric)
        #expect(g.trees.map(\.members) == exact.trees.map(\.members))
        for e in exact.edges {
            let f = g.primaryEdge(into: e.child)!
            #expect(Swift.abs(f.distance - e.distance) <= 1e-6 * e.distance)
            #expect(Swift.abs(f.confidence - e.confidence) <= 1e-6)
        }
        // Every indexed model's parent, asked alone, is the graph's.
        for (i, id) in exact.ids.enumerated() {
            let answer = try index.parent(of: id)
            #expect(answer.indexed)
            #expect(answer.parents.first?.id == exact.primaryParent(of: i).map { exact.ids[$0] })
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
