/// A PEFT LoRA adapter folder as a model: for each adapted module the update ΔW = B·A·scale under
/// the base's tensor name (`LowRankProduct`, computed for the rows a pass asks for), a bias update
/// as scale · bias, and the full tensors the adapter saves (`modules_to_save`) under the base's
/// names. Its weights are updates, not weights: it is comparable with other adapters and with
/// differences of models, and which base it belongs to is the audit's question. The config's
/// `base_model_name_or_path` (a claim), `r`, `lora_alpha` and `use_rslora` are kept.
enum AdapterWeights {
    static func read(folder: String) throws -> ReadWeights {
        let adapter = try LoRAAdapter.open(folder: folder)
        let weightsPath = FileSystem.join(folder, "adapter_model.safetensors")
        let stored: ReadWeights
        if (try? FileSystem.kind(of: weightsPath)) == .file {
            let st = try SafetensorsFile(path: weightsPath)
            stored = ReadWeights(tensors: st.tensors, owners: [st], format: "safetensors")
        } else {
            stored = try TorchWeights.read(path: FileSystem.join(folder, "adapter_model.bin"))
        }
        var byName: [String: TensorView] = [:]
        for t in stored.tensors { byName[t.name] = t }
        var replaced: [String: TensorView] = [:]
        for (name, target) in adapter.replacements { replaced[target] = byName[name].map { TensorView(name: target, shape: $0.shape, source: $0.source) } }
        var tensors: [TensorView] = []
        for pair in adapter.pairs {
            guard let a = byName[pair.a], let b = byName[pair.b] else { continue }
            let plus = replaced.removeValue(forKey: pair.target)
            if let plus, plus.shape != pair.shape {
                throw ModelTreeError.format("\(folder): '\(pair.target)' is saved with shape \(plus.shape) and updated with shape \(pair.shape)")
            }
            tensors.append(TensorView(name: pair.target, shape: pair.shape, source: LowRankProduct(pair: pair, a: a, b: b, plus: plus)))
        }
        for bias in adapter.biases {
            guard let b = byName[bias.bias] else { continue }
            tensors.append(TensorView(name: bias.target, shape: b.shape, source: Affine(base: b, scale: Float(bias.scale), shift: 0)))
        }
        tensors += replaced.values
        var metadata: [(key: String, value: String)] = []
        if let base = adapter.config.baseModel { metadata.append(("base_model_name_or_path", base)) }
        metadata.append(("r", "\(adapter.config.rank)"))
        metadata.append(("lora_alpha", "\(adapter.config.alpha)"))
        metadata.append(("use_rslora", adapter.config.useRSLoRA ? "true" : "false"))
        return ReadWeights(tensors: tensors, owners: stored.owners, format: "peft", metadata: metadata)
    }
}
