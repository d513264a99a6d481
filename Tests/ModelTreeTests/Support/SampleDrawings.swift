import Glibc
@testable import ModelTree

/// Drawings for the layout, SVG and browser tests: the example zoos as recovered today, a typed
/// supply chain with every relation, hostile ids, and random forests and DAGs.
enum SampleDrawings {
    /// The repository's root, found from this file's path.
    static var root: String {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)   // Tests/ModelTreeTests/Support/SampleDrawings.swift
        return parts.joined(separator: "/")
    }

    /// An example zoo recovered with default options, drawn by the core's adapter with its score
    /// against the zoo's truth file: what `modeltree-cli recover examples/NAME --truth … --format
    /// svg` draws.
    static func zoo(_ name: String) throws -> Drawing {
        let folder = root + "/examples/" + name
        let graph = try recover(try ModelLoader.expand([folder]).map(ModelLoader.load))
        return Drawing(graph, score: try graph.score(against: try Truth(contentsOf: folder + "/truth.json")))
    }

    /// Every relation of the shared contract: a base with fine-tunes, an adapter, quantized exports,
    /// a merge of two parents, a family whose root is a latent parent, identical copies, a
    /// layer-subset edge into another family, unsure edges, warnings and a score.
    static func supplyChain() -> Drawing {
        var d = Drawing(title: "Typed supply chain (sample)", families: [
            .init(title: "Family 1 · llama-tiny", evidence: [.init("direction", "fine-tuning lowers kurtosis")]),
            .init(title: "Family 2 · siblings of an unpublished base"),
            .init(title: "Family 3 · distilled"),
        ])
        func model(_ id: String, _ k: Double, family: Int, kind: Drawing.NodeKind = .model) -> Int {
            d.nodes.append(.init(id: id, lines: [id, "kurtosis " + fixed(k, 2)], kind: kind, family: family,
                                 evidence: [.init("kurtosis", fixed(k, 4)), .init("path", "/models/" + id)]))
            return d.nodes.count - 1
        }
        func edge(_ p: Int, _ c: Int, _ type: Drawing.EdgeType, _ dist: Double, _ conf: Double, unsure: Bool = false, _ extra: [Drawing.Fact] = []) {
            d.edges.append(.init(parent: p, child: c, type: type, lines: [significant(dist), "conf " + fixed(conf, 2)], unsure: unsure,
                                 evidence: [.init("distance", significant(dist)), .init("runner-up distance", significant(dist * 1.6)),
                                            .init("direction votes", "kurtosis 41/60, norm 57/60")] + extra))
        }
        let base = model("llama-tiny-base", 3.41, family: 0, kind: .root)
        let chat = model("llama-tiny-chat", 3.12, family: 0)
        let code = model("llama-tiny-code", 3.05, family: 0)
        let lora = model("llama-tiny-chat-lora-r8", 3.12, family: 0)
        let q8 = model("llama-tiny-chat.Q8_0.gguf", 3.30, family: 0)
        let q4 = model("llama-tiny-chat.Q4_K_M.gguf", 3.52, family: 0)
        let bf16 = model("llama-tiny-code-bf16", 3.05, family: 0)
        let copy = model("llama-tiny-code-bf16-copy", 3.05, family: 0)
        let merged = model("chat-code-slerp", 2.98, family: 0)
        let math = model("llama-tiny-chat-math", 2.91, family: 0)
        edge(base, chat, .finetune, 0.0213, 0.81)
        edge(base, code, .finetune, 0.0241, 0.77)
        edge(chat, lora, .adapter, 8, 0.66, [.init("rank", "8"), .init("claimed base", "llama-tiny-chat"), .init("audit", "agrees")])
        edge(chat, q8, .quantized, 0.0009, 0.97)
        edge(chat, q4, .quantized, 0.0042, 0.93)
        edge(code, bf16, .quantized, 0.0003, 0.99)
        edge(chat, merged, .merge, 0.0101, 0.58, [.init("coefficient", "0.5"), .init("residual", "0.002")])
        edge(code, merged, .merge, 0.0112, 0.55, [.init("coefficient", "0.5"), .init("residual", "0.002")])
        edge(chat, math, .finetune, 0.0187, 0.14, unsure: true, [.init("claimed base", "llama-tiny-code"), .init("audit", "contradicts")])
        d.duplicates = [[bf16, copy]]

        let latent = d.nodes.count
        d.nodes.append(.init(id: nil, lines: ["latent parent", "of 3 models"], kind: .latent, family: 1,
                             evidence: [.init("explains", "sib-a, sib-b, sib-c"), .init("right angle", "87°")]))
        for (i, name) in ["sib-a", "sib-b", "sib-c"].enumerated() {
            let s = model(name, 2.5 + 0.1 * Double(i), family: 1)
            edge(latent, s, .finetune, 0.03 + 0.001 * Double(i), 0.4 + 0.1 * Double(i), unsure: i == 2)
        }
        let distil = model("llama-tiny-distil-L3", 3.6, family: 2)
        edge(base, distil, .layerSubset, 0, 0.9, [.init("layers", "0←0, 1←2, 2←4")])
        d.warnings = ["2 tensors with NaN were skipped: blocks.3.attn.q.weight, blocks.3.attn.k.weight",
                      "the direction of family 2 could not be told; edges are drawn as fine-tunes and marked unsure"]
        d.score = [.init("typed F1", "0.96"), .init("ARI", "1.000")]
        return d
    }

    /// Ids a file system allows and a renderer must survive.
    static let hostileIDs = [
        "<script>alert(1)</script>", "a&b&amp;c", "quote\"d 'single'", "tab\there\nnewline\r",
        "nul\u{0}bell\u{7}esc\u{1B}del\u{7F}c1\u{85}", "rtl-\u{202E}gnp.exe", "عربي-نموذج-٣", "עברית-מודל",
        "zero\u{200B}width\u{FEFF}bom", "nonchar\u{FFFE}\u{FFFF}", "emoji-🦙-模型-모델", "combining-e\u{301}\u{301}\u{301}",
        "]]><!-- -->", String(repeating: "very-long-model-name-", count: 40) + "end", "</svg></script></html>",
    ]

    /// A chain of hostile ids, each a child of the previous, in two families.
    static func hostile() -> Drawing {
        var d = Drawing(title: "hostile <ids> & \"quotes\" \u{202E}", families: [.init(title: "<family> & \u{0}"), .init(title: "\u{202E}second")])
        for (i, id) in hostileIDs.enumerated() {
            d.nodes.append(.init(id: id, lines: [id, "kurtosis 1.00"], kind: i == 0 || i == 8 ? .root : .model, family: i < 8 ? 0 : 1,
                                 evidence: [.init("id <raw>", id)]))
            if i != 0 && i != 8 {
                d.edges.append(.init(parent: i - 1, child: i, lines: [id, "<conf> & 0.5"], unsure: i % 2 == 0, evidence: [.init(id, id)]))
            }
        }
        d.warnings = ["a warning naming \(hostileIDs[0]) and \(hostileIDs[4])"]
        d.score = [.init("<score>", "&1")]
        return d
    }

    /// A base with `leaves` leaf fine-tunes and `subtrees` children that have children of their
    /// own, per family: the fan-out of a popular hub model.
    static func star(leaves: Int, subtrees: Int, families: Int = 1) -> Drawing {
        var d = Drawing(title: "star", families: (0..<families).map { .init(title: "base \($0 + 1)") })
        for f in 0..<families {
            let root = d.nodes.count
            d.nodes.append(.init(id: "base-\(f)", lines: ["base-\(f)", "kurtosis 3.00"], kind: .root, family: f))
            for i in 0..<(leaves + subtrees) {
                let id = "base-\(f)-finetune-\(i)" + (i % 7 == 0 ? "-with-a-longer-name" : "")
                d.nodes.append(.init(id: id, lines: [id, "kurtosis 2.50"], family: f))
                d.edges.append(.init(parent: root, child: d.nodes.count - 1, type: i % 5 == 0 ? .quantized : .finetune,
                                     lines: ["0.0\(i % 9 + 1)", "conf 0.5"], unsure: i % 4 == 0))
                if i >= leaves {
                    let parent = d.nodes.count - 1
                    for j in 0..<2 {
                        d.nodes.append(.init(id: "\(id)-\(j)", family: f))
                        d.edges.append(.init(parent: parent, child: d.nodes.count - 1, lines: ["0.01"]))
                    }
                }
            }
        }
        return d
    }

    /// A random forest with hubs: each new model picks, half of the time, one of a few popular
    /// parents, so that several of them get dozens of leaves (grids) beside ordinary subtrees.
    static func bushy(models n: Int, families f: Int, merges: Int = 0, seed: UInt64) -> Drawing {
        var d = random(models: n, families: f, merges: merges, seed: seed)
        var rng = SplitMix64(seed: seed ^ 0xB05)
        var children = [Int](repeating: 0, count: n)
        for e in d.edges { children[e.parent] += 1 }
        for k in d.edges.indices where d.edges[k].type != .merge && Bool.random(using: &rng) {
            let child = d.edges[k].child, family = d.nodes[child].family
            // The hubs: the first three models of the family, if they come before the child.
            let hubs = d.nodes.indices.filter { d.nodes[$0].family == family && $0 < child }.prefix(3)
            guard let hub = hubs.randomElement(using: &rng), children[child] == 0 else { continue }
            d.edges[k].parent = hub
        }
        d.title = "bushy \(n) models"
        return d
    }

    /// A random forest (and, with `merges`, a DAG): `families` families, each a random
    /// recursive tree; merge children get a second parent from an earlier node of their family.
    static func random(models n: Int, families f: Int, merges: Int = 0, duplicates: Int = 0, seed: UInt64) -> Drawing {
        var rng = SplitMix64(seed: seed)
        var d = Drawing(title: "random \(n) models", families: (0..<f).map { .init(title: "Family \($0 + 1)") })
        var members = [[Int]](repeating: [], count: f)
        for i in 0..<n {
            let fam = i < f ? i : Int.random(in: 0..<f, using: &rng)
            let id = "model-\(i)-" + String(repeating: "x", count: Int.random(in: 0...12, using: &rng))
            d.nodes.append(.init(id: id, lines: [id, "kurtosis " + fixed(Double.random(in: 0...5, using: &rng), 2)],
                                 kind: members[fam].isEmpty ? .root : .model, family: fam))
            if let parent = members[fam].isEmpty ? nil : members[fam][Int.random(in: 0..<members[fam].count, using: &rng)] {
                d.edges.append(.init(parent: parent, child: i, type: Drawing.EdgeType.allCases[Int.random(in: 0..<4, using: &rng)],
                                     lines: [significant(Double.random(in: 0.001...0.1, using: &rng)), "conf " + fixed(Double.random(in: 0...1, using: &rng), 2)],
                                     unsure: Bool.random(using: &rng)))
            }
            members[fam].append(i)
        }
        var added = 0
        for child in d.nodes.indices.reversed() where added < merges {
            let fam = d.nodes[child].family
            let earlier = members[fam].filter { m in m < child && !d.edges.contains(where: { e in e.child == child && e.parent == m }) }
            guard d.nodes[child].kind == .model, let other = earlier.first else { continue }
            d.edges.append(.init(parent: other, child: child, type: .merge, lines: ["0.5"]))
            added += 1
        }
        var used = Set<Int>()
        for g in 0..<duplicates {
            let a = 2 * g + f, b = 2 * g + f + 1
            guard b < n, !used.contains(a), !used.contains(b), d.nodes[a].family == d.nodes[b].family else { continue }
            d.duplicates.append([a, b])
            used.formUnion([a, b])
        }
        return d
    }
}

func fixed(_ x: Double, _ decimals: Int) -> String { Formatting.fixed(x, decimals) }
func significant(_ x: Double) -> String { Formatting.significant(x) }
