// libFuzzer target: the signature reader (`ModelSignature.init(bytes:)`, the byte format of the
// hub index's signatures, which arrive from other machines) on arbitrary bytes.
//
// Built by mk/fuzz.mk like SafetensorsFuzz.swift (a signature's checks reach its sketches' plans
// and the statistics: most of the core). An input either yields a signature — which then writes back to bytes
// that read again to the same bytes, and whose statistics compute without a trap — or fails with
// `ModelTreeError.format`.

@testable import ModelTree

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSignature(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let signature: ModelSignature
    do {
        signature = try ModelSignature(bytes: bytes)
    } catch let error as ModelTreeError {
        guard case .format = error else { fatalError("signature: error of the wrong kind: \(error)") }
        return 0
    } catch {
        fatalError("signature: not a ModelTreeError: \(error)")
    }
    do {
        // Written once, the bytes are canonical (a signalling NaN read as Float may come back quiet).
        let once = try signature.serialized()
        let again = try ModelSignature(bytes: once).serialized()
        precondition(once == again, "a signature read back does not write the same bytes")
        _ = signature.coarseVector()
        _ = signature.layoutKey
        // Two copies compare: every pair statistic and rank of an accepted signature computes.
        _ = try? recover(signatures: [signature, signature.renamed(signature.id + "'")])
    } catch {
        fatalError("signature: an accepted signature failed: \(error)")
    }
    return 0
}
