/// Tensor correspondence across formats: an export whose tensor names did not survive
/// (torch.onnx names MatMul weights `val_133`, prefixes parameters with its wrapper's `m.`, and
/// stores Linear weights [in, out], transposed) is mapped onto the names of the collection's
/// reference models — safetensors, PyTorch and caller-given models, whose names are the
/// framework's own — before anything is compared:
///
/// 1. by name: a tensor whose name ends with `.<reference name>` (`m.model.norm.weight` →
///    `model.norm.weight`), the longest such reference name;
/// 2. by content: each remaining 2-D weight against the reference tensors of the same shape or
///    the transposed one, by the Pearson correlation of `samples` blocks of `sampleLength`
///    elements at evenly spaced positions (decoded through the views, so an int8 export is
///    compared after dequantization); pairs are taken greedily from the most correlated, each
///    tensor and each reference name at most once, down to `minimumCorrelation`. A fine-tune or
///    an export of the same tensor correlates above 0.9; two different tensors of a network, or
///    the right tensor in the wrong orientation, near 0.
///
/// Correlation is taken against every reference model that has the name (at most
/// `maxReferences` of them), the best counting, so an export finds its tensors whichever family
/// of the collection it belongs to. An export's initializers that match nothing are the graph's
/// constants (shapes, activation scales, rotary tables): they are left out of the comparison, and
/// a note says how many. Everything matched is reported (`TensorMatch`), in the JSON output.
enum TensorMatching {
    static let samples = 8
    static let sampleLength = 64
    static let minimumCorrelation = 0.9
    static let maxReferences = 8

    /// The models with their tensors renamed (and transposed) where needed, and what was done.
    static func align(_ models: [Model]) throws -> (models: [Model], matches: [TensorMatch], notes: [String]) {
        let references = models.filter { ["safetensors", "pytorch", "memory"].contains($0.format) }
        guard !references.isEmpty, models.contains(where: { $0.format == "onnx" }) else { return (models, [], []) }
        var referenceViews: [String: [TensorView]] = [:]
        for m in references {
            for t in m.tensors where t.isWeight && t.count > 0 && referenceViews[t.name, default: []].count < maxReferences {
                referenceViews[t.name, default: []].append(t)
            }
        }
        var sampleCache: [String: [[Float]]] = [:]
        func referenceSamples(_ name: String) throws -> [[Float]] {
            if let known = sampleCache[name] { return known }
            let values = try referenceViews[name]!.map { try sample($0) }
            sampleCache[name] = values
            return values
        }
        var out: [Model] = [], matches: [TensorMatch] = [], notes: [String] = []
        for model in models {
            guard model.format == "onnx" else { out.append(model); continue }
            var taken = Set<String>()
            var renamed: [String: TensorView] = [:]
            var pending: [TensorView] = []
            for t in model.tensors {
                if referenceViews[t.name] != nil { taken.insert(t.name) }
            }
            // 1. By name.
            for t in model.tensors where referenceViews[t.name] == nil {
                let parts = t.name.split(separator: ".", omittingEmptySubsequences: false)
                var found: String?
                for k in 1..<Swift.max(1, parts.count) {
                    let suffix = parts[k...].joined(separator: ".")
                    if referenceViews[suffix] != nil, !taken.contains(suffix) { found = suffix; break }
                }
                if let found, referenceViews[found]![0].shape == t.shape {
                    taken.insert(found)
                    renamed[t.name] = TensorView(name: found, shape: t.shape, source: t.source)
                    matches.append(TensorMatch(model: model.id, tensor: t.name, matched: found, byContent: false, transposed: false, correlation: nil))
                } else if t.isWeight && t.shape.count == 2 && t.count > 0 {
                    pending.append(t)
                }
            }
            // 2. By content.
            var scored: [(correlation: Double, tensor: Int, name: String, transposed: Bool)] = []
            for (i, t) in pending.enumerated() {
                let flipped = [t.shape[1], t.shape[0]]
                for (name, views) in referenceViews where !taken.contains(name) {
                    let shape = views[0].shape
                    for transposed in [false, true] where shape == (transposed ? flipped : t.shape) {
                        let own = try sample(transposed ? transpose(t, as: name) : t)
                        let best = try referenceSamples(name).map { correlation(own, $0) }.max() ?? 0
                        if best >= minimumCorrelation { scored.append((best, i, name, transposed)) }
                    }
                }
            }
            scored.sort { ($0.correlation, $1.name) > ($1.correlation, $0.name) }
            var used = Set<Int>()
            for s in scored where !used.contains(s.tensor) && !taken.contains(s.name) {
                used.insert(s.tensor)
                taken.insert(s.name)
                let t = pending[s.tensor]
                renamed[t.name] = s.transposed ? transpose(t, as: s.name) : TensorView(name: s.name, shape: t.shape, source: t.source)
                matches.append(TensorMatch(model: model.id, tensor: t.name, matched: s.name, byContent: true,
                                           transposed: s.transposed, correlation: s.correlation))
            }
            let kept = model.tensors.compactMap { t in renamed[t.name] ?? (referenceViews[t.name] != nil ? t : nil) }
            let left = model.tensors.count - kept.count
            if left > 0 {
                notes.append("model '\(model.id)': \(left) of its \(model.tensors.count) initializers match no tensor of the other models by name or content, and are not compared")
            }
            out.append(try model.replacingTensors(kept))
        }
        return (out, matches.sorted { ($0.model, $0.matched) < ($1.model, $1.matched) }, notes)
    }

    /// `t` [r, c] seen as the [c, r] tensor `name`.
    private static func transpose(_ t: TensorView, as name: String) -> TensorView {
        TensorView(name: name, shape: [t.shape[1], t.shape[0]], source: Transposed(base: t, rows: t.shape[0], columns: t.shape[1]))
    }

    /// `samples` blocks of `sampleLength` elements at evenly spaced positions (all of a small tensor).
    static func sample(_ t: TensorView) throws -> [Float] {
        let length = Swift.min(sampleLength, t.count)
        var out = [Float](repeating: 0, count: samples * length)
        try out.withUnsafeMutableBufferPointer { buffer in
            for k in 0..<samples {
                let start = (t.count - length) * k / Swift.max(1, samples - 1)
                try t.decode(start..<start + length, into: buffer.baseAddress! + k * length)
            }
        }
        return out
    }

    /// Pearson's correlation (0 when either side is constant).
    static func correlation(_ x: [Float], _ y: [Float]) -> Double {
        let n = Double(x.count)
        var sx = 0.0, sy = 0.0
        for i in x.indices { sx += Double(x[i]); sy += Double(y[i]) }
        let mx = sx / n, my = sy / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices {
            let a = Double(x[i]) - mx, b = Double(y[i]) - my
            sxy += a * b; sxx += a * a; syy += b * b
        }
        guard sxx > 0, syy > 0 else { return 0 }
        return sxy / (sxx * syy).squareRoot()
    }
}

/// One tensor an export's name did not give: `tensor` (its name in the file) was taken as the
/// reference models' `matched`, by name (a prefix dropped) or by content (`correlation`, and
/// whether it was stored transposed).
public struct TensorMatch: Sendable, Equatable {
    public let model: String
    public let tensor: String
    public let matched: String
    public let byContent: Bool
    public let transposed: Bool
    public let correlation: Double?
}
