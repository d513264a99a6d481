import Foundation
import Testing
@testable import ModelTree

/// Un-merged PEFT adapters hang from their base (`AdapterAttachment`). The collections are built
/// here with a known answer: ΔW = B·A is constructed from a chosen base's weights (Hu et al.'s
/// observation that ΔW amplifies directions of its base W) and from a fine-tune's update e, with
/// the sign that says on which side of the edge it was trained (parallel to e: before it; against
/// e: after it), so the expected base follows from the construction, not from our output.
@Suite struct AdapterAttachmentTests {
    static let side = 24, rank = 2
    static let names = ["layers.0.q.weight", "layers.0.v.weight", "layers.1.q.weight", "layers.1.v.weight"]

    typealias Weights = [String: [Double]]

    struct Collection {
        var rng = SplitMix64(seed: 12)
        let dir: TemporaryDirectory

        init() throws { dir = try TemporaryDirectory() }

        mutating func gaussian(_ n: Int, _ sd: Double) -> [Double] {
            (0..<n).map { _ in
                let u = Double.random(in: Double.ulpOfOne..<1, using: &rng), v = Double.random(in: 0..<1, using: &rng)
                return sd * (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v)
            }
        }

        mutating func random(_ sd: Double = 1) -> Weights {
            Dictionary(uniqueKeysWithValues: names.map { ($0, gaussian(side * side, sd)) })
        }

        func write(_ id: String, _ w: Weights) throws {
            var tensors = names.map { SafetensorsWriter.Tensor(name: $0, dtype: "F32", shape: [side, side], bytes: LE.f32s(w[$0]!.map(Float.init))) }
            tensors.append(.init(name: "norm.weight", dtype: "F32", shape: [side], bytes: LE.f32s([Float](repeating: 1, count: side))))
            try dir.write("\(id)/model.safetensors", SafetensorsWriter.file(tensors))
        }

        /// A PEFT folder whose update of each tensor is B·A (scale 1), B = direction·Aᵀ, so that
        /// ΔW = direction·AᵀA: `direction` seen through the row space of a random A.
        mutating func writeAdapter(_ id: String, direction: Weights, a given: Weights? = nil, rank: Int = AdapterAttachmentTests.rank) throws {
            var tensors: [SafetensorsWriter.Tensor] = []
            for name in direction.keys.sorted() {
                let a = given?[name] ?? gaussian(rank * side, 1)
                let d = direction[name]!
                var b = [Double](repeating: 0, count: side * rank)
                for row in 0..<side { for q in 0..<rank { for j in 0..<side { b[row * rank + q] += d[row * side + j] * a[q * side + j] } } }
                let module = "base_model.model." + name.dropLast(".weight".count)
                tensors.append(.init(name: module + ".lora_A.weight", dtype: "F32", shape: [rank, side], bytes: LE.f32s(a.map(Float.init))))
                tensors.append(.init(name: module + ".lora_B.weight", dtype: "F32", shape: [side, rank], bytes: LE.f32s(b.map(Float.init))))
            }
            try dir.write("\(id)/adapter_model.safetensors", SafetensorsWriter.file(tensors))
            try dir.write("\(id)/adapter_config.json", text: #"{"peft_type": "LORA", "r": \#(rank), "lora_alpha": \#(rank), "target_modules": ["q", "v"]}"#)
        }

        func recover() throws -> ModelGraph {
            try ModelTree.recover(try ModelLoader.expand([dir.path]).map(ModelLoader.load))
        }
    }

    static func combine(_ terms: [(Double, Weights)]) -> Weights {
        Dictionary(uniqueKeysWithValues: names.map { n in
            (n, (0..<(side * side)).map { i in terms.reduce(0) { $0 + $1.0 * $1.1[n]![i] } })
        })
    }

    func edge(_ g: ModelGraph, into id: String) throws -> ModelGraph.Edge {
        let child = try #require(g.ids.firstIndex(of: id))
        return try #require(g.primaryEdge(into: child))
    }

    /// base → tuned and base → sibling are full fine-tunes; `unrelated` another family. An adapter
    /// built on base's directions and parallel to both updates was trained on base; one against
    /// tuned's update (after it) and parallel to sibling's was trained on tuned.
    @Test func adaptersHangFromTheBaseTheirUpdateWasBuiltOn() throws {
        var c = try Collection()
        let base = c.random(), unrelated = c.random()
        let e1 = c.random(0.3), e2 = c.random(0.3)
        let tuned = Self.combine([(1, base), (1, e1)]), sibling = Self.combine([(1, base), (1, e2)])
        for (id, w) in [("base", base), ("tuned", tuned), ("sibling", sibling), ("unrelated", unrelated)] { try c.write(id, w) }
        try c.writeAdapter("on-base", direction: Self.combine([(0.05, base), (0.3, e1), (0.3, e2)]))
        try c.writeAdapter("on-tuned", direction: Self.combine([(0.05, tuned), (-0.3, e1), (0.3, e2)]))
        let g = try c.recover()

        for (adapter, parent) in [("on-base", "base"), ("on-tuned", "tuned")] {
            let e = try edge(g, into: adapter)
            #expect(e.type == .adapter)
            #expect(g.ids[e.parent] == parent)
            // A clear pick by the attachment's own margins; the confidence reported is the adapter
            // family's calibrated one (`Calibration`), whatever the development zoos made of it.
            #expect(e.rawConfidence >= tieConfidence)
            #expect(e.confidence == Calibration.calibrated(e.rawConfidence, family: .adapter))
            #expect(e.unsure == (e.confidence < g.unsureThreshold))
            // A leaf of its base's tree, and the graph stays one value (trees partition the models).
            let child = g.ids.firstIndex(of: adapter)!
            #expect(g.tree(of: child) == g.tree(of: e.parent))
            #expect(!g.edges.contains { $0.parent == child })
        }
        #expect(g.trees.count == 2)
        #expect(!g.warnings.contains { $0.contains("different architectures") })
        // The update's RMS over the tensors it changes (the graph's metric is RMS here).
        let onBase = try edge(g, into: "on-base")
        #expect(g.metric == .rms)
        #expect(onBase.distance > 0 && onBase.distance.isFinite)
        #expect(onBase.evidence?.largestRank == Self.rank)
    }

    /// base → tuned, sibling and third are full fine-tunes. An adapter trained after tuned's change,
    /// on text like tuned's, still runs along that change, but far less than along the changes of
    /// the other branches (measured on real LoRA training: 0.03–0.16 against 0.24–0.44): it was
    /// trained on tuned, where the sign alone (positive: before the change) would say base. One
    /// running along all three changes alike was trained on base.
    @Test func aChangeTheUpdateRunsAlongFarLessWasDescendedBefore() throws {
        var c = try Collection()
        let base = c.random()
        let e = (0..<3).map { _ in c.random(0.3) }
        for (id, k) in [("tuned", 0), ("sibling", 1), ("third", 2)] { try c.write(id, Self.combine([(1, base), (1, e[k])])) }
        try c.write("base", base)
        let tuned = Self.combine([(1, base), (1, e[0])])
        // Along tuned's change a fifth as much as along the others' (0.05 of it comes with tuned).
        try c.writeAdapter("after-tuned", direction: Self.combine([(0.05, tuned), (0.01, e[0]), (0.3, e[1]), (0.3, e[2])]), rank: 6)
        try c.writeAdapter("on-base", direction: Self.combine([(0.05, base), (0.3, e[0]), (0.3, e[1]), (0.3, e[2])]), rank: 6)
        let g = try c.recover()
        for (adapter, parent) in [("after-tuned", "tuned"), ("on-base", "base")] {
            let edge = try edge(g, into: adapter)
            #expect(edge.type == .adapter && g.ids[edge.parent] == parent, "\(adapter)")
            #expect(edge.rawConfidence >= tieConfidence, "\(adapter)")
        }
    }

    /// When the fine-tune's update is orthogonal to the adapter's (no order of training shows),
    /// the weights cannot tell base from fine-tune: the edge is unsure, names the other one, and a
    /// warning says so.
    @Test func indistinguishableBasesAreUnsureWithTheRunnerUp() throws {
        var c = try Collection()
        let base = c.random()
        // A per tensor first, and the fine-tune's update with its rows orthogonal to A's rows
        // (E·Aᵀ = 0), so ⟨B·A, E⟩ = tr(Bᵀ·E·Aᵀ) = 0 for any B.
        let a = c.random()
        var e = c.random(0.3)
        for n in Self.names {
            var rows = (0..<Self.rank).map { q in Array(a[n]![(q * Self.side)..<((q + 1) * Self.side)]) }
            for q in rows.indices {
                for p in 0..<q {
                    let dot = zip(rows[q], rows[p]).reduce(0) { $0 + $1.0 * $1.1 }
                    rows[q] = zip(rows[q], rows[p]).map { $0 - dot * $1 }
                }
                let norm = rows[q].reduce(0) { $0 + $1 * $1 }.squareRoot()
                rows[q] = rows[q].map { $0 / norm }
            }
            for row in 0..<Self.side {
                for q in rows {
                    let dot = (0..<Self.side).reduce(0.0) { $0 + e[n]![row * Self.side + $1] * q[$1] }
                    for j in 0..<Self.side { e[n]![row * Self.side + j] -= dot * q[j] }
                }
            }
        }
        try c.write("base", base)
        try c.write("tuned", Self.combine([(1, base), (1, e)]))
        try c.writeAdapter("adapter", direction: Self.combine([(0.05, base)]), a: Dictionary(uniqueKeysWithValues: Self.names.map { ($0, Array(a[$0]!.prefix(Self.rank * Self.side))) }))
        let g = try c.recover()
        let edge = try edge(g, into: "adapter")
        #expect(edge.type == .adapter && edge.unsure && edge.confidence < g.unsureThreshold)
        let runnerUp = try #require(edge.evidence?.runnerUp?.parent)
        let pair = Set([g.ids[edge.parent], g.ids[runnerUp]])
        #expect(pair == ["base", "tuned"])
        #expect(g.warnings.contains { $0.contains("adapter 'adapter'") && $0.contains("cannot tell") })
    }

    /// An adapter of tensors no model holds stays a root, and says there is no base.
    @Test func anAdapterWithoutABaseStaysARoot() throws {
        var c = try Collection()
        try c.write("base", c.random())
        var elsewhere = Weights()
        for n in Self.names { elsewhere[n.replacingOccurrences(of: "layers.1", with: "layers.7")] = c.gaussian(Self.side * Self.side, 1) }
        try c.writeAdapter("stray", direction: elsewhere)
        let g = try c.recover()
        let adapter = g.ids.firstIndex(of: "stray")!
        #expect(g.primaryParent(of: adapter) == nil && g.trees[g.tree(of: adapter)].members == [adapter])
        #expect(g.warnings.contains { $0.contains("adapter 'stray'") && $0.contains("no base in the collection") })
    }

    /// An adapter made on a model the collection lacks, beside a model of the same shapes whose
    /// weights do not carry its directions: attached (shapes fit) but unsure, saying its base may
    /// be missing.
    @Test func anAdapterOfAMissingBaseIsUnsure() throws {
        var c = try Collection()
        try c.writeAdapter("orphan", direction: Self.combine([(0.05, c.random())]))
        try c.write("unrelated", c.random())
        let g = try c.recover()
        let e = try edge(g, into: "orphan")
        #expect(e.unsure && e.confidence < g.unsureThreshold)
        #expect(g.warnings.contains { $0.contains("adapter 'orphan'") && $0.contains("may not be in the collection") })
    }

    /// A copied adapter folder is a duplicate of the original, not a second adapter of the same
    /// base; one value moved by an ulp makes another adapter, attached on its own.
    @Test func identicalAdaptersAreAGroupOfDuplicates() throws {
        var c = try Collection()
        let base = c.random()
        try c.write("base", base)
        try c.write("unrelated", c.random())
        let direction = Self.combine([(0.05, base)])
        let a = Dictionary(uniqueKeysWithValues: direction.keys.map { ($0, c.gaussian(Self.rank * Self.side, 1)) })
        try c.writeAdapter("adapter", direction: direction, a: a)
        try c.writeAdapter("adapter-copy", direction: direction, a: a)
        var nudged = a
        nudged[Self.names[0]]![0] = Double(Float(a[Self.names[0]]![0]).nextUp)
        try c.writeAdapter("adapter-nudged", direction: direction, a: nudged)
        let g = try c.recover()
        let (adapter, copy, other) = (g.ids.firstIndex(of: "adapter")!, g.ids.firstIndex(of: "adapter-copy")!, g.ids.firstIndex(of: "adapter-nudged")!)
        #expect(g.duplicates == [[adapter, copy]])
        let placeholder = try edge(g, into: "adapter-copy")
        #expect(g.primaryParent(of: copy) == adapter && g.joinsCopies(placeholder))
        #expect(g.edges(into: copy).count == 1)
        for id in ["adapter", "adapter-nudged"] {
            let e = try edge(g, into: id)
            #expect(e.type == .adapter && g.ids[e.parent] == "base", "\(id)")
        }
        #expect(g.duplicateGroup(of: other) == nil)
        #expect(g.tree(of: copy) == g.tree(of: g.ids.firstIndex(of: "base")!))
        #expect(g.warnings.contains { $0.contains("'adapter' and 'adapter-copy' have identical weights") })
    }

    /// An adapter whose factors hold a NaN is no evidence: it stays a root, and says why.
    @Test func anAdapterWithNonFiniteValuesStaysARoot() throws {
        var c = try Collection()
        let base = c.random()
        try c.write("base", base)
        var direction = Self.combine([(0.05, base)])
        direction[Self.names[0]]![3] = .nan
        try c.writeAdapter("broken", direction: direction)
        let g = try c.recover()
        let broken = g.ids.firstIndex(of: "broken")!
        #expect(g.primaryParent(of: broken) == nil)
        #expect(g.warnings.contains { $0.contains("adapter 'broken'") && $0.contains("non-finite") })
    }
}
