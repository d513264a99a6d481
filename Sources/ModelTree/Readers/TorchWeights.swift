/// A `torch.save` checkpoint (`pytorch_model.bin`, `*.pt`) as a model, its pickle run by the
/// restricted machine (`TorchCheckpoint`): a contiguous tensor is its storage's bytes
/// (`StoredElements`); a strided view (a transpose, a slice) is read through its strides
/// (`StridedElements`). Tied weights are two views of one storage.
enum TorchWeights {
    static func read(path: String) throws -> ReadWeights {
        let (file, checkpoint) = try TorchCheckpoint.open(path: path)
        let tensors = checkpoint.tensors.map { t -> TensorView in
            let storage = checkpoint.storages[t.storage]
            let source: any TensorSource
            if t.isContiguous {
                source = StoredElements(dtype: t.dtype, storage: .file(file, offset: storage.offset + t.storageOffset * t.dtype.size))
            } else {
                source = StridedElements(dtype: t.dtype, storage: .file(file, offset: storage.offset), storageBytes: storage.byteCount,
                                         shape: t.shape, strides: t.strides, storageOffset: t.storageOffset)
            }
            return TensorView(name: t.name, shape: t.shape, source: source)
        }
        var metadata: [(key: String, value: String)] = []
        if let nested = checkpoint.nestedUnder { metadata.append(("state_dict_key", nested)) }
        return ReadWeights(tensors: tensors, owners: [file], format: "pytorch", metadata: metadata)
    }
}
