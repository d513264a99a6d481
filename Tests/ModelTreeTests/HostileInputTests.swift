import Foundation
import Glibc
import Testing
@testable import ModelTree

/// Hostile and broken collections and files that the reader's and the
/// recovery's own suites do not already cover: each case ends in a specific error or a specific
/// warning, never a crash, a hang or a silent wrong answer.
@Suite struct HostileInputTests {
    typealias T = SafetensorsWriter.Tensor
    static let side = 16
    static let names = ["layer.0.q", "layer.0.v", "layer.1.q"]

    /// A heavy-tailed "pre-trained" model's tensors (excess kurtosis ≈ 3).
    private func root(_ s: inout Sampler) -> [[Double]] {
        Self.names.map { _ in (0..<(Self.side * Self.side)).map { _ in s.laplace(0.05) } }
    }

    /// A full fine-tune of `w`: a dense Gaussian update.
    private func fineTune(_ w: [[Double]], _ s: inout Sampler) -> [[Double]] {
        w.map { m in m.map { $0 + s.gaussian() * 0.02 } }
    }

    private func model(_ id: String, _ w: [[Double]], dtype: DType = .f32,
                       extra: [(name: String, shape: [Int], values: [Double])] = []) throws -> Model {
        try makeModel(id, zip(Self.names, w).map { ($0, [Self.side, Self.side], $1) } + extra, dtype: dtype)
    }

    private func parents(_ g: ModelGraph) -> [String: String] {
        var out: [String: String] = [:]
        for (i, p) in g.parents.enumerated() where p >= 0 { out[g.ids[i]] = g.ids[p] }
        return out
    }

    /// Expects `body` to throw `.incompatibleModels` whose message contains every fragment.
    /// A safetensors file of F32 tensors (values given as Float) plus tensors given as raw bytes.
    private func file(_ tensors: [(String, [Int], [Float])], raw: [T] = []) -> [UInt8] {
        SafetensorsWriter.file(raw + tensors.map { T(name: $0.0, dtype: "F32", shape: $0.1, bytes: SafetensorsWriter.bytes($0.2.map(\.bitPattern))) })
    }

    // MARK: - Zero-sized tensors

    /// Zero-sized tensors are valid safetensors (the reference accepts them); they hold no
    /// evidence, so a recovery never selects one, even when every pattern includes it.
    @Test func zeroSizedTensorsAreReadAndNeverCompared() throws {
        let dir = try TemporaryDirectory()
        var s = Sampler(seed: 61)
        let w = root(&s), c = fineTune(w, &s)
        // Huge zero-sized shapes: the byte count is 0 however the other dimensions multiply, in
        // any order (the product of the others overflowing before the 0 included).
        let empty = [T(name: "empty.bias", dtype: "F32", shape: [0], bytes: []),
                     T(name: "empty.huge", dtype: "BF16", shape: [0, 1 << 53, 1 << 53], bytes: []),
                     T(name: "empty.last", dtype: "F64", shape: [1 << 53, 1 << 53, 0], bytes: [])]
        var locations: [ModelLocation] = []
        for (id, weights) in [("r", w), ("c", c)] {
            let tensors = zip(Self.names, weights).map { ($0, [Self.side, Self.side], $1.map { Float($0) }) }
            let path = try dir.write("\(id).safetensors", file(tensors, raw: empty))
            locations.append(ModelLocation(id: id, path: path))
        }
        let models = try locations.map(ModelLoader.load)
        let huge = try #require(models[0].tensor(named: "empty.huge"))
        #expect(try huge.count == 0 && huge.readBytes().isEmpty && huge.shape == [0, 1 << 53, 1 << 53])
        let last = try #require(models[0].tensor(named: "empty.last"))
        #expect(try last.count == 0 && last.readBytes().isEmpty)
        // Lent memory through the same rule (the C ABI's add_tensor uses it too).
        #expect(DType.f32.byteCount(shape: [1 << 62, 4, 0]) == 0 && DType.f32.byteCount(shape: [0, 1 << 62, 4]) == 0)
        #expect(DType.f32.byteCount(shape: [1 << 62, 4]) == nil && DType.bf16.byteCount(shape: [3, 5]) == 30)

        for include in [[], ["*"]] {
            var o = RecoveryOptions(); o.include = include
            let g = try recover(models, options: o)
            #expect(g.tensors == Self.names, "include \(include)")
            #expect(parents(g) == ["c": "r"], "include \(include)")
        }
    }

    /// A name with a line break (or any control character) quoted in an error or a warning comes
    /// out escaped: messages are one line (modeltree.h), while the JSON keeps the exact name.
    @Test func namesWithLineBreaksStayOnOneLine() throws {
        var s = Sampler(seed: 64)
        let w = root(&s), c = fineTune(w, &s)
        let twice = try TensorView(name: "x\ny", dtype: .f32, shape: [0], bytes: UnsafeRawBufferPointer(start: nil, count: 0))
        do {
            _ = try Model(id: "m\u{1b}[2J", path: nil, tensors: [twice, twice], owners: [])
            Issue.record("a duplicate tensor was accepted")
        } catch let error as ModelTreeError {
            #expect(error.message == "model 'm\\u{1b}[2J': tensor 'x\\ny' appears twice")
        }
        let bad = (0..<(Self.side * Self.side)).map { $0 == 3 ? Double.nan : 0.01 * Double($0 % 7) }
        let g = try recover([try model("r", w, extra: [("odd\r\nname", [Self.side, Self.side], bad)]),
                             try model("c", c, extra: [("odd\r\nname", [Self.side, Self.side], bad)])])
        #expect(g.warnings.contains { $0.contains("'odd\r\nname'") })          // the graph holds the name
        let text = g.text()
        #expect(text.contains("'odd\\r\\nname'") && !text.contains("odd\r"))
        #expect(g.json().contains("odd\\r\\nname"))                               // JSON escapes
        #expect(singleLine("a\u{85}b\u{2028}c\td\u{7f}") == "a\\u{85}b\\u{2028}c\\td\\u{7f}")
    }

    /// Models whose only shared tensors are zero-sized have nothing to compare.
    @Test func onlyZeroSizedTensorsIsIncompatible() throws {
        let a = try makeModel("a", [("w", [0, 4], [])]), b = try makeModel("b", [("w", [0, 4], [])])
        expectError(.incompatibleModels, "no floating-point 2-D tensor") { _ = try recover([a, b]) }
        var o = RecoveryOptions(); o.include = ["*"]
        expectError(.incompatibleModels, "matching the include patterns") { _ = try recover([a, b], options: o) }
    }

    // MARK: - Memory a header can cost

    /// A shape has at most 64 dimensions: a header made of one long shape (`[0,0,0,…]`, two bytes
    /// per JSON value) would otherwise cost ~17× its size while parsing and ~4× for as long as the
    /// model lives (measured in FUZZING.md). The parser stops at the 65th element.
    @Test func shapesLongerThan64DimensionsAreRefused() throws {
        let dir = try TemporaryDirectory()
        let ok = SafetensorsWriter.file([T(name: "t", dtype: "F32", shape: [Int](repeating: 1, count: 64), bytes: [0, 0, 0, 0])])
        #expect(try SafetensorsFile(path: dir.write("ok.safetensors", ok)).tensors[0].shape.count == 64)
        let zeros = "[" + [String](repeating: "0", count: 1_000_000).joined(separator: ",") + "]"
        let hostile = SafetensorsWriter.raw(header: "{\"t\":{\"dtype\":\"F32\",\"shape\":\(zeros),\"data_offsets\":[0,0]}}")
        let path = try dir.write("long.safetensors", hostile)
        // The shape's "[" is byte 28 of the header, so the 65th "0" is byte 157 and ends before 158.
        expectError(.format, "long.safetensors", "array longer than 64 elements at byte 158") { _ = try SafetensorsFile(path: path) }
        // The shard index has no such cap (its arrays are not ours to bound), only the JSON parser's option.
        expectError(.format, "array longer than 2 elements at byte 6") { _ = try JSONParser.parse("[1,2,3]", maxArrayLength: 2) }
        #expect(try JSONParser.parse("[[1,2],[3,4]]", maxArrayLength: 2) == .array([.array([.number(1), .number(2)]), .array([.number(3), .number(4)])]))
    }

    /// A shard index over 100 MB is refused before it is parsed (a sparse file: nothing is read).
    @Test func oversizedShardIndexIsRefusedUnread() throws {
        let dir = try TemporaryDirectory()
        try dir.write("m/model-00001-of-00002.safetensors", file([("a", [1], [1])]))
        let index = try dir.write("m/model.safetensors.index.json", text: "{")
        #expect(truncate(index, off_t(ModelLoader.maxIndexLength + 1)) == 0)
        let location = try #require(try ModelLoader.expand([dir.path + "/m"]).first)
        expectError(.format, "model.safetensors.index.json: 100000001 bytes, over the limit of 100000000 bytes") {
            _ = try ModelLoader.load(location)
        }
    }

    // MARK: - No tensor in common

    /// Two models with no tensor of the same name and shape are two architectures: each is its own
    /// tree, at infinite distance, and a warning names both groups.
    @Test func modelsWithNoTensorInCommonAreSeparateTrees() throws {
        var s = Sampler(seed: 62)
        let w = root(&s)
        let a = try model("a", w)
        // Same names, other shapes; then other names.
        let b = try makeModel("b", Self.names.map { ($0, [8, 32], (0..<256).map { _ in s.laplace(0.05) }) })
        let c = try makeModel("c", [("other", [Self.side, Self.side], w[0])])
        let g = try recover([a, b, c])
        #expect(g.parents == [-1, -1, -1])
        #expect(g.trees.map(\.members) == [[0], [1], [2]])
        #expect(g.distances[0, 1] == .infinity && g.distances[1, 2] == .infinity && g.distances[0, 2] == .infinity)
        #expect(g.warnings.first?.contains("3 different architectures") == true)
        #expect(g.warnings.first?.contains("[a] and [b] and [c]") == true)
        // Forcing them into fewer trees than architectures is refused, not crashed on; the message
        // names the option as the library's callers know it (a CLI flag is the CLI's business).
        var o = RecoveryOptions(); o.trees = 2
        expectError(.invalidArgument, "3 different architectures", "trees is 2") { _ = try recover([a, b, c], options: o) }
    }

    /// Models that share only integer tensors (no floating-point weights at all) cannot be compared.
    @Test func onlyIntegerTensorsIsIncompatible() throws {
        let dir = try TemporaryDirectory()
        let ints = SafetensorsWriter.file([T(name: "ids", dtype: "I64", shape: [2, 2], bytes: SafetensorsWriter.bytes([Int64](repeating: 7, count: 4)))])
        let models = try ["a", "b"].map { try ModelLoader.load(ModelLocation(id: $0, path: dir.write("\($0).safetensors", ints))) }
        expectError(.incompatibleModels, "model 'a'", "no floating-point 2-D tensor") { _ = try recover(models) }
    }

    // MARK: - Identical duplicates

    /// Identical models are at distance 0: the recovery warns, names both, marks the edge unsure,
    /// and makes the same choice on every call and whatever the input order (the first model of
    /// the pair in input order is the parent, because ties go to the lower index).
    @Test func identicalDuplicatesAreReportedAndDeterministic() throws {
        var s = Sampler(seed: 63)
        let w = root(&s), c = fineTune(w, &s)
        let family = [try model("orig", w), try model("copy", w), try model("child", c)]
        let first = try recover(family)
        #expect(first.warnings.contains { $0.contains("'orig' and 'copy' have identical weights") })
        #expect(first.distances[0, 1] == 0)
        #expect(parents(first)["copy"] == "orig")
        #expect(first.primaryEdge(into: 1)?.unsure == true)
        // A group, not a relation: the copy's edge is not among the relations.
        #expect(first.duplicates == [[0, 1]] && first.relations.map(\.child) == [2])
        for _ in 0..<3 {
            let again = try recover(family)
            #expect(again.parents == first.parents && again.distances == first.distances && again.warnings == first.warnings)
        }
        // Reversing the input order swaps which copy is the parent: the choice follows input order.
        let reversed = try recover([family[1], family[0], family[2]])
        #expect(reversed.warnings.contains { $0.contains("'copy' and 'orig' have identical weights") })
        #expect(parents(reversed)["orig"] == "copy")
        #expect(reversed.duplicates == [[0, 1]])
    }

    // MARK: - NaN and Inf

    /// A non-finite value in any floating dtype skips that tensor for every model, and the warning
    /// names the tensor and the model; the other tensors still recover the edge.
    @Test func infinitiesInHalfPrecisionSkipTheTensorAndNameIt() throws {
        for (dtype, bad) in [(DType.f16, Double.infinity), (.bf16, -Double.infinity), (.f64, Double.nan), (.f32, -Double.infinity)] {
            var s = Sampler(seed: 64)
            let w = root(&s)
            var c = fineTune(w, &s)
            c[2][17] = bad
            let g = try recover([try model("r", w, dtype: dtype), try model("c", c, dtype: dtype)])
            #expect(g.tensors == ["layer.0.q", "layer.0.v"], "\(dtype)")
            #expect(g.warnings.contains { $0.contains("tensor 'layer.1.q' skipped") && $0.contains("'c'") }, "\(dtype)")
            #expect(parents(g).count == 1, "\(dtype)")
        }
    }

    /// When every selected tensor has a non-finite value, nothing is left to compare: an error that
    /// says why, not a graph built on NaN distances.
    @Test func everyTensorNonFiniteIsAnError() throws {
        var s = Sampler(seed: 65)
        var w = root(&s)
        for k in w.indices { w[k][k] = .nan }
        let c = fineTune(root(&s), &s)
        expectError(.incompatibleModels, "every selected tensor was skipped", "non-finite") {
            _ = try recover([try model("r", w), try model("c", c)])
        }
    }

    // MARK: - Files that change between listing and loading

    /// A file removed after `expand` listed it: loading is an I/O error naming it.
    @Test func fileRemovedAfterExpandIsAnIOError() throws {
        let dir = try TemporaryDirectory()
        let one = file([("w", [2, 2], [1, 2, 3, 4])])
        try dir.write("zoo/a.safetensors", one)
        try dir.write("zoo/b.safetensors", one)
        let locations = try ModelLoader.expand([dir.path + "/zoo"])
        #expect(locations.map(\.id) == ["a", "b"])
        try FileManager.default.removeItem(atPath: locations[1].path)
        _ = try ModelLoader.load(locations[0])
        expectError(.io, "b.safetensors", "No such file") { _ = try ModelLoader.load(locations[1]) }
    }

    /// A file replaced by a folder, or truncated, after `expand`: a specific error each.
    @Test func fileReplacedOrTruncatedAfterExpand() throws {
        let dir = try TemporaryDirectory()
        let one = file([("w", [2, 2], [1, 2, 3, 4])])
        let path = try dir.write("m.safetensors", one)
        let location = try #require(try ModelLoader.expand([path]).first)

        try FileManager.default.removeItem(atPath: path)
        try dir.mkdir("m.safetensors")
        expectError(.format, "m.safetensors: no model.safetensors") { _ = try ModelLoader.load(location) }

        try FileManager.default.removeItem(atPath: path)
        try dir.write("m.safetensors", Array(one.dropLast(3)))
        expectError(.format, "m.safetensors", "past the end of the") { _ = try ModelLoader.load(location) }
        try dir.write("m.safetensors", Array(one.prefix(5)))
        expectError(.format, "m.safetensors", "shorter than the 8-byte header length") { _ = try ModelLoader.load(location) }
        try dir.write("m.safetensors", [])
        expectError(.format, "m.safetensors", "file is 0 bytes") { _ = try ModelLoader.load(location) }
    }

    // MARK: - Files that change while they are read

    /// Three models written as files and loaded: a root and two fine-tunes of it.
    private func loadedFamily(_ dir: TemporaryDirectory) throws -> [Model] {
        var s = Sampler(seed: 61)
        let r = root(&s)
        return try [("r", r), ("a", fineTune(r, &s)), ("b", fineTune(r, &s))].map { id, w in
            let tensors = zip(Self.names, w).map { ($0, [Self.side, Self.side], $1.map { Float($0) }) }
            return try ModelLoader.load(ModelLocation(id: id, path: dir.write("\(id).safetensors", file(tensors))))
        }
    }

    /// Runs `change` on the first progress report of a recovery, while tensors remain to be read.
    private func recoverWhile(_ models: [Model], changing change: @escaping @Sendable () -> Void) throws {
        final class Once: @unchecked Sendable { var done = false }
        let once = Once()
        var options = RecoveryOptions()
        options.progress = { _, _ in
            if !once.done { once.done = true; change() }
            return true
        }
        _ = try ModelTree.recover(models, options: options)
    }

    /// The case mmap-based readers crash on: a file truncated while the recovery reads it. Touching
    /// a mapped page past the new end of file raises SIGBUS, which would end this test process;
    /// read with pread, it is an I/O error that names the file and says what happened.
    @Test func fileTruncatedDuringTheRecoveryIsAnIOError() throws {
        let dir = try TemporaryDirectory()
        let models = try loadedFamily(dir)
        let path = dir.path + "/b.safetensors"
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        try recoverWhile(models, changing: {})              // unchanged, they recover
        expectError(.io, "b.safetensors", "was truncated from \(size) to 100 bytes while it was being read") {
            try recoverWhile(models, changing: { _ = truncate(path, 100) })
        }
        #expect(truncate(path, 0) == 0)
        expectError(.io, "b.safetensors", "was truncated from \(size) to 0 bytes") { _ = try models[2].tensors[0].decode() }
    }

    /// Replaced (a new file renamed over it), removed, grown or rewritten in place after the model
    /// was opened: each is an I/O error saying which, never weights from two different files.
    @Test func fileReplacedRemovedGrownOrRewrittenAfterOpening() throws {
        let dir = try TemporaryDirectory()
        var models = try loadedFamily(dir)
        let path = dir.path + "/a.safetensors"
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))

        // Replaced by a file with the very same bytes: still another file.
        try dir.write("copy.safetensors", original)
        #expect(rename(dir.path + "/copy.safetensors", path) == 0)
        expectError(.io, "a.safetensors", "was replaced by another file while it was being read") {
            try recoverWhile(models, changing: {})
        }

        models = try loadedFamily(dir)
        #expect(unlink(path) == 0)
        expectError(.io, "a.safetensors", "No such file", "it was there when the model was opened") {
            _ = try models[1].tensors[0].decode()
        }

        models = try loadedFamily(dir)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data([1, 2, 3]))
        try handle.close()
        expectError(.io, "a.safetensors", "grew from \(original.count) to \(original.count + 3) bytes") {
            _ = try models[1].tensors[0].decode()
        }

        // Rewritten in place, same size: seen through the modification time, which a later write
        // moves (set here explicitly: two writes within one timestamp tick look the same).
        models = try loadedFamily(dir)
        var changed = original
        changed[changed.count - 1] ^= 0x40
        let fd = open(path, O_WRONLY)
        #expect(fd >= 0 && pwrite(fd, changed, changed.count, 0) == changed.count)
        var times = [timespec(tv_sec: time(nil), tv_nsec: 0), timespec(tv_sec: time(nil) + 5, tv_nsec: 0)]
        #expect(futimens(fd, &times) == 0 && close(fd) == 0)
        expectError(.io, "a.safetensors", "was rewritten (its modification time changed) while it was being read") {
            try recoverWhile(models, changing: {})
        }
    }

    /// A shard deleted after `expand` found its index: an I/O error naming the shard.
    @Test func shardRemovedAfterExpandIsAnIOError() throws {
        let dir = try TemporaryDirectory()
        try dir.write("m/model-00001-of-00002.safetensors", file([("a", [1], [1])]))
        try dir.write("m/model-00002-of-00002.safetensors", file([("b", [1], [2])]))
        try dir.write("m/model.safetensors.index.json", text: """
            {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
            """)
        let location = try #require(try ModelLoader.expand([dir.path + "/m"]).first)
        try FileManager.default.removeItem(atPath: dir.path + "/m/model-00002-of-00002.safetensors")
        expectError(.io, "model-00002-of-00002.safetensors", "No such file") { _ = try ModelLoader.load(location) }
    }

    /// A shard (or a file named directly) that is a FIFO must not block the reader: opening a FIFO
    /// for reading waits for a writer, which a hostile upload never provides.
    @Test func fifoIsRefusedWithoutBlocking() throws {
        let dir = try TemporaryDirectory()
        try dir.write("m/model-00001-of-00002.safetensors", file([("a", [1], [1])]))
        try dir.write("m/model.safetensors.index.json", text: """
            {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
            """)
        #expect(mkfifo(dir.path + "/m/model-00002-of-00002.safetensors", 0o644) == 0)
        let location = try #require(try ModelLoader.expand([dir.path + "/m"]).first)
        expectError(.io, "model-00002-of-00002.safetensors", "not a regular file") { _ = try ModelLoader.load(location) }
        // Named directly, after `expand` saw a regular file there.
        let path = try dir.write("x.safetensors", file([("a", [1], [1])]))
        let direct = try #require(try ModelLoader.expand([path]).first)
        try FileManager.default.removeItem(atPath: path)
        #expect(mkfifo(path, 0o644) == 0)
        expectError(.io, "x.safetensors", "not a regular file") { _ = try ModelLoader.load(direct) }
    }
}
