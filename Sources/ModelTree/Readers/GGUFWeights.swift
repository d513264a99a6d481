/// A GGUF file as a model: every tensor under its Hugging Face name (`GGUFNameMap`), with what
/// the converter did undone — Llama-family q/k rows un-permuted (`PermutedRows`), GPT-2's
/// transposes transposed back, Gemma's 1 + w norms shifted back — and dequantized block by block
/// as the pass reads it (`GGMLBlocks`). The metadata is kept (`general.architecture`,
/// `general.name`, `general.base_model.*`, `general.file_type`, …; arrays such as the vocabulary
/// as their type and length).
///
/// A file whose architecture has no name table keeps its GGUF names (they then match only other
/// GGUF files). A tensor of a type libmodeltree cannot dequantize (IQ*, TQ*, MXFP4 …) is an error
/// naming the type and the tensor: comparing the rest would compare a different set of tensors
/// than the other models' without saying so.
enum GGUFWeights {
    static func read(path: String) throws -> ReadWeights {
        let (file, gguf) = try GGUFFile.open(path: path)
        return try prefixingFormatErrors(path) {
            let names = gguf.value("general.architecture")?.string.flatMap { GGUFNameMap.architectures.contains($0) ? $0 : nil } == nil
                ? nil : try GGUFNameMap(gguf)
            var tensors: [TensorView] = []
            for t in gguf.tensors {
                let storage = TensorStorage.file(file, offset: t.offset)
                let stored: TensorView
                if t.type.canDequantize {
                    stored = TensorView(name: t.name, shape: t.shape, source: GGMLBlocks(type: t.type, storage: storage))
                } else if let dtype = integerType(t.type) {
                    stored = TensorView(name: t.name, shape: t.shape, source: StoredElements(dtype: dtype, storage: storage))
                } else {
                    // Listed, never compared: a recovery names it in a warning.
                    stored = TensorView(name: t.name, shape: t.shape,
                                        source: Undecodable(typeName: t.type.name, reason: "\(t.type.name), which libmodeltree cannot dequantize"))
                }
                guard let hf = try names?.huggingFace(t.name) else { tensors.append(stored); continue }
                tensors.append(try view(stored, as: hf))
            }
            return ReadWeights(tensors: tensors, owners: [file], format: "gguf", metadata: metadata(gguf))
        }
    }

    /// The stored tensor under its Hugging Face name, the converter's change undone.
    static func view(_ stored: TensorView, as hf: HFTensorName) throws -> TensorView {
        let shape = stored.shape
        switch hf.transform {
        case .none:
            return TensorView(name: hf.name, shape: shape, source: stored.source)
        case .permutedRows(let heads):
            let rows = shape.first ?? 1, rowLength = shape.dropFirst().reduce(1, *)
            let map = try TensorNames.rowMap(rows: rows, heads: heads, tensor: stored.name)
            return TensorView(name: hf.name, shape: shape,
                              source: PermutedRows(base: stored, rows: map, rowLength: rowLength, groupRows: rows / heads))
        case .transposed:
            guard shape.count == 2 else { throw ModelTreeError.format("tensor '\(stored.name)': a transposed weight of shape \(shape)") }
            return TensorView(name: hf.name, shape: [shape[1], shape[0]], source: Transposed(base: stored, rows: shape[0], columns: shape[1]))
        case .plusOne:
            return TensorView(name: hf.name, shape: shape, source: Affine(base: stored, scale: 1, shift: -1))
        }
    }

    private static func integerType(_ type: GGMLType) -> DType? {
        switch type {
        case .i8: return .i8
        case .i16: return .i16
        case .i32: return .i32
        case .i64: return .i64
        default: return nil
        }
    }

    /// Every key with its value as text; arrays as "[N × type]" (the vocabulary is not a claim).
    static func metadata(_ gguf: GGUFFile) -> [(key: String, value: String)] {
        gguf.metadata.map { entry in
            switch entry.value {
            case .array(let a): return (entry.key, "[\(a.count) × \(a.elementType)]")
            case .string(let s): return (entry.key, s)
            case .bool(let b): return (entry.key, b ? "true" : "false")
            case .float32(let x): return (entry.key, "\(x)")
            case .float64(let x): return (entry.key, "\(x)")
            default: return (entry.key, entry.value.integer.map { "\($0)" } ?? "?")
            }
        }
    }
}
