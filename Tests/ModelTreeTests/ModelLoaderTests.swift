import Foundation
import Testing
@testable import ModelTree

@Suite struct ModelLoaderTests {
    typealias T = SafetensorsWriter.Tensor

    /// A one-tensor file whose single F32 value identifies it.
    private func weights(_ value: Float, name: String = "w") -> [UInt8] {
        SafetensorsWriter.file([T(name: name, dtype: "F32", shape: [1], bytes: SafetensorsWriter.bytes([value.bitPattern]))])
    }

    private func value(_ model: Model, _ tensor: String) -> Float? {
        guard let t = model.tensor(named: tensor), t.dtype == .f32, t.count == 1 else { return nil }
        return try? t.decode().first
    }

    /// Writes a sharded model: `shards` maps shard file → tensors in it; `index` is the weight_map.
    private func writeSharded(_ dir: TemporaryDirectory, _ folder: String, shards: [String: [(String, Float)]],
                              index: [String: String], indexName: String = "model.safetensors.index.json") throws {
        for (shard, tensors) in shards {
            let file = SafetensorsWriter.file(tensors.map { T(name: $0.0, dtype: "F32", shape: [1], bytes: SafetensorsWriter.bytes([$0.1.bitPattern])) })
            try dir.write("\(folder)/\(shard)", file)
        }
        let map = index.sorted { $0.key < $1.key }.map { "\(SafetensorsWriter.quote($0.key)): \(SafetensorsWriter.quote($0.value))" }
        try dir.write("\(folder)/\(indexName)", text: "{\"metadata\": {\"total_size\": 12}, \"weight_map\": {\(map.joined(separator: ", "))}}")
    }

    private let twoShards: [String: [(String, Float)]] = [
        "model-00001-of-00002.safetensors": [("a.weight", 1), ("b.weight", 2)],
        "model-00002-of-00002.safetensors": [("c.weight", 3)],
    ]
    private let twoShardIndex = [
        "a.weight": "model-00001-of-00002.safetensors",
        "b.weight": "model-00001-of-00002.safetensors",
        "c.weight": "model-00002-of-00002.safetensors",
    ]

    // MARK: - One model per path

    @Test func singleFile() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("bert-base.v2.safetensors", weights(1.5))
        let locations = try ModelLoader.expand([path])
        #expect(locations == [ModelLocation(id: "bert-base.v2", path: path)])
        let model = try ModelLoader.load(locations[0])
        #expect(model.id == "bert-base.v2" && model.path == path)
        #expect(value(model, "w") == 1.5)
    }

    @Test func folderWithModelSafetensors() throws {
        let dir = try TemporaryDirectory()
        try dir.write("ft/model.safetensors", weights(2))
        try dir.write("ft/config.json", text: "{}")
        let folder = dir.path + "/ft"
        for given in [folder, folder + "/", folder + "//"] {
            let locations = try ModelLoader.expand([given])
            #expect(locations == [ModelLocation(id: "ft", path: given)])
            #expect(try value(ModelLoader.load(locations[0]), "w") == 2)
        }
    }

    @Test func folderWithOneOtherWeightFile() throws {
        let dir = try TemporaryDirectory()
        try dir.write("m/adapter.safetensors", weights(3))
        let locations = try ModelLoader.expand([dir.path + "/m"])
        #expect(locations.map(\.id) == ["m"])
        #expect(try value(ModelLoader.load(locations[0]), "w") == 3)
    }

    @Test func modelSafetensorsTakesPrecedence() throws {
        // As in transformers' from_pretrained: model.safetensors before an index or other files.
        let dir = try TemporaryDirectory()
        try dir.write("m/model.safetensors", weights(4))
        try dir.write("m/other.safetensors", weights(5))
        try writeSharded(dir, "m", shards: twoShards, index: twoShardIndex)
        let model = try ModelLoader.load(ModelLoader.expand([dir.path + "/m"])[0])
        #expect(model.tensors.map(\.name) == ["w"] && value(model, "w") == 4)
    }

    @Test func severalLooseFilesAreACollectionButOrphanShardsAreAnError() throws {
        let dir = try TemporaryDirectory()
        try dir.write("m/a.safetensors", weights(1))
        try dir.write("m/b.safetensors", weights(2))
        #expect(try ModelLoader.expand([dir.path + "/m"])
                == [ModelLocation(id: "a", path: dir.path + "/m/a.safetensors"), ModelLocation(id: "b", path: dir.path + "/m/b.safetensors")])
        expectError(.format, "no model.safetensors") { _ = try ModelLoader.load(ModelLocation(id: "m", path: dir.path + "/m")) }
        try dir.write("o/model-00001-of-00002.safetensors", weights(1))
        try dir.write("o/model-00002-of-00002.safetensors", weights(2))
        expectError(.format, dir.path + "/o", "model-00001-of-00002.safetensors", "no *.safetensors.index.json") {
            _ = try ModelLoader.expand([dir.path + "/o"])
        }
        try writeSharded(dir, "s", shards: twoShards, index: twoShardIndex, indexName: "x.safetensors.index.json")
        try writeSharded(dir, "s", shards: twoShards, index: twoShardIndex, indexName: "y.safetensors.index.json")
        expectError(.format, "several shard indexes", "x.safetensors.index.json, y.safetensors.index.json") {
            _ = try ModelLoader.expand([dir.path + "/s"])
        }
    }

    // MARK: - Shards

    @Test func shardedModel() throws {
        let dir = try TemporaryDirectory()
        try writeSharded(dir, "big", shards: twoShards, index: twoShardIndex)
        try dir.write("big/unrelated.safetensors", weights(9, name: "zzz"))   // not named by the index: ignored
        let locations = try ModelLoader.expand([dir.path + "/big"])
        #expect(locations == [ModelLocation(id: "big", path: dir.path + "/big")])
        let model = try ModelLoader.load(locations[0])
        #expect(model.id == "big" && model.path == dir.path + "/big")
        #expect(model.tensors.map(\.name) == ["a.weight", "b.weight", "c.weight"])
        #expect(value(model, "a.weight") == 1 && value(model, "b.weight") == 2 && value(model, "c.weight") == 3)
    }

    @Test func shardNamesMustStayInTheFolder() throws {
        let dir = try TemporaryDirectory()
        try dir.write("outside.safetensors", weights(1, name: "a.weight"))
        for hostile in ["../outside.safetensors", "/etc/passwd", "sub/x.safetensors", "..", ".", ""] {
            try writeSharded(dir, "m", shards: [:], index: ["a.weight": hostile])
            expectError(.format, "shard name", "not a plain file name", "'a.weight'") {
                _ = try ModelLoader.load(ModelLocation(id: "m", path: dir.path + "/m"))
            }
        }
        // A NUL would cut the C path short ("outside.safetensors\0x" opens "outside.safetensors").
        try dir.write("m/model.safetensors.index.json", text: #"{"weight_map": {"a.weight": "x.safetensors\u0000y"}}"#)
        expectError(.format, "not a plain file name") { _ = try ModelLoader.load(ModelLocation(id: "m", path: dir.path + "/m")) }
    }

    @Test func inconsistentIndexes() throws {
        let dir = try TemporaryDirectory()
        let location = ModelLocation(id: "m", path: dir.path + "/m")
        func load() throws { _ = try ModelLoader.load(location) }

        // A shard the index names is missing.
        var index = twoShardIndex
        index["d.weight"] = "model-00003-of-00003.safetensors"
        try writeSharded(dir, "m", shards: twoShards, index: index)
        expectError(.io, "model-00003-of-00003.safetensors", "No such file") { try load() }

        // A mapped tensor is absent from its shard.
        index = twoShardIndex
        index["d.weight"] = "model-00002-of-00002.safetensors"
        try writeSharded(dir, "m", shards: twoShards, index: index)
        expectError(.format, "tensor 'd.weight' is mapped to shard model-00002-of-00002.safetensors but that shard does not contain it") { try load() }

        // A shard holds a tensor the index does not mention.
        index = twoShardIndex
        index["b.weight"] = nil
        try writeSharded(dir, "m", shards: twoShards, index: index)
        expectError(.format, "tensor 'b.weight' is in shard model-00001-of-00002.safetensors but not in the weight_map") { try load() }

        // A shard holds a tensor the index puts in another shard.
        var shards = twoShards
        shards["model-00002-of-00002.safetensors"]! += [("a.weight", 7)]
        try writeSharded(dir, "m", shards: shards, index: twoShardIndex)
        expectError(.format, "tensor 'a.weight' is in shard model-00002-of-00002.safetensors but the weight_map puts it in model-00001-of-00002.safetensors") { try load() }

        // A shard that is itself malformed: the shard's path leads the message.
        try writeSharded(dir, "m", shards: twoShards, index: twoShardIndex)
        try dir.write("m/model-00002-of-00002.safetensors", [1, 2, 3])
        expectError(.format, "model-00002-of-00002.safetensors: file is 3 bytes") { try load() }
    }

    @Test func malformedIndexes() throws {
        let dir = try TemporaryDirectory()
        let location = ModelLocation(id: "m", path: dir.path + "/m")
        let index = "m/model.safetensors.index.json"
        try dir.write(index, text: "{\"weight_map\": {")
        expectError(.format, "model.safetensors.index.json: JSON: unexpected end") { _ = try ModelLoader.load(location) }
        try dir.write(index, text: "{\"metadata\": {}}")
        expectError(.format, "no 'weight_map' object") { _ = try ModelLoader.load(location) }
        try dir.write(index, text: "{\"weight_map\": {}}")
        expectError(.format, "'weight_map' is empty") { _ = try ModelLoader.load(location) }
        try dir.write(index, text: "{\"weight_map\": {\"a\": 1}}")
        expectError(.format, "weight_map entry for 'a' is not a string") { _ = try ModelLoader.load(location) }
        try dir.write(index, text: "{\"weight_map\": {\"a\": \"x.safetensors\", \"a\": \"y.safetensors\"}}")
        expectError(.format, "duplicate key 'a'") { _ = try ModelLoader.load(location) }
    }

    // MARK: - Collections

    @Test func collectionFolderExpandsToItsModels() throws {
        let dir = try TemporaryDirectory()
        try dir.write("zoo/b-base/model.safetensors", weights(1))
        try writeSharded(dir, "zoo/a-sharded", shards: twoShards, index: twoShardIndex)
        try dir.write("zoo/c-single/adapter_model.safetensors", weights(3))
        try dir.mkdir("zoo/e-empty")                              // not a model: skipped
        try dir.write("zoo/notes.txt", text: "hello")             // not a model: skipped
        try dir.write("zoo/.hidden/model.safetensors", weights(4)) // hidden: skipped
        try dir.write("zoo/f-nested/inner/model.safetensors", weights(5)) // only one level: skipped
        let zoo = dir.path + "/zoo"
        let locations = try ModelLoader.expand([zoo + "/"])
        #expect(locations == [
            ModelLocation(id: "a-sharded", path: zoo + "/a-sharded"),
            ModelLocation(id: "b-base", path: zoo + "/b-base"),
            ModelLocation(id: "c-single", path: zoo + "/c-single"),
        ])
        let models = try locations.map(ModelLoader.load)
        #expect(models.map { $0.tensors.count } == [3, 1, 1])
        #expect(models.map(\.id) == ["a-sharded", "b-base", "c-single"])
    }

    /// A folder of models never loses a model without a word: what looks like weights but is
    /// not read gets a note naming it and why; README files, tokenizers and empty folders do not.
    @Test func entriesLeftUnreadAreNoted() throws {
        let dir = try TemporaryDirectory()
        try dir.write("zoo/a/model.safetensors", weights(1))
        try dir.write("zoo/b.h5", [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A, 0])   // HDF5 magic
        try dir.write("zoo/c-renamed", Array("GGUF".utf8) + [3, 0, 0, 0, 0, 0, 0, 0])    // a GGUF without .gguf
        try dir.write("zoo/d-noext", weights(2))                                          // safetensors without extension
        try dir.write("zoo/d-torch", [0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0, 0])             // torch.save's zip without .pt
        try dir.write("zoo/d-zpickle", [0x80, 0x02, 0x7D, 0x71, 0, 0, 0, 0, 0])           // torch's legacy pickle: never read
        try dir.write("zoo/e-tf/config.json", text: "{}")
        try dir.write("zoo/e-tf/tf_model.h5", [0])
        try dir.write("zoo/f-nested/inner/model.safetensors", weights(3))
        try dir.write("zoo/g-deeper/org/name/model.safetensors", weights(4))               // a hub's org/name layout, inside
        try dir.write("zoo/README.md", text: "# models\n")
        try dir.write("zoo/tokenizer.json", text: "{\"version\": \"1.0\"}")
        try dir.mkdir("zoo/logs")
        let zoo = dir.path + "/zoo"
        let (locations, notes) = try ModelLoader.survey([zoo])
        #expect(locations == [ModelLocation(id: "a", path: zoo + "/a")])
        // One note per unread model, in listing order, each naming its path and the reason.
        #expect(notes.count == 8)
        let expected = [("b.h5", "HDF5"), ("c-renamed", ".gguf"), ("d-noext", ".safetensors"), ("d-torch", "lacks .pt"),
                        ("d-zpickle", "legacy torch.save pickle"), ("e-tf", "tf_model.h5"),
                        ("f-nested", "one level deeper"), ("g-deeper", "2 levels deeper")]
        for (note, (name, why)) in zip(notes, expected) {
            #expect(note.hasPrefix(zoo + "/" + name + ":"), "\(note)")
            #expect(note.contains(why), "\(note)")
        }
        // `expand` is the same reading without the notes.
        #expect(try ModelLoader.expand([zoo]) == locations)
        // A folder with nothing readable says what it found instead of only "no models found".
        try dir.write("only-h5/x.h5", [0])
        #expect(throws: ModelTreeError.invalidArgument("\(dir.path)/only-h5: no models found (\(dir.path)/only-h5/x.h5: "
            + "Keras/TensorFlow HDF5 weights are not read (libmodeltree reads .safetensors, .gguf, .bin, .pt, .pth, .onnx and PEFT folders); "
            + "this model is left out)")) { try ModelLoader.survey([dir.path + "/only-h5"]) }
    }

    @Test func oneLooseWeightFileMakesTheFolderAModel() throws {
        // The documented rule ("exactly one *.safetensors file"), when nothing else is there.
        let dir = try TemporaryDirectory()
        try dir.write("zoo/base.safetensors", weights(1))
        try dir.mkdir("zoo/logs")                                   // a folder without weights is no model
        #expect(try ModelLoader.expand([dir.path + "/zoo"]) == [ModelLocation(id: "zoo", path: dir.path + "/zoo")])
    }

    /// A folder with weights of its own and models in sub-folders is one model to some readers
    /// and three to others: refused, naming the weights and the sub-folders and saying what to
    /// pass — and passing that works. Also for a model folder inside a folder of models, and for
    /// `model.safetensors` or shards beside `checkpoint-*` folders (a Trainer's output).
    @Test func weightsBesideModelSubfoldersAreRefusedNotDropped() throws {
        let dir = try TemporaryDirectory()
        try dir.write("zoo/base.safetensors", weights(1))
        try dir.write("zoo/ft1/model.safetensors", weights(2))
        try dir.write("zoo/ft2/model.safetensors", weights(3))
        let zoo = dir.path + "/zoo"
        expectError(.invalidArgument, zoo + "/base.safetensors", zoo + "/ft1", zoo + "/ft2", "pass the models one by one") {
            _ = try ModelLoader.expand([zoo])
        }
        // What the message says to pass.
        #expect(try ModelLoader.expand([zoo + "/base.safetensors", zoo + "/ft1", zoo + "/ft2"]).map(\.id) == ["base", "ft1", "ft2"])
        // One level down: a model folder of a folder of uploads.
        try dir.write("uploads/run/model.safetensors", weights(4))
        try dir.write("uploads/run/checkpoint-500/model.safetensors", weights(5))
        try dir.write("uploads/other/model.safetensors", weights(6))
        expectError(.invalidArgument, "uploads/run holds the weights", "checkpoint-500") { _ = try ModelLoader.expand([dir.path + "/uploads"]) }
        // Shards beside a sub-folder of shards.
        try writeSharded(dir, "big", shards: twoShards, index: twoShardIndex)
        try writeSharded(dir, "big/older", shards: twoShards, index: twoShardIndex)
        expectError(.invalidArgument, "big/model.safetensors.index.json", "big/older") { _ = try ModelLoader.expand([dir.path + "/big"]) }
        // Given with an id, the folder is the one model asked for.
        let one = try ModelLoader.single(zoo, id: "mine")
        #expect(one == ModelLocation(id: "mine", path: zoo))
        #expect(value(try ModelLoader.load(one), "w") == 1)
    }

    /// A shard index given by itself is its folder's model (what the refusal above tells a user
    /// with shards to pass).
    @Test func shardIndexFileIsItsFoldersModel() throws {
        let dir = try TemporaryDirectory()
        try writeSharded(dir, "big", shards: twoShards, index: twoShardIndex)
        let index = dir.path + "/big/model.safetensors.index.json"
        let locations = try ModelLoader.expand([index])
        #expect(locations == [ModelLocation(id: "big", path: index)])
        let model = try ModelLoader.load(locations[0])
        #expect(model.path == index && model.tensors.map(\.name) == ["a.weight", "b.weight", "c.weight"])
        #expect(value(model, "c.weight") == 3)
    }

    /// With an id, a path must be one model: a folder of models is refused with its count.
    @Test func singleModelWithAnId() throws {
        let dir = try TemporaryDirectory()
        try dir.write("zoo/a/model.safetensors", weights(1))
        try dir.write("zoo/b.safetensors", weights(2))
        try dir.write("zoo/c.safetensors", weights(3))
        #expect(try ModelLoader.single(dir.path + "/zoo/a/", id: "x") == ModelLocation(id: "x", path: dir.path + "/zoo/a/"))
        #expect(try ModelLoader.single(dir.path + "/zoo/b.safetensors", id: "y").id == "y")
        expectError(.invalidArgument, "is not a single model", "it holds 3 models", "give no id") {
            _ = try ModelLoader.single(dir.path + "/zoo", id: "z")
        }
        let text = try dir.write("notes.txt", text: "x")
        expectError(.invalidArgument, "notes.txt: not a model file (.safetensors, .gguf, .bin, .pt, .pth, .onnx) or a folder") { _ = try ModelLoader.single(text, id: "z") }
        expectError(.io, "No such file") { _ = try ModelLoader.single(dir.path + "/nope", id: "z") }
    }

    @Test func pathsExpandInTheOrderGiven() throws {
        let dir = try TemporaryDirectory()
        let z = try dir.write("z.safetensors", weights(1))
        try dir.write("zoo/a/model.safetensors", weights(2))
        let locations = try ModelLoader.expand([z, dir.path + "/zoo"])
        #expect(locations.map(\.id) == ["z", "a"])
    }

    @Test func expansionErrors() throws {
        let dir = try TemporaryDirectory()
        try dir.mkdir("empty")
        try dir.write("junk/readme.md", text: "x")
        expectError(.invalidArgument, dir.path + "/empty: no models found") { _ = try ModelLoader.expand([dir.path + "/empty"]) }
        expectError(.invalidArgument, "junk: no models found") { _ = try ModelLoader.expand([dir.path + "/junk"]) }
        expectError(.io, dir.path + "/nope", "No such file") { _ = try ModelLoader.expand([dir.path + "/nope"]) }
        let text = try dir.write("x.dat", [1])
        expectError(.invalidArgument, "x.dat: not a model file (.safetensors, .gguf, .bin, .pt, .pth, .onnx) or a folder") { _ = try ModelLoader.expand([text]) }
        // A .bin is a model file, and one that is no torch.save archive is a format error naming it.
        let bin = try dir.write("x.bin", [1])
        let binModel = try ModelLoader.expand([bin])
        #expect(binModel.map(\.id) == ["x.bin"])
        expectError(.format, "x.bin") { _ = try ModelLoader.load(binModel[0]) }
        // A child folder of orphan shards is an error, not a silent skip.
        try dir.write("zoo/good/model.safetensors", weights(1))
        try dir.write("zoo/bad/model-00001-of-00002.safetensors", weights(1))
        try dir.write("zoo/bad/model-00002-of-00002.safetensors", weights(1))
        expectError(.format, "zoo/bad", "shard") { _ = try ModelLoader.expand([dir.path + "/zoo"]) }
    }

    @Test func duplicateIdsNameBothPaths() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("one/x.safetensors", weights(1))
        try dir.write("two/x/model.safetensors", weights(2))
        try dir.write("two/y/model.safetensors", weights(3))
        expectError(.invalidArgument, "'x'", file, dir.path + "/two/x") {
            _ = try ModelLoader.expand([file, dir.path + "/two"])
        }
        expectError(.invalidArgument, "'x'") { _ = try ModelLoader.expand([file, file]) }
    }

    @Test func loadErrors() throws {
        let dir = try TemporaryDirectory()
        try dir.mkdir("empty")
        expectError(.format, "empty: no model.safetensors") { _ = try ModelLoader.load(ModelLocation(id: "e", path: dir.path + "/empty")) }
        expectError(.io, "No such file") { _ = try ModelLoader.load(ModelLocation(id: "n", path: dir.path + "/nope.safetensors")) }
    }

    @Test func lastComponent() {
        #expect(FileSystem.lastComponent("a/b") == "b")
        #expect(FileSystem.lastComponent("a/b///") == "b")
        #expect(FileSystem.lastComponent("b") == "b")
        #expect(FileSystem.lastComponent("/b/") == "b")
        #expect(FileSystem.lastComponent("/") == "/")
        #expect(FileSystem.join("a/", "b") == "a/b" && FileSystem.join("a", "b") == "a/b")
        #expect(FileSystem.parent("a/b/c") == "a/b" && FileSystem.parent("a/b/") == "a")
        #expect(FileSystem.parent("c") == "." && FileSystem.parent("/c") == "/" && FileSystem.parent("/") == "/")
    }
}

extension ModelLoaderTests {
    @Test func danglingLinks() throws {
        let dir = try TemporaryDirectory()
        try dir.write("zoo/a/model.safetensors", weights(1))
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/zoo/notes.txt", withDestinationPath: dir.path + "/gone")
        #expect(try ModelLoader.expand([dir.path + "/zoo"]).map(\.id) == ["a"])
        // A weight file that is a dangling link (an interrupted download) fails loudly on load.
        try dir.mkdir("m")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/m/model.safetensors", withDestinationPath: dir.path + "/gone")
        let locations = try ModelLoader.expand([dir.path + "/m"])
        #expect(locations.map(\.id) == ["m"])
        expectError(.io, "model.safetensors", "No such file") { _ = try ModelLoader.load(locations[0]) }
    }
}
