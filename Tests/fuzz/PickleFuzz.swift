// libFuzzer target: the torch.save reader — the stored-zip reader and the restricted pickle
// machine (`TorchCheckpoint.parse`, `PickleMachine` with `StateDictPolicy`) — on arbitrary bytes.
//
// The first byte chooses what the rest is: even, a whole archive image (`TorchCheckpoint.parse`);
// odd, a `data.pkl` run against a fixed archive holding storages 0…3 (so that persistent loads
// and tensor rebuilds succeed and the fuzzer reaches the state-dict checks). Built by mk/fuzz.mk
// like SafetensorsFuzz.swift. Nothing may be called but the policy's Swift code: an input either
// gives a state dict whose every tensor lies inside its storage, or a `.format` error.

@testable import ModelTree

/// Storages "0" … "3" of 64, 7, 0 and 256 bytes, as stored zip entries under `archive/data/`.
private let storageArchive: [UInt8] = {
    func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    func le32(_ v: Int) -> [UInt8] { le16(v & 0xFFFF) + le16(v >> 16) }
    var out: [UInt8] = [], directory: [UInt8] = []
    let sizes = [64, 7, 0, 256]
    for (k, size) in sizes.enumerated() {
        let name = Array("archive/data/\(k)".utf8)
        let offset = out.count
        out += le32(0x0403_4b50) + le16(20) + le16(0) + le16(0) + le32(0) + le32(0) + le32(size) + le32(size)
        out += le16(name.count) + le16(0) + name + (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        directory += le32(0x0201_4b50) + le16(20) + le16(20) + le16(0) + le16(0) + le32(0) + le32(0)
        directory += le32(size) + le32(size) + le16(name.count) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + name
    }
    let start = out.count
    out += directory
    return out + le32(0x0605_4b50) + le16(0) + le16(0) + le16(sizes.count) + le16(sizes.count) + le32(directory.count) + le32(start) + le16(0)
}()

/// The archive in memory that is never freed, so that storages can point into it.
nonisolated(unsafe) private let storageImage: UnsafeRawBufferPointer = {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: storageArchive.count, alignment: 16)
    storageArchive.withUnsafeBytes { buffer.copyMemory(from: $0) }
    return UnsafeRawBufferPointer(buffer)
}()

private let storageZip: ZipArchive = try! ZipArchive.parse(MemoryBytes(image: storageImage))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size > 0, let data else { return 0 }
    let rest = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let checkpoint: TorchCheckpoint
    let image: UnsafeRawBufferPointer
    do {
        if data[0] & 1 == 0 {
            image = rest
            checkpoint = try TorchCheckpoint.parse(MemoryBytes(image: rest))
        } else {
            image = storageImage
            var policy = StateDictPolicy(archive: storageZip, prefix: "archive/")
            var machine = PickleMachine(Array(rest), source: "data.pkl")
            let root = try machine.run(&policy)
            checkpoint = try TorchCheckpoint.stateDict(root, machine: machine, policy: policy)
        }
    } catch let error as ModelTreeError {
        guard case .format = error else { fatalError("pickle: error of the wrong kind: \(error)") }
        return 0
    } catch {
        fatalError("pickle: not a ModelTreeError: \(error)")
    }
    precondition(!checkpoint.tensors.isEmpty, "a state dict without tensors was accepted")
    for (i, t) in checkpoint.tensors.enumerated() {
        precondition(i == 0 || checkpoint.tensors[i - 1].name < t.name, "names not sorted and unique")
        precondition(t.storage < checkpoint.storages.count, "storage index")
        let s = checkpoint.storages[t.storage]
        precondition(s.offset >= 0 && s.offset + s.byteCount <= image.count, "storage '\(s.key)' outside the image")
        precondition(t.shape.count == t.strides.count && t.shape.count <= 64, "rank")
        guard t.elementCount > 0 else { continue }
        // The last element lies inside the storage; read it and the first (ASan checks the range).
        let last = t.storageIndex(t.shape.map { $0 - 1 })
        precondition(t.storageOffset >= 0 && (last + 1) * t.dtype.size <= s.byteCount, "tensor '\(t.name)' past its storage")
        let first = image[s.offset + t.storageOffset * t.dtype.size], end = image[s.offset + (last + 1) * t.dtype.size - 1]
        blackHole(first ^ end)
    }
    return 0
}

@inline(never) private func blackHole(_ x: UInt8) { if x == 0xFF && CommandLine.arguments.isEmpty { print(x) } }
