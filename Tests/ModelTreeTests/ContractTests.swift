import Foundation
import Testing
@testable import ModelTree

/// The contracts later work builds on: a tensor source plugs into the streaming driver without
/// touching it; options are validated once, in the core, and name themselves as callers know
/// them; threads and resource limits are per call; the graph value checks itself and carries its
/// threshold; outputs are rendered once; truths are read once, with messages that say why.
@Suite struct ContractTests {
    static let names = ["blocks.0.q", "blocks.0.v", "blocks.1.q"]

    /// A root, two fine-tunes of it and a grandchild: every tensor `rows × cols`.
    private func family(rows: Int = 24, cols: Int = 24, seed: UInt64 = 1) -> [(String, [[Double]])] {
        var s = Sampler(seed: seed)
        let root = Self.names.map { _ in (0..<(rows * cols)).map { _ in s.laplace(0.05) } }
        func tune(_ w: [[Double]]) -> [[Double]] { w.map { m in m.map { $0 + s.gaussian() * 0.02 } } }
        let a = tune(root), b = tune(root), c = tune(a)
        return [("r", root), ("a", a), ("b", b), ("c", c)]
    }

    private func models(_ family: [(String, [[Double]])], rows: Int = 24, cols: Int = 24) throws -> [Model] {
        try family.map { id, w in try makeModel(id, zip(Self.names, w).map { ($0, [rows, cols], $1) }) }
    }

    // MARK: - Tensor sources and the driver

    /// A computed view, as an ONNX reader will add: the transpose of a stored matrix, decoded
    /// through the operand's own source and cursor. Nothing in the driver or the passes knows it.
    struct Transposed: TensorSource {
        let base: TensorView
        var isWeight: Bool { base.isWeight }
        var unitRoundoff: Double { base.unitRoundoff }
        var typeName: String { "transpose of \(base.typeName)" }

        func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
            let rows = base.shape[0], cols = base.shape[1]
            let whole = cursor.scratch(bytes: rows * cols * 4).assumingMemoryBound(to: Float.self)
            let operand = cursor.operand(0)
            operand.window = 0..<(rows * cols)
            try base.source.decode(0..<(rows * cols), into: whole, cursor: operand)
            for k in range {
                let i = k / rows, j = k % rows        // element (i, j) of the cols × rows view
                target[k - range.lowerBound] = whole[j * cols + i]
            }
        }
    }

    /// Tensors of 300 × 301 (two segments of the driver, ragged blocks), given once stored
    /// transposed and once as a computed transpose of the stored original, from files: the
    /// graphs are the same to the bit, on one thread and on three.
    @Test func aComputedSourcePlugsIntoTheDriver() throws {
        let (rows, cols) = (300, 301)
        let dir = try TemporaryDirectory()
        var stored: [Model] = [], computed: [Model] = []
        for (id, w) in family(rows: rows, cols: cols, seed: 5) {
            let transposed = w.map { m in (0..<(rows * cols)).map { k in m[(k % rows) * cols + k / rows] } }
            stored.append(try makeModel(id, zip(Self.names, transposed).map { ($0, [cols, rows], $1) }))
            // The originals go to a file, so that the operand is read through its cursor.
            let file = SafetensorsWriter.file(zip(Self.names, w).map { name, m in
                SafetensorsWriter.Tensor(name: name, dtype: "F32", shape: [rows, cols],
                                         bytes: SafetensorsWriter.bytes(m.map { Float($0).bitPattern }))
            })
            let original = try SafetensorsFile(path: dir.write("\(id).safetensors", file))
            computed.append(try Model(id: id, path: nil, tensors: original.tensors.map {
                TensorView(name: $0.name, shape: [cols, rows], source: Transposed(base: $0))
            }, owners: [original]))
        }
        for threads in [1, 3] {
            var options = RecoveryOptions()
            options.threads = threads
            let a = try recover(stored, options: options), b = try recover(computed, options: options)
            #expect(a.distances == b.distances && a.parents == b.parents && a.models == b.models)
            #expect(b.render(.json) == a.render(.json))
        }
        #expect(computed[0].tensors[0].typeName == "transpose of F32" && computed[0].tensors[0].dtype == nil)
    }

    /// A tensor lent from memory must hold exactly count × dtype size bytes.
    @Test func tensorViewsCheckTheirBufferLength() throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { buffer.deallocate() }
        let bytes = UnsafeRawBufferPointer(buffer)
        #expect(try TensorView(name: "w", dtype: .f32, shape: [4, 4], bytes: bytes).count == 16)
        #expect(try TensorView(name: "w", dtype: .bf16, shape: [2, 16], bytes: bytes).count == 32)
        expectError(.invalidArgument, "tensor 'w' of shape [4, 5] and dtype F32 needs 80 bytes, the buffer holds 64") {
            _ = try TensorView(name: "w", dtype: .f32, shape: [4, 5], bytes: bytes)
        }
        expectError(.invalidArgument, "needs 0 bytes") {
            _ = try TensorView(name: "w", dtype: .f64, shape: [0, 3], bytes: bytes)
        }
        expectError(.invalidArgument, "overflows") {
            _ = try TensorView(name: "w", dtype: .f64, shape: [1 << 40, 1 << 40], bytes: bytes)
        }
    }

    // MARK: - Options

    /// Every option is checked by the core, and the message starts with the option's name as the
    /// C struct and Python spell it — never a command-line flag.
    @Test func optionsAreValidatedOnceAndNameThemselves() throws {
        func invalid(_ change: (inout RecoveryOptions) -> Void, _ expected: String) {
            var o = RecoveryOptions()
            change(&o)
            expectError(.invalidArgument, expected) { try o.validate() }
            #expect((try? o.validate()) == nil)
        }
        invalid({ $0.lambda = -1 }, "lambda must be a finite number ≥ 0, got -1.0")
        invalid({ $0.lambda = .nan }, "lambda must be")
        invalid({ $0.lambda = .infinity }, "lambda must be")
        invalid({ $0.trees = 0 }, "trees must be at least 1, got 0")
        invalid({ $0.threads = 0 }, "threads must be at least 1, got 0")
        invalid({ $0.maxModels = 0 }, "max_models must be at least 1")
        invalid({ $0.memoryBudget = -5 }, "memory_budget must be at least 1 byte")
        try RecoveryOptions().validate()
        // Against the models: more trees than models, more models than allowed.
        let four = try models(family())
        var o = RecoveryOptions()
        o.trees = 5
        expectError(.invalidArgument, "trees is 5, more than the 4 models") { _ = try recover(four, options: o) }
        o = RecoveryOptions()
        o.maxModels = 3
        do {
            _ = try recover(four, options: o)
            Issue.record("max_models was not enforced")
        } catch let error as ModelTreeError {
            #expect(error == .outOfMemory("max_models is 3, and 4 models were given"))
        }
        o.maxModels = 4
        _ = try recover(four, options: o)
    }

    /// The thread count is per call and changes nothing in the result.
    @Test func threadsArePerCallAndChangeNothing() throws {
        let family = try models(family(rows: 40, cols: 33), rows: 40, cols: 33)
        var o = RecoveryOptions()
        o.threads = 1
        let one = try recover(family, options: o)
        for threads in [2, 3, 64, 1000] {
            o.threads = threads
            let other = try recover(family, options: o)
            #expect(other.render(.json) == one.render(.json), "threads \(threads)")
        }
    }

    /// The memory budget: too small even for one thread is an error naming both figures; one
    /// that fits fewer threads than asked for drops threads and gives the same graph.
    @Test func memoryBudgetDropsThreadsThenRefuses() throws {
        let family = try models(family(rows: 64, cols: 48), rows: 64, cols: 48)
        let estimate = WeightSource(models: family)
            .workingMemory(family, Self.names, directionTensors: Self.names.count, options: RecoveryOptions())
        let one = estimate.bytes(threads: 1), four = estimate.bytes(threads: 4)
        #expect(one < four && one > 24 * family.count * family.count * 8)
        var o = RecoveryOptions()
        o.threads = 4
        o.memoryBudget = one - 1
        expectError(.outOfMemory, "memory_budget is \(one - 1) bytes", "needs about \(one) bytes") { _ = try recover(family, options: o) }
        #expect(try estimate.threads(upTo: 4, budget: one) == 1)
        #expect(try estimate.threads(upTo: 4, budget: four) == 4)
        o.memoryBudget = one
        let tight = try recover(family, options: o)
        o.memoryBudget = nil
        #expect(try recover(family, options: o).render(.json) == tight.render(.json))
    }

    // MARK: - The graph value

    @Test func graphValuesCheckThemselves() throws {
        let node = ModelGraph.Node(id: "x", path: nil, kurtosis: 0)
        let two = SquareMatrix<Double>(count: 2, repeating: 0)
        func tree(_ members: [Int], _ root: Int) -> ModelGraph.Tree {
            ModelGraph.Tree(members: members, root: root, direction: .finetune, directionUnsure: false)
        }
        func edge(_ p: Int, _ c: Int) -> ModelGraph.Edge {
            ModelGraph.Edge(parent: p, child: c, type: .finetune, distance: 1, confidence: 1, unsure: false)
        }
        func make(_ edges: [ModelGraph.Edge], _ trees: [ModelGraph.Tree], _ d: SquareMatrix<Double> = two) throws -> ModelGraph {
            try ModelGraph(models: [node, node], edges: edges, trees: trees, distances: d, tensors: [], metric: .rms,
                           warnings: [], unsureThreshold: 0.2)
        }
        let g = try make([edge(0, 1)], [tree([0, 1], 0)])
        #expect(g.primaryParent(of: 1) == 0 && g.primaryParent(of: 0) == nil && g.parents == [-1, 0])
        #expect(g.edges(into: 1).count == 1 && g.edges(into: 0).isEmpty && g.tree(of: 1) == 0 && g.roots == [0])
        func inconsistent(_ fragment: String, _ body: () throws -> ModelGraph) {
            do { _ = try body(); Issue.record("accepted: \(fragment)") } catch let error as ModelTreeError {
                guard case .internal(let m) = error, m.contains(fragment) else { Issue.record("\(error)"); return }
            } catch { Issue.record("\(error)") }
        }
        inconsistent("out of range") { try make([edge(0, 2)], [tree([0, 1], 0)]) }
        inconsistent("joins two trees") { try make([edge(0, 1)], [tree([0], 0), tree([1], 1)]) }
        inconsistent("has a parent") { try make([edge(0, 1)], [tree([0, 1], 1)]) }
        inconsistent("belongs to no tree") { try make([], [tree([0], 0)]) }
        inconsistent("in two trees") { try make([], [tree([0, 1], 0), tree([1], 1)]) }
        inconsistent("not a member") { try make([], [tree([0, 1], 3)]) }
        inconsistent("distance matrix") { try make([], [tree([0, 1], 0)], SquareMatrix(count: 3, repeating: 0)) }
        inconsistent("grouped by child") {
            try ModelGraph(models: [node, node, node], edges: [edge(0, 2), edge(0, 1)], trees: [tree([0, 1, 2], 0)],
                           distances: SquareMatrix(count: 3, repeating: 0), tensors: [], metric: .rms, warnings: [],
                           unsureThreshold: 0.2)
        }
    }

    // MARK: - Rendering

    @Test func renderingIsOneFunctionWithOrWithoutAScore() throws {
        let g = try recover(try models(family()))
        let truth = Truth(edges: [("r", "a"), ("r", "b"), ("a", "c")], roots: ["r"])
        let score = try g.score(against: truth)
        #expect(score.correct == 3 && score.total == 3)
        #expect(g.render(.json) == g.json() && g.render(.json, score: score) == g.json(score: score))
        #expect(g.render(.text) == g.text() && g.render(.text, score: score) == g.text() + "\n" + score.text())
        #expect(g.render(.dot) == g.dot())
        let dot = g.render(.dot, score: score)
        #expect(dot.contains("label=\"Edge accuracy: 3/3 (100.0%), adjusted Rand index of the trees 1.000\";"))
        #expect(dot.replacingOccurrences(of: "  label=\"Edge accuracy: 3/3 (100.0%), adjusted Rand index of the trees 1.000\";\n  labelloc=b;\n", with: "") == g.dot())
        // Every edge carries its type in the JSON; the text states the graph's own threshold.
        let doc = try JSONSerialization.jsonObject(with: Data(g.json().utf8)) as! [String: Any]
        let edges = doc["edges"] as! [[String: Any]]
        #expect(edges.count == 3 && edges.allSatisfy { $0["type"] as? String == "finetune" })
        let unsure = try ModelGraph(models: g.models, edges: g.edges.map { var e = $0; e.unsure = true; return e }, trees: g.trees,
                                    distances: g.distances, tensors: g.tensors, metric: g.metric, warnings: [], unsureThreshold: 0.35)
        #expect(unsure.text().contains("3 edges are unsure (confidence below 0.35"))
    }

    // MARK: - Truths

    @Test func truthFilesSayWhatIsWrong() throws {
        let dir = try TemporaryDirectory()
        expectError(.io, "truth file \(dir.path)/missing.json: No such file or directory") {
            _ = try Truth(contentsOf: dir.path + "/missing.json")
        }
        let notJSON = try dir.write("bad.json", text: "{\"edges\"")
        expectError(.format, notJSON + ": JSON") { _ = try Truth(contentsOf: notJSON) }
        let badEdges = try dir.write("edges.json", text: "{\"edges\": 3}")
        expectError(.format, badEdges + ": truth: \"edges\" must be an array") { _ = try Truth(contentsOf: badEdges) }
        let good = try dir.write("good.json", text: "{\"edges\": [[\"r\", \"a\"]], \"roots\": [\"b\"]}")
        let truth = try Truth(contentsOf: good)
        #expect(truth.edges.map(\.child) == ["a"] && truth.roots == ["b"])
        // A document from a caller: the same parser, problems are the caller's argument.
        #expect(try Truth(document: "{\"edges\": [[\"r\", \"a\"]]}").edges.map(\.parent) == ["r"])
        expectError(.invalidArgument, "unknown key \"root\"") { _ = try Truth(document: "{\"edges\": [], \"root\": []}") }
        expectError(.invalidArgument, "JSON") { _ = try Truth(document: "{") }
    }

    // MARK: - Messages

    /// "No tensor is shared" names the patterns that made it so, and points to include when the
    /// shared tensors are all 1-D.
    @Test func nothingToCompareSaysWhyAndWhatToTry() throws {
        var s = Sampler(seed: 3)
        let bias = (0..<32).map { _ in s.gaussian() }
        let a = try makeModel("a", [("bias", [32], bias), ("norm", [32], bias)])
        let b = try makeModel("b", [("bias", [32], bias.map { $0 + 0.1 }), ("norm", [32], bias)])
        expectError(.incompatibleModels, "no floating-point 2-D tensor", "2 shared tensors have fewer than 2 dimensions", "'bias' of shape [32]",
                           "include patterns, such as '*'") { _ = try recover([a, b]) }
        var o = RecoveryOptions()
        o.include = ["*"]
        #expect(try recover([a, b], options: o).tensors == ["bias", "norm"])
        o.include = ["blocks.*", "x?"]
        o.exclude = ["*.v"]
        expectError(.incompatibleModels, "matching the include patterns ('blocks.*', 'x?')", "none of the exclude patterns ('*.v')") {
            _ = try recover([a, b], options: o)
        }
    }

}
