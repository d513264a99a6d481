import Glibc

/// Which tensors a recovery compares.
///
/// A tensor is a candidate when every model has it under the same name with the same shape, as
/// weights (`TensorView.isWeight`: F64/F32/F16/BF16, which may differ between models) and with at
/// least one element.
///
/// Default (no include pattern): the 2-D candidates, and only the square ones when there are any.
/// Square matrices are what the paper compares: attention projections exist in every fine-tune of
/// a transformer and never depend on the task, while heads and embeddings are often re-initialised
/// or resized. A model with no square matrix (an MLP) falls back to all its 2-D weights.
/// With include patterns: every candidate matching one (any number of dimensions).
/// Exclude patterns always win.
enum TensorSelection {
    /// The candidates: floating-point tensors with elements that every model has under the same
    /// name and shape (dtypes may differ), in the first model's order.
    static func candidates<M: TensorCatalog>(_ models: [M]) -> [M.Entry] {
        guard let first = models.first else { return [] }
        return first.tensors.filter { t in
            t.isWeight && t.count > 0 && models.allSatisfy { m in
                guard let o = m.tensor(named: t.name) else { return false }
                return o.shape == t.shape && o.isWeight
            }
        }
    }

    static func select<M: TensorCatalog>(models: [M], include: [String], exclude: [String]) throws -> [String] {
        guard !models.isEmpty else { return [] }
        let candidates = candidates(models)
        var chosen: [M.Entry]
        if include.isEmpty {
            let matrices = candidates.filter { $0.shape.count == 2 }
            let square = matrices.filter { $0.shape[0] == $0.shape[1] }
            chosen = square.isEmpty ? matrices : square
        } else {
            chosen = candidates.filter { t in include.contains { matches($0, t.name) } }
        }
        chosen.removeAll { t in exclude.contains { matches($0, t.name) } }
        guard !chosen.isEmpty else {
            throw ModelTreeError.incompatibleModels(nothingToCompare(models, candidates, include: include, exclude: exclude))
        }
        return chosen.map(\.name)
    }

    /// Why the selection is empty, with the patterns that made it so and what to try instead.
    private static func nothingToCompare<M: TensorCatalog>(_ models: [M], _ candidates: [M.Entry], include: [String], exclude: [String]) -> String {
        func list(_ patterns: [String]) -> String { patterns.map { "'\($0)'" }.joined(separator: ", ") }
        var what = include.isEmpty ? "floating-point 2-D tensor" : "floating-point tensor matching the include patterns (\(list(include)))"
        if !exclude.isEmpty { what += " and none of the exclude patterns (\(list(exclude)))" }
        let shared = models.count == 1
            ? "model '\(models[0].id)' has no \(what) with elements to compare"
            : "no \(what) is shared by all \(models.count) models with the same name and shape"
        if candidates.isEmpty {
            return shared + (models.count == 1 ? "" : " (no tensor has the same name and shape in all of them: different architectures?)")
        }
        if include.isEmpty && !candidates.contains(where: { $0.shape.count >= 2 }) {
            let example = candidates[0]
            return shared + " (the \(candidates.count) shared tensor\(candidates.count == 1 ? " has" : "s have") fewer than 2 dimensions, "
                + "e.g. '\(example.name)' of shape \(example.shape): name them with include patterns, such as '*', to compare them)"
        }
        return shared
    }

    /// Groups of models of the same architecture: models are linked when more than half of the
    /// floating-point tensors of the two (by name and shape, Jaccard index) are shared, and groups
    /// are the connected components. A fine-tune with a resized head stays with its parent; models
    /// of different families, or of the same family at another size, do not — nor models with
    /// another number of layers (a student cut from its teacher's layers shares most of the
    /// teacher's names, but compared on the layers both have it would be matched layer to the
    /// wrong layer, and would narrow the teacher's family to those layers; `LayerSubsets` matches
    /// its layers by content instead).
    ///
    /// Models with the same set of tensors are compared once (an index holds thousands of models
    /// of a few layouts): O(L² · tensors) for L distinct layouts, then O(n).
    static func architectureGroups<M: TensorCatalog>(_ models: [M]) -> [[Int]] {
        var layouts: [Set<String>] = [], layoutOf: [Int] = [], layerCounts: [Int] = []
        var known: [Set<String>: Int] = [:]
        for m in models {
            let set = Set(m.tensors.filter { $0.isWeight && $0.count > 0 }.map { "\($0.name)\u{0}\($0.shape)" })
            // An empty set shares nothing, not even with another empty one.
            if !set.isEmpty, let k = known[set] { layoutOf.append(k); continue }
            if !set.isEmpty { known[set] = layouts.count }
            layoutOf.append(layouts.count)
            layouts.append(set)
            layerCounts.append(LayerSubsets.layerCount(m.tensors.filter { $0.isWeight && $0.count > 0 }.map(\.name)))
        }
        let n = layouts.count
        var similarity = SquareMatrix<Double>(count: n, repeating: 0)
        for i in 0..<n {
            for j in (i + 1)..<n {
                let union = layouts[i].union(layouts[j]).count
                let jaccard = union == 0 || layerCounts[i] != layerCounts[j] ? 0 : Double(layouts[i].intersection(layouts[j]).count) / Double(union)
                similarity[i, j] = jaccard
                similarity[j, i] = jaccard
            }
        }
        var component = [Int](repeating: 0, count: n)
        for (c, members) in Clustering.components(similarity: similarity, threshold: 0.5).enumerated() {
            for l in members { component[l] = c }
        }
        var groups: [Int: [Int]] = [:]
        for (i, l) in layoutOf.enumerated() { groups[component[l], default: []].append(i) }
        return groups.values.sorted { $0[0] < $1[0] }
    }

    /// What a set of models is compared over: the distance tensors (`select`) and the direction
    /// tensors (`directionTensors`). Both depend on the models only through the tensors all of
    /// them share, so a family with tensors of its own gets a selection of its own
    /// (`Recovery.recoverGroup` compares each family over its own).
    struct Compared: Hashable {
        var distance: [String]
        var direction: [String]
    }

    static func compared<M: TensorCatalog>(models: [M], include: [String], exclude: [String]) throws -> Compared {
        let distance = try select(models: models, include: include, exclude: exclude)
        return Compared(distance: distance,
                        direction: directionTensors(models: models, selected: distance, include: include, exclude: exclude))
    }

    /// The tensors whose kurtosis and norm vote on direction (`DirectionEvidence`): with include
    /// patterns, the selected ones; otherwise every 2-D candidate (square or not), less `exclude`.
    static func directionTensors<M: TensorCatalog>(models: [M], selected: [String], include: [String], exclude: [String]) -> [String] {
        guard include.isEmpty else { return selected }
        return candidates(models).filter { t in
            t.shape.count == 2 && !exclude.contains { matches($0, t.name) }
        }.map(\.name)
    }

    /// Shell-style glob match (`*`, `?`, `[…]`), as fnmatch(3) without flags.
    static func matches(_ pattern: String, _ name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}

/// What the tensor selection needs of a model: its id and its tensors' names, shapes and kinds.
/// A `Model` (tensors to read) and a `ModelSignature` (tensors already read) both are one, so the
/// exact pass and the index select alike.
protocol TensorCatalog {
    associatedtype Entry: TensorEntry
    var id: String { get }
    /// Sorted by name.
    var tensors: [Entry] { get }
    func tensor(named name: String) -> Entry?
}

/// One tensor of a `TensorCatalog`.
protocol TensorEntry {
    var name: String { get }
    var shape: [Int] { get }
    /// Whether its values are weights a recovery may compare.
    var isWeight: Bool { get }
    var count: Int { get }
}

extension Model: TensorCatalog {}
extension TensorView: TensorEntry {}
extension ModelSignature: TensorCatalog {}
extension ModelSignature.Tensor: TensorEntry {
    /// A signature keeps weight tensors only.
    public var isWeight: Bool { true }
}
