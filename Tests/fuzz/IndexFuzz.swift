// libFuzzer target: the shard index reader (`ModelLoader.weightMap`, which runs `JSONParser.parse`
// at its default depth) on arbitrary bytes.
//
// Built by mk/fuzz.mk like SafetensorsFuzz.swift. An input either yields a weight map whose shard
// names are plain file names, or fails with `ModelTreeError.format`.

@testable import ModelTree

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIndex(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    // The parser alone: a document that parses equals itself (exercises `==` on any shape).
    if let value = try? JSONParser.parse(bytes) {
        precondition(value == value, "a parsed JSON value is not equal to itself")
        _ = value["weight_map"]
    }
    let map: [String: String]
    do {
        map = try ModelLoader.weightMap(parsing: bytes, indexPath: "fuzz/model.safetensors.index.json")
    } catch let error as ModelTreeError {
        guard case .format = error else { fatalError("index: error of the wrong kind: \(error)") }
        return 0
    } catch {
        fatalError("index: not a ModelTreeError: \(error)")
    }
    precondition(!map.isEmpty, "an empty weight_map was accepted")
    for (_, shard) in map {
        precondition(!shard.isEmpty && shard != "." && shard != ".." && !shard.contains("/") && !shard.contains("\0"),
                     "shard name '\(shard)' leaves the folder")
        _ = ModelLoader.looksLikeShard(shard)
    }
    return 0
}
