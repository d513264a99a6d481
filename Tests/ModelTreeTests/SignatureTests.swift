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
}
