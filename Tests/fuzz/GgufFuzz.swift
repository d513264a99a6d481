// libFuzzer target: the GGUF header parser (`GGUFFile.parse`), the ggml dequantizers, the
// GGUF → Hugging Face name map and the tensor views the library compares (`GGMLBlocks`, q/k
// un-permuted, transposed), on arbitrary bytes taken as a whole file image.
//
// Built by mk/fuzz.mk like SafetensorsFuzz.swift. An
// input either parses — and then everything a caller relies on must hold — or fails with
// `ModelTreeError.format`; anything else (a trap, an ASan report, another error kind, a hang or a
// leak) is a finding.

@testable import ModelTree

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let image = UnsafeRawBufferPointer(start: data, count: size)
    let source = MemoryBytes(image: image)
    let gguf: GGUFFile
    do {
        gguf = try GGUFFile.parse(source)
    } catch let error as ModelTreeError {
        guard case .format = error else { fatalError("gguf: error of the wrong kind: \(error)") }
        return 0
    } catch {
        fatalError("gguf: not a ModelTreeError: \(error)")
    }
    precondition(gguf.version == 2 || gguf.version == 3, "version \(gguf.version) accepted")
    precondition(gguf.alignment > 0 && gguf.alignment & (gguf.alignment - 1) == 0, "alignment \(gguf.alignment)")
    precondition(gguf.dataOffset % gguf.alignment == 0, "data section not aligned")
    precondition(Set(gguf.metadata.map(\.key)).count == gguf.metadata.count, "duplicate keys accepted")
    precondition(Set(gguf.tensors.map(\.name)).count == gguf.tensors.count, "duplicate tensor names accepted")

    var checksum: UInt8 = 0
    var floats = [Float](repeating: 0, count: 4 * 256)
    var spans: [(Int, Int)] = []
    for t in gguf.tensors {
        precondition(t.dimensions.count <= 4 && t.dimensions.allSatisfy { $0 >= 0 }, "dimensions \(t.dimensions)")
        precondition(t.shape == Array(t.dimensions.reversed()), "shape is not the reversed dimensions")
        let elements = t.elementCount
        precondition(elements % t.type.blockSize == 0, "a partial block")
        precondition(t.byteCount == elements / t.type.blockSize * t.type.typeSize, "byte count \(t.byteCount)")
        precondition(t.offset >= gguf.dataOffset && (t.offset - gguf.dataOffset) % gguf.alignment == 0, "offset \(t.offset)")
        precondition(t.offset + t.byteCount <= size, "tensor '\(t.name)' runs past the image")
        if t.byteCount > 0 { spans.append((t.offset, t.offset + t.byteCount)) }
        // Read every byte (ASan flags a stray range) and dequantize the first blocks.
        for b in UnsafeRawBufferPointer(rebasing: image[t.offset..<t.offset + t.byteCount]) { checksum ^= b }
        if t.type.canDequantize {
            let blocks = Swift.min(t.blockCount, floats.count / t.type.blockSize)
            floats.withUnsafeMutableBufferPointer { out in
                GGMLDequantizer.decode(t.type, image.baseAddress! + t.offset, blocks: blocks, into: out.baseAddress!)
            }
        } else {
            do { try t.requireDequantizable(); fatalError("an undecodable type passed") } catch {}
        }
    }
    spans.sort { $0.0 < $1.0 }
    for k in spans.indices.dropFirst() { precondition(spans[k].0 >= spans[k - 1].1, "tensors overlap") }

    // Arrays left in the file read back on demand (or fail as format errors).
    for (_, value) in gguf.metadata {
        guard case .array(let array) = value else { continue }
        precondition(array.range.upperBound <= size, "array range past the image")
        do {
            let elements = try array.elements(from: source)
            precondition(elements.count == array.count, "array count")
            if let kept = array.elements { precondition(kept == elements, "kept array differs from the file") }
        } catch let error as ModelTreeError {
            guard case .format = error else { fatalError("gguf array: error of the wrong kind: \(error)") }
        } catch {
            fatalError("gguf array: not a ModelTreeError: \(error)")
        }
    }
    // The name map, the row maps of permuted tensors, and the views the library compares: each
    // small decodable tensor under its Hugging Face name (un-permuted, transposed, shifted) reads
    // the same whole and in pieces that cut its blocks, and a permuted view's rows are the
    // stored rows its map names.
    let names = try? GGUFNameMap(gguf)
    for t in gguf.tensors {
        let hf = try? names?.huggingFace(t.name)
        if let hf, case .permutedRows(let heads) = hf.transform, let rows = t.shape.first, rows <= 1 << 16,
           let map = try? TensorNames.rowMap(rows: rows, heads: heads, tensor: t.name) {
            precondition(Set(map).count == rows && map.allSatisfy { (0..<rows).contains($0) }, "row map is not a permutation")
        }
        guard t.type.canDequantize, t.elementCount > 0, t.elementCount <= 1 << 14 else { continue }
        let stored = TensorView(name: t.name, shape: t.shape,
                                source: GGMLBlocks(type: t.type, storage: .memory(UnsafeRawBufferPointer(rebasing: image[t.offset..<t.offset + t.byteCount]))))
        let view: TensorView
        if let hf {
            do { view = try GGUFWeights.view(stored, as: hf) } catch let error as ModelTreeError {
                guard case .format = error else { fatalError("gguf view: error of the wrong kind: \(error)") }
                continue
            } catch { fatalError("gguf view: not a ModelTreeError: \(error)") }
        } else {
            view = stored
        }
        precondition(view.count == t.elementCount, "a view of another size")
        guard let whole = try? view.decode(), let raw = try? stored.decode() else { fatalError("decoding memory threw") }
        var pieces = [Float](repeating: 0, count: whole.count)
        let cut = Swift.min(whole.count, 1 + whole.count / 3)
        pieces.withUnsafeMutableBufferPointer { out in
            do {
                try view.decode(0..<cut, into: out.baseAddress!)
                try view.decode(cut..<whole.count, into: out.baseAddress! + cut)
            } catch { fatalError("decoding memory threw \(error)") }
        }
        // NaNs compare as NaNs: the F16 decode kernels' vector path quiets a signalling NaN and
        // their scalar tail keeps it, so its bits depend on where a range starts (a NaN tensor is
        // never compared: the pass skips it).
        func same(_ x: Float, _ y: Float) -> Bool { x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN) }
        if let k = whole.indices.first(where: { !same(whole[$0], pieces[$0]) }) {
            fatalError("pieces differ from the whole: \(t.type.name) \(t.shape) at \(k) of \(whole.count), cut \(cut): \(whole[k]) vs \(pieces[k])")
        }
        if let hf, case .permutedRows(let heads) = hf.transform, let rows = t.shape.first,
           let map = try? TensorNames.rowMap(rows: rows, heads: heads, tensor: t.name) {
            let columns = whole.count / rows
            for r in 0..<rows {
                precondition(zip(whole[r * columns..<(r + 1) * columns], raw[map[r] * columns..<(map[r] + 1) * columns])
                    .allSatisfy { same($0, $1) }, "un-permuted row \(r) is not stored row \(map[r])")
            }
        }
    }
    blackHole(checksum ^ UInt8(truncatingIfNeeded: floats.count))
    return 0
}

@inline(never) private func blackHole(_ x: UInt8) { if x == 0xFF && CommandLine.arguments.isEmpty { print(x) } }
