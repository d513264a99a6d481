/// What a reader made of one model, for `modeltree-cli inspect`: the format, the metadata the
/// file carries (claims such as `general.base_model.0.repo_url` or an adapter's
/// `base_model_name_or_path` singled out), and every tensor with its shape, its stored type (a
/// dtype, a ggml quantization, an int8 with scales, a LoRA product), whether it is compared, and
/// what was undone to present it under its name. The first thing to run on a file that misbehaves.
extension Model {
    /// Metadata keys that claim a parent (never used to place an edge; the audit judges them).
    static func isClaim(_ key: String) -> Bool {
        (key.hasPrefix("general.base_model.") && !key.hasSuffix(".count")) || key == "base_model_name_or_path"
    }

    /// How `t` was presented under its name, when something was undone; nil for stored values.
    static func provenance(_ t: TensorView) -> String? {
        switch t.source {
        case let p as PermutedRows: return "'\(p.base.name)', rotary rows un-permuted"
        case let x as Transposed: return "'\(x.base.name)', transposed"
        case let a as Affine where a.scale == 1: return "'\(a.base.name)', shifted by \(Formatting.significant(Double(a.shift)))"
        case let a as Affine: return "'\(a.base.name)' × \(Formatting.significant(Double(a.scale)))"
        case let l as LowRankProduct:
            return "B·A·\(Formatting.significant(l.pair.scale)) of '\(l.pair.b)' and '\(l.pair.a)'" + (l.plus.map { " plus '\($0.name)'" } ?? "")
        case let u as Undecodable: return "not compared: \(u.reason)"
        default: return nil
        }
    }

    /// The inspection as text (one line per tensor) or as a JSON document: {id, path, format,
    /// metadata {key: value}, claims [{key, value}], tensors [{name, shape, type, weight, from}]}.
    public func inspection(json: Bool = false) -> String {
        typealias F = Formatting
        if json {
            var lines = ["{"]
            lines.append("  \"id\": \(F.jsonString(id)), \"path\": \(path.map(F.jsonString) ?? "null"), \"format\": \(F.jsonString(format)),")
            lines.append("  \"metadata\": {" + metadata.map { "\(F.jsonString($0.key)): \(F.jsonString($0.value))" }.joined(separator: ", ") + "},")
            lines.append("  \"claims\": [" + metadata.filter { Self.isClaim($0.key) }
                .map { "{\"key\": \(F.jsonString($0.key)), \"value\": \(F.jsonString($0.value))}" }.joined(separator: ", ") + "],")
            lines.append("  \"tensors\": [")
            lines.append(tensors.map { t in
                "    {\"name\": \(F.jsonString(t.name)), \"shape\": [\(t.shape.map(String.init).joined(separator: ", "))], "
                    + "\"type\": \(F.jsonString(t.typeName)), \"weight\": \(t.isWeight), "
                    + "\"from\": \(Self.provenance(t).map(F.jsonString) ?? "null")}"
            }.joined(separator: ",\n"))
            lines.append("  ]")
            lines.append("}")
            return lines.joined(separator: "\n") + "\n"
        }
        // Names, keys and values are a stranger's text (a GGUF chat template spans lines): one
        // line each, control characters escaped.
        let l = singleLine
        var out = "\(l(id)): \(format)" + (path.map { " (\(l($0)))" } ?? "") + "\n"
        let weights = tensors.filter(\.isWeight)
        let elements = weights.reduce(0) { $0 + $1.count }
        var types: [String: Int] = [:]
        for t in weights { types[t.typeName, default: 0] += 1 }
        out += "\(tensors.count) tensors, \(weights.count) of them weights (\(elements) elements): "
            + types.sorted { $0.key < $1.key }.map { "\($0.value) \(l($0.key))" }.joined(separator: ", ") + "\n"
        let claims = metadata.filter { Self.isClaim($0.key) }
        if !claims.isEmpty {
            out += "\nclaims (what the file says it derives from; not evidence):\n"
            for c in claims { out += "  \(l(c.key)) = \(l(c.value))\n" }
        }
        if !metadata.isEmpty {
            out += "\nmetadata:\n"
            for m in metadata { out += "  \(l(m.key)) = \(l(m.value))\n" }
        }
        out += "\ntensors:\n"
        for t in tensors {
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            out += "  \(l(t.name))  \(shape)  \(l(t.typeName))" + (t.isWeight ? "" : "  (not a weight)")
                + (Self.provenance(t).map { "  from \(l($0))" } ?? "") + "\n"
        }
        return out
    }
}
