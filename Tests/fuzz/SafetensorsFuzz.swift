// libFuzzer target: the safetensors header validator (`SafetensorsFile.parse`) on arbitrary bytes.
//
// Built by mk/fuzz.mk against the core compiled with -sanitize=fuzzer,address and -enable-testing
// (so `internal` API is visible through `@testable import`). An input either parses — and then
// every invariant the engine relies on must hold — or fails with `ModelTreeError.format`;
// anything else (a trap, an out-of-bounds read reported by ASan, another error kind, a hang) is a
// finding.

@testable import ModelTree

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let image = UnsafeRawBufferPointer(start: data, count: size)
    let parsed: (tensors: [TensorView], metadata: [String: String])
    do {
        parsed = try SafetensorsFile.parse(image)
    } catch let error as ModelTreeError {
        guard case .format = error else { fatalError("safetensors: error of the wrong kind: \(error)") }
        return 0
    } catch {
        fatalError("safetensors: not a ModelTreeError: \(error)")
    }
    checkInvariants(parsed.tensors, in: image)
    return 0
}

/// What the engine assumes of a validated file: each view lies inside the image and holds exactly
/// count × dtype size bytes, names are sorted and unique, the views tile the data section.
private func checkInvariants(_ tensors: [TensorView], in image: UnsafeRawBufferPointer) {
    var covered = 0
    var checksum: UInt8 = 0
    var floats = [Float](repeating: 0, count: 64)
    for (i, t) in tensors.enumerated() {
        precondition(i == 0 || tensors[i - 1].name < t.name, "names not sorted and unique")
        guard let bytes = t.memory, let dtype = t.dtype else { fatalError("a tensor parsed from memory is not in memory") }
        precondition(bytes.count == t.count * dtype.size, "byte count is not count × dtype size")
        if let base = bytes.baseAddress {
            precondition(base >= image.baseAddress! && base + bytes.count <= image.baseAddress! + image.count,
                         "tensor '\(t.name)' points outside the file")
        }
        covered += bytes.count
        // Read every byte (ASan flags a view that strays past the input) and decode a prefix as
        // the streaming pass would.
        for b in bytes { checksum ^= b }
        if t.isWeight {
            let n = Swift.min(t.count, floats.count)
            floats.withUnsafeMutableBufferPointer { out in
                do { try t.decode(0..<n, into: out.baseAddress!) } catch { fatalError("decoding memory threw \(error)") }
            }
        }
    }
    precondition(covered <= image.count, "tensors cover more bytes than the file has")
    // A model built from the views must accept them (unique names).
    do { _ = try Model(id: "fuzz", path: nil, tensors: tensors, owners: []) } catch {
        fatalError("Model rejected a validated file: \(error)")
    }
    blackHole(checksum)
}

@inline(never) private func blackHole(_ x: UInt8) { if x == 0xFF && CommandLine.arguments.isEmpty { print(x) } }
