// libFuzzer target: the model card's front-matter reader (`FrontMatter`) on arbitrary bytes taken
// as a README.md, and the resolution of what it reads (`Audit.resolve`) against a fixed set of
// models.
//
// Built by mk/fuzz.mk like SafetensorsFuzz.swift. The reader never throws: any input gives names
// (each non-empty, on one line), a relation or nothing, and a reason for what it refused; a name
// resolves to one model, several or none, and never to an index out of range.

@testable import ModelTree

private let ids = ["base", "ft-a", "FT-A", "x.gguf", "renamed"]
private let paths: [String?] = ["/data/models/base", "/zoo/ft-a/", nil, "/zoo/x.gguf", "/zoo/original"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrontMatter(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    let card = FrontMatter(parsing: text)
    for name in card.baseModels {
        precondition(!name.isEmpty && !name.contains("\n") && !name.contains("\r"), "a name that is not one line: \(name)")
        precondition(!name.unicodeScalars.contains("\u{FFFD}"), "a name from bytes that were not UTF-8")
        switch Audit.resolve(name, ids: ids, paths: paths) {
        case .model(let i): precondition(ids.indices.contains(i), "resolved to \(i)")
        case .ambiguous(let found): precondition(found.count > 1 && found.allSatisfy(ids.indices.contains), "ambiguous \(found)")
        case .notInCollection: break
        }
    }
    if let relation = card.relation { precondition(!relation.contains("\n"), "a relation over several lines") }
    if card.problem != nil { precondition(card.problem!.isEmpty == false) }
    _ = Audit.resolve(text, ids: ids, paths: paths)
    return 0
}
