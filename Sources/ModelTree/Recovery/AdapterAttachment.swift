import Glibc

/// Chooses the base of each un-merged PEFT adapter from the weights and hangs the adapter from it
/// by an `adapter` edge: a leaf of the base's tree. The adapter config's
/// `base_model_name_or_path` is a claim for the audit, never read here.
///
/// **Candidates**: full models (not adapters) holding every tensor the adapter changes with the
/// same shape; of a duplicate group, its stand-in; quantized copies (a `quantized` edge into them,
/// or GGUF block storage) only when nothing else fits, since PEFT trains on full weights.
///
/// **Family** (Hu et al. 2021, LoRA, §7: ΔW amplifies directions of its base W): with L, R
/// orthonormal bases of the update's column and row spaces, the share of W's energy in them,
/// ‖Lᵀ W R‖² / ‖W‖², over what a matrix without preference puts there (|L|·|R| / rows·columns),
/// is the *enrichment*, averaged over the updated tensors. Measured (synthetic LoRA training over
/// two pre-trained families, 14 adapters): 1.6–3.3 on every model of the base's family, 0.83–1.08
/// on the other family's; within a family it varies by less than 6 %, so it picks the family and
/// nothing finer. Families are the recovered trees; the one with the largest enrichment wins when
/// it exceeds the next by `familyRatio`, and what no preference reaches by as much (1 plus two
/// standard deviations of its estimate), else the edge is unsure.
/// An unrelated model trained on the same text reaches 1.3 on some adapters (zoo 1's against a
/// synthetic family's root), and an adapter of every projection only 1.26 on its own family: no
/// absolute threshold says "no base here", so a weak enrichment is an unsure edge, not a root.
///
/// **Within the family** the base and its fine-tunes hold nearly the same W, and the nearest
/// saved copy (`modules_to_save`) misleads: fine-tunes on similar text move `lm_head` the way the
/// adapter's training does, so a grandchild of the base was the nearest in 3 of 4 adapters
/// measured. What separates them is the order of training. Each training step of the family's
/// tree (`FamilyTree`: a fine-tune's change e from its parent) is seen through the update's
/// subspaces, and its *alignment* with ΔW measured (`Measurement.change`). An adapter trained
/// before a step, or on another branch, descends the generic directions that step descended too
/// (alignments of 0.1–0.8 measured); one trained after it finds them already descended, and its
/// alignment with that step falls — below zero when the adapter's text is unlike the step's, to
/// a fifth to two fifths of the other steps' when it is alike (an MPL adapter on a GPL fine-tune:
/// 0.03–0.16 against 0.24–0.44). So the reference is the adapter's own alignment with the steps
/// on other branches (their median): a step aligned less than half as well was descended before
/// the adapter's training, and the base is the end of the path from the root that gains most
/// (`withinFamily`). The recovered tree's fine-tune edges are trusted here (right on every zoo);
/// a step far smaller than ΔW (`smallUpdate`: a light touch-up) cannot have changed the training
/// and counts nothing. Measured on 60 synthetic adapters (`tools/measure_adapter_attachment.py`,
/// seeds 0–4, twelve kinds): 45 right; the 15 wrong are the three kinds no step can decide — an
/// adapter on a light fine-tune (which no step tells from its parent), one of q and v only on
/// text unlike every fine-tune's (alignments within noise), and one on the only fine-tune of a
/// family (no other branch to compare) — 14 at raw confidence 0, one at 0.34. (On the first 45,
/// the pairwise order-of-training vote this replaced got 25 right, this rule 33.) The weights
/// cannot tell a model from a near-copy of it (an int8 export not typed as such, a light
/// touch-up): among models within the unsure margin of the leader, the finest-stored one is
/// chosen, unsure.
///
/// The saved copies and bias updates are never votes: only their shapes (and, for an adapter
/// without low-rank updates, the nearest copy, unsure) count.
enum AdapterAttachment {
    /// ρ₀: a training step smaller than this fraction of the adapter's own update (Frobenius
    /// norms over the updated tensors) counts nothing. Measured: light fine-tunes (40 steps at lr
    /// 2e-5) 0.003–0.012, full fine-tunes 0.13–0.54; ρ₀ is their geometric middle.
    static let smallUpdate = 0.04

    /// The enrichment of the best family over the next one's (or over 1) above which the family is
    /// told: above the largest spread within a family measured (1.05); between families the
    /// ratios measured were 1.13–3.9 (the lowest against a family pre-trained on the same text).
    static let familyRatio = 1.25

    /// The graph with every adapter of `models` (indices as in `graph`) attached to its base.
    static func attach(_ graph: ModelGraph, models: [Model]) throws -> ModelGraph {
        var edges: [ModelGraph.Edge] = [], notes: [String] = []
        // Value-identical adapters (a copied or re-saved folder) are a group of duplicates, as
        // full models are (`Duplicates`): the first given hangs from its base, the others from it
        // by the group's placeholder edge.
        let adapters = models.indices.filter { models[$0].isAdapter }
        let groups = try Duplicates.groups(count: adapters.count) { try identical(models[adapters[$0]], models[adapters[$1]]) }
            .map { $0.map { adapters[$0] } }
        let standIn = Duplicates.standIns(groups: groups, count: models.count)
        for i in adapters where standIn[i] == i {
            let (edge, note) = try choose(adapter: i, graph: graph, models: models)
            if let edge { edges.append(edge) }
            if let note { notes.append(note) }
        }
        var attached = edges.isEmpty && notes.isEmpty ? graph : try graph.attaching(edges, warnings: notes)
        guard !groups.isEmpty else { return attached }
        // Then the copies, into their stand-in's tree wherever it went.
        attached = try attached.attaching(groups.flatMap { g in g.dropFirst().map { Duplicates.placeholder(standIn: g[0], copy: $0, type: .adapter) } },
                                          warnings: groups.map { Duplicates.note($0.map { "'\(models[$0].id)'" }) })
        attached.duplicates = (attached.duplicates + groups).sorted { $0[0] < $1[0] }
        return attached
    }

    /// Whether two adapters change the same tensors by the same values: the same low-rank factors
    /// (rank, scale, layout and values of A and B), saved copies and bias updates. Factors are
    /// compared rather than the products they make, which would cost a matrix product per tensor;
    /// NaN equals nothing, so an adapter with NaN values is no one's copy.
    static func identical(_ x: Model, _ y: Model) throws -> Bool {
        guard x.tensors.count == y.tensors.count else { return false }
        func same(_ s: TensorView, _ t: TensorView) throws -> Bool {
            guard s.shape == t.shape else { return false }
            switch (s.source, t.source) {
            case let (u as LowRankProduct, v as LowRankProduct):
                guard u.pair.rank == v.pair.rank, u.pair.scale == v.pair.scale, u.pair.transposed == v.pair.transposed,
                      (u.plus == nil) == (v.plus == nil) else { return false }
                if let p = u.plus, let q = v.plus, !(try same(p, q)) { return false }
                guard try same(u.a, v.a) else { return false }
                return try same(u.b, v.b)
            case let (u as Affine, v as Affine):
                guard u.scale == v.scale, u.shift == v.shift else { return false }
                return try same(u.base, v.base)
            case (is LowRankProduct, _), (_, is LowRankProduct), (is Affine, _), (_, is Affine):
                return false
            default:
                return try s.decode() == t.decode()
            }
        }
        for s in x.tensors {
            guard let t = y.tensor(named: s.name), try same(s, t) else { return false }
        }
        return true
    }

    /// The models an adapter could load onto, and whether they are quantized copies only.
    static func candidates(for touched: AdapterEvidence.Touched, graph: ModelGraph, models: [Model]) -> (models: [Int], quantizedOnly: Bool) {
        let fits = models.indices.filter { c in
            !models[c].isAdapter && touched.shapes.allSatisfy { name, shape in
                models[c].tensor(named: name).map { $0.shape == shape && $0.isWeight && $0.undecodableReason == nil } ?? false
            }
        }
        let fitting = Set(fits)
        // Copies hold the same weights: the group's stand-in speaks for them.
        let standIns = fits.filter { c in
            guard let g = graph.duplicateGroup(of: c), graph.duplicates[g][0] != c else { return true }
            return !fitting.contains(graph.duplicates[g][0])
        }
        // A quantized copy: typed so by the recovery, or stored in GGUF blocks whether or not the
        // tree found its source.
        let full = standIns.filter { c in
            graph.primaryEdge(into: c)?.type != .quantized && !touched.shapes.contains { isBlockQuantized(models[c].tensor(named: $0.name)!) }
        }
        return full.isEmpty ? (standIns, !standIns.isEmpty) : (full, false)
    }

    /// Whether the tensor is stored in GGML blocks (Q8_0, Q4_K …), not as floats.
    static func isBlockQuantized(_ t: TensorView) -> Bool {
        guard let blocks = t.source as? GGMLBlocks else { return false }
        return ![.f32, .f16, .bf16, .f64].contains(blocks.type)
    }

    /// The edge base → adapter (nil when no model fits) and a warning when there is something to say.
    static func choose(adapter i: Int, graph: ModelGraph, models: [Model]) throws -> (ModelGraph.Edge?, String?) {
        let adapter = models[i]
        let touched = AdapterEvidence.touched(adapter)
        let (candidates, quantizedOnly) = candidates(for: touched, graph: graph, models: models)
        guard !candidates.isEmpty else {
            return (nil, "adapter '\(adapter.id)': no model in the collection holds every tensor it changes with the same shape "
                + "(no base in the collection); it stays a root")
        }
        let evidence = try Measurement(adapter: adapter, touched: touched, models: models)
        guard evidence.updates.allSatisfy({ AdapterEvidence.Projection.dot($0.own, $0.own).isFinite }) else {
            return (nil, "adapter '\(adapter.id)': its update has non-finite values (NaN or Inf), so no base can be told; it stays a root")
        }
        // A model with non-finite values in the tensors the adapter changes can be weighed against none.
        let finite = try candidates.filter { try evidence.updates.isEmpty || evidence.familyScore($0).isFinite }
        guard !finite.isEmpty else {
            return (nil, "adapter '\(adapter.id)': every model it fits has non-finite values (NaN or Inf) in the tensors it changes "
                + "(no base in the collection to compare); it stays a root")
        }
        var choice = try rank(finite, evidence, graph: graph)
        var notes: [String] = []
        if quantizedOnly {
            notes.append("the only models it fits are quantized copies (PEFT trains on full weights): attached to one")
        }
        if let reason = choice.doubt {
            let which = choice.runnerUp.map { "'\(models[choice.base].id)' or '\(models[$0].id)'" } ?? "'\(models[choice.base].id)'"
            notes.append("the weights cannot tell which base it was trained on, \(which) (\(reason)): "
                + "attached to '\(models[choice.base].id)', marked unsure")
        }
        let metric = graph.metric
        let distance = try evidence.distance(to: choice.base, metric: metric)
        let runnerUp = try choice.runnerUp.map { ModelGraph.EdgeEvidence.Alternative(parent: $0, distance: try evidence.distance(to: $0, metric: metric)) }
        if choice.doubt == nil && Calibration.isUnsure(raw: choice.confidence, family: .adapter) { choice.doubt = "a small margin" }
        let edge = ModelGraph.Edge(parent: choice.base, child: i, type: .adapter, distance: distance, confidence: choice.confidence,
                                   unsure: choice.doubt != nil,
                                   evidence: ModelGraph.EdgeEvidence(runnerUp: runnerUp, kurtosisVotes: nil, normVotes: nil,
                                                                     largestRank: touched.updates.map(\.update.pair.rank).max()))
        return (edge, notes.isEmpty ? nil : "adapter '\(adapter.id)': " + notes.joined(separator: "; "))
    }

    struct Choice {
        var base: Int
        var runnerUp: Int?
        var confidence: Double
        /// Why the weights cannot tell the base from the runner-up; nil when they can.
        var doubt: String?
    }

    /// The family (tree) first, then the base within it.
    static func rank(_ candidates: [Int], _ m: Measurement, graph: ModelGraph) throws -> Choice {
        var byTree: [Int: [Int]] = [:]
        for c in candidates { byTree[graph.tree(of: c), default: []].append(c) }
        var families = try byTree.values.map { members in (members: members, score: try members.map { try m.familyScore($0) }.max()!) }
        families.sort { $0.score > $1.score || ($0.score == $1.score && $0.members[0] < $1.members[0]) }
        var within = try withinFamily(families[0].members, m, graph: graph)
        let other = try families.dropFirst().first.map { f in try f.members.max { try m.familyScore($0) < m.familyScore($1) }! }
        guard !m.updates.isEmpty else {
            // Saved copies alone: the nearest family, never a confident pick.
            if let other { within = Choice(base: within.base, runnerUp: within.runnerUp ?? other, confidence: 0,
                                           doubt: within.doubt ?? "it has no low-rank update to compare") }
            return within
        }
        // The next family, or what a matrix without preference reaches (`Measurement.unrelated`) when higher.
        let next = Swift.max(families.count > 1 ? families[1].score : 0, m.unrelated)
        let ratio = families[0].score / next
        within.confidence = Swift.min(within.confidence, familyConfidence(ratio: ratio))
        guard ratio < familyRatio else { return within }
        if families.count > 1 && families[1].score >= m.unrelated {
            return Choice(base: within.base, runnerUp: other, confidence: within.confidence,
                          doubt: "its update's directions are as strong in both families' weights, \(Formatting.significant(ratio, 3))× apart")
        }
        within.doubt = "its update's directions are barely stronger in these weights than in an unrelated matrix's "
            + "(\(Formatting.significant(ratio, 3))×): its base may not be in the collection"
        return within
    }

    /// Confidence in the family from the ratio of its enrichment to the next one's:
    /// 1 − exp(−ln(ratio) / 0.2). The enrichment varies by at most 4.6 % within a family
    /// (measured), where this gives less than 0.2; the nearest unrelated family measured, 1.79×
    /// lower, gives 0.95.
    static func familyConfidence(ratio: Double) -> Double {
        ratio > 1 ? 1 - Glibc.exp(-Glibc.log(ratio) / 0.2) : 0
    }

    /// The base within one family: the model at the end of the path of changes, from the family's
    /// root, that the adapter's update has already descended (the type's comment).
    static func withinFamily(_ family: [Int], _ m: Measurement, graph: ModelGraph) throws -> Choice {
        guard family.count > 1 else { return Choice(base: family[0], runnerUp: nil, confidence: 1, doubt: nil) }
        guard !m.updates.isEmpty else {
            // Saved copies alone: the nearest, never a confident pick (see the type's comment).
            let sorted = try family.sorted { try m.savedDistance($0) < m.savedDistance($1) }
            return Choice(base: sorted[0], runnerUp: sorted[1], confidence: 0, doubt: "it has no low-rank update to compare")
        }
        let tree = FamilyTree(family, graph: graph)
        let changes = try tree.edges.map { try m.change(from: $0.parent, to: $0.child) }
        // What a change the adapter has not descended shows: the median alignment of the changes on
        // other branches, when it stands clear of what unrelated directions reach (`noise`). Then
        // a change aligned less than half as well was descended before the adapter's training (a
        // gain for going down it), one aligned better was not (a loss). Without that reference
        // only a change clearly against the update says something: it was descended before.
        let noise = m.noise
        let gain: [Double] = tree.edges.indices.map { k in
            guard changes[k].size >= smallUpdate else { return 0 }
            let others = tree.edges.indices.filter { tree.onOtherBranch($0, than: k) && changes[$0].size >= smallUpdate }
            let alignment = changes[k].alignment
            if let fresh = others.map({ changes[$0].alignment }).median, fresh > noise { return fresh / 2 - alignment }
            return alignment < -noise ? -alignment : 0
        }
        let scores = tree.scores { path in path.reduce(0) { $0 + gain[$1] } }
        var order = family.indices.sorted { (-scores[$0], $0) < (-scores[$1], $1) }
        // Among the models the path cannot tell from the leader (near-copies: a cast, an int8 or
        // GGUF export not typed as such, a light touch-up), the finest-stored one: PEFT trains on
        // full weights; of those stored as finely, the ancestor of the others in the tree
        // (`NearIdenticalCandidates`), else the leader's order.
        let tie = withinFamilyMargin(confidence: tieConfidence, noise: noise)
        let tied = order.filter { scores[order[0]] - scores[$0] < tie }
        let finestStorage = tied.map { m.storage(family[$0]) }.min()
        let finestTied = tied.filter { m.storage(family[$0]) == finestStorage }
        let ancestor = NearIdenticalCandidates.ancestor(among: finestTied.map { family[$0] }, in: graph).flatMap { family.firstIndex(of: $0) }
        if let finest = ancestor ?? finestTied.first, finest != order[0] {
            order.removeAll { $0 == finest }
            order.insert(finest, at: 0)
        }
        let best = order[0], second = order[1]
        let margin = scores[best] - scores[second]
        let confidence = withinFamilyConfidence(margin: margin, noise: noise)
        return Choice(base: family[best], runnerUp: family[second], confidence: confidence,
                      doubt: Calibration.isUnsure(raw: confidence, family: .adapter) ? "a margin of \(Formatting.significant(Swift.max(0, margin) / noise, 2)) noise levels along the family's changes" : nil)
    }

    /// The scale of the path margin, in noise levels (`Measurement.noise`, itself two standard
    /// deviations): confidence 1 − exp(−margin / (scale · noise)).
    static let marginScale = 1.0

    /// The margin that gives `confidence` (the inverse of `withinFamilyConfidence`).
    static func withinFamilyMargin(confidence: Double, noise: Double) -> Double {
        -marginScale * noise * Glibc.log(1 - confidence)
    }

    /// Confidence of a pick within a family from its margin over the runner-up's path score.
    static func withinFamilyConfidence(margin: Double, noise: Double) -> Double {
        margin > 0 ? 1 - Glibc.exp(-margin / (marginScale * noise)) : 0
    }

    /// A family's candidates as a tree of training steps along the graph's primary edges: each
    /// candidate's nearest candidate ancestor is its parent here (a quantized copy or a latent node
    /// between them is passed over). A merge is a combination of its parents, not a descent the
    /// adapter could have continued: it adds no step, and its score is its parents' weighted by
    /// its coefficients (it holds that share of each one's steps), so a merge is never preferred
    /// to the best of its parents, and is as close a runner-up as its coefficients make it.
    struct FamilyTree {
        let family: [Int]
        /// Training steps, as models (indices into the graph), parent before child.
        var edges: [(parent: Int, child: Int)] = []
        /// Per member of the family, the steps from its root down to it (a merge's: its primary
        /// parent's).
        private var paths: [Int: [Int]] = [:]
        /// A merge's parents and coefficients, when every parent is a member.
        private var combinations: [Int: [(parent: Int, coefficient: Double)]] = [:]

        init(_ family: [Int], graph: ModelGraph) {
            self.family = family
            let members = Set(family)
            for c in family where graph.primaryEdge(into: c)?.type == .merge {
                let parents = graph.edges(into: c).map { ($0.parent, $0.coefficient ?? .nan) }
                if parents.allSatisfy({ members.contains($0.0) && $0.1.isFinite }) { combinations[c] = parents }
            }
            var up: [Int: Int] = [:]
            for c in family {
                var seen: Set<Int> = [c], m = c
                while let p = graph.primaryParent(of: m), seen.insert(p).inserted {
                    if members.contains(p) { up[c] = p; break }
                    m = p
                }
            }
            var stepInto: [Int: Int] = [:]
            for c in family where graph.primaryEdge(into: c)?.type == .finetune {
                if let p = up[c] { stepInto[c] = edges.count; edges.append((p, c)) }
            }
            for c in family {
                var path: [Int] = [], seen: Set<Int> = [c], m = c
                while let p = up[m], seen.insert(p).inserted {
                    if let k = stepInto[m] { path.append(k) }
                    m = p
                }
                paths[c] = path
            }
        }

        /// The edges from the root down to `member`.
        func path(to member: Int) -> [Int] { paths[member] ?? [] }

        /// Each member's score (in `family`'s order): `score(path)` of its path, a merge's its
        /// parents' weighted by its coefficients (a merge of merges: theirs first).
        func scores(_ score: ([Int]) -> Double) -> [Double] {
            var known: [Int: Double] = [:]
            for c in family where combinations[c] == nil { known[c] = score(path(to: c)) }
            var pending = family.filter { combinations[$0] != nil }
            while !pending.isEmpty {
                let ready = pending.filter { combinations[$0]!.allSatisfy { known[$0.parent] != nil } }
                for c in ready { known[c] = combinations[c]!.reduce(0) { $0 + $1.coefficient * known[$1.parent]! } }
                if ready.isEmpty {
                    // A cycle of merges (the graph's checks forbid it): their primary parents' paths.
                    for c in pending { known[c] = score(path(to: c)) }
                }
                pending.removeAll { known[$0] != nil }
            }
            return family.map { known[$0]! }
        }

        /// Whether edge `k` is neither on the path to edge `j`'s child nor below it: a change an
        /// adapter trained at either end of `j` (or below) has not descended.
        func onOtherBranch(_ k: Int, than j: Int) -> Bool {
            k != j && !path(to: edges[j].child).contains(k) && !path(to: edges[k].child).contains(j)
        }
    }

    /// The adapter's update seen through its own subspaces, and each model's tensors seen through
    /// them too (read once per model, when first asked for).
    final class Measurement {
        let adapter: Model
        let touched: AdapterEvidence.Touched
        let models: [Model]
        /// Per low-rank update: its subspaces and the update itself through them (Lᵀ ΔW R).
        let updates: [(name: String, subspaces: AdapterEvidence.Subspaces, own: AdapterEvidence.Projection, elements: Int)]
        private var projections: [Int: [AdapterEvidence.Projection]] = [:]

        init(adapter: Model, touched: AdapterEvidence.Touched, models: [Model]) throws {
            self.adapter = adapter
            self.touched = touched
            self.models = models
            updates = try touched.updates.map { name, update in
                let s = try AdapterEvidence.subspaces(update)
                // The update alone, without a saved tensor it adds to.
                let pure = TensorView(name: name, shape: update.pair.shape, source: LowRankProduct(pair: update.pair, a: update.a, b: update.b, plus: nil))
                return (name, s, try AdapterEvidence.project(pure, s), pure.count)
            }
        }

        func projections(of c: Int) throws -> [AdapterEvidence.Projection] {
            if let known = projections[c] { return known }
            let p = try updates.map { try AdapterEvidence.project(models[c].tensor(named: $0.name)!, $0.subspaces) }
            projections[c] = p
            return p
        }

        /// The enrichment of model c's weights in the update's subspaces (mean over the updates);
        /// without updates, minus the saved copies' RMS distance (the nearer, the higher).
        func familyScore(_ c: Int) throws -> Double {
            guard !updates.isEmpty else { return -(try savedDistance(c)) }
            let p = try projections(of: c)
            var sum = 0.0
            for (u, q) in zip(updates, p) {
                let w = models[c].tensor(named: u.name)!
                let rows = Double(w.shape.first ?? 1), columns = Double(w.count) / rows
                let expected = Double(u.subspaces.left.count * u.subspaces.right.count) / (rows * columns)
                sum += q.share / expected
            }
            return sum / Double(updates.count)
        }

        /// The enrichment a matrix without preference reaches, two standard deviations up: its
        /// energy in an |L|×|R| block is a sum of |L|·|R| squares, whose mean has relative
        /// standard deviation √(2 / (|L|·|R|)); the mean over T tensors, √(Σ 2/(|L|·|R|)) / T.
        var unrelated: Double {
            let variance = updates.reduce(0.0) { $0 + 2 / Double(Swift.max(1, $1.subspaces.left.count * $1.subspaces.right.count)) }
            return 1 + 2 * variance.squareRoot() / Double(Swift.max(1, updates.count))
        }

        /// The coarsest storage rounding of model c's updated tensors (`TensorView.unitRoundoff`).
        func storage(_ c: Int) -> Double {
            updates.map { models[c].tensor(named: $0.name)!.unitRoundoff }.max() ?? 0
        }

        /// The mean RMS distance of the saved copies to model c's tensors.
        func savedDistance(_ c: Int) throws -> Double {
            guard !touched.saved.isEmpty else { return .nan }
            let d = try touched.saved.map { try AdapterEvidence.rmsDifference($0.tensor, models[c].tensor(named: $0.name)!) }
            return d.reduce(0, +) / Double(d.count)
        }

        /// How model b → model b' changes the weights the adapter updates (e = W_b' − W_b):
        /// `alignment`, the cosine between ΔW and e's part inside ΔW's subspaces (Lᵀ e R), pooled
        /// over the updated tensors; `size`, ‖e‖ / ‖ΔW‖ (Frobenius norms over the same tensors).
        func change(from b: Int, to other: Int) throws -> (alignment: Double, size: Double) {
            let pb = try projections(of: b), po = try projections(of: other)
            var dot = 0.0, inside = 0.0, whole = 0.0, own = 0.0
            for (k, u) in updates.enumerated() {
                var e = po[k]
                for j in e.inside.indices { e.inside[j] -= pb[k].inside[j] }
                dot += AdapterEvidence.Projection.dot(u.own, e)
                inside += AdapterEvidence.Projection.dot(e, e)
                own += AdapterEvidence.Projection.dot(u.own, u.own)
                let rms = try AdapterEvidence.rmsDifference(models[other].tensor(named: u.name)!, models[b].tensor(named: u.name)!)
                whole += rms * rms * Double(u.elements)
            }
            let alignment = inside > 0 && own > 0 ? dot / (inside * own).squareRoot() : 0
            return (alignment, own > 0 ? (whole / own).squareRoot() : 0)
        }

        /// What alignment (`change`) a change unrelated to the update reaches, two standard
        /// deviations up: a random direction in the update's subspaces, of dimension Σ |L|·|R|
        /// over the updated tensors, has a cosine of standard deviation 1/√dimension with it.
        var noise: Double {
            2 / Double(Swift.max(1, updates.reduce(0) { $0 + $1.subspaces.left.count * $1.subspaces.right.count })).squareRoot()
        }

        /// The edge's distance in the graph's metric: under `rank`, the summed rank of the
        /// differences the adapter makes (its updates' ranks, a saved copy's smaller side);
        /// otherwise the mean RMS of those differences over the tensors it changes (its updates'
        /// own, a saved copy's from the base's tensor).
        func distance(to base: Int, metric: Metric) throws -> Double {
            if metric == .rank {
                return Double(touched.updates.map(\.update.pair.rank).reduce(0, +) + touched.saved.map { $0.tensor.shape.min() ?? 0 }.reduce(0, +))
            }
            var sum = 0.0, count = 0
            let savedNames = Set(touched.saved.map(\.name))
            for u in updates where !savedNames.contains(u.name) {
                sum += (AdapterEvidence.Projection.dot(u.own, u.own) / Double(Swift.max(1, u.elements))).squareRoot()
                count += 1
            }
            for s in touched.saved {
                // A saved tensor an update adds to: the whole view (copy + ΔW) against the base's.
                let view = adapter.tensor(named: s.name)!
                sum += try AdapterEvidence.rmsDifference(view, models[base].tensor(named: s.name)!)
                count += 1
            }
            return count == 0 ? 0 : sum / Double(count)
        }
    }
}
