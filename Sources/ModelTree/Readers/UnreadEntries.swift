import Glibc

/// Entries of a folder of models that look like models but are not read, each with a note that
/// says why (`ModelLoader.survey`). A hub's folder holds README files, tokenizers and logs beside
/// its models; only what looks like weights is worth a word, so an entry is noted when its name
/// ends in a weights extension libmodeltree does not read, when its first bytes are those of a
/// format it does read under another name (a renamed GGUF), or, for a sub-folder, when it holds
/// such files or a `config.json` but no weights the loader reads, or models deeper down.
enum UnreadEntries {
    /// Weights formats of other frameworks, by file-name ending, and what to call them.
    static let otherFormats: [(suffix: String, format: String)] = [
        (".h5", "Keras/TensorFlow HDF5"), (".hdf5", "HDF5"), (".keras", "Keras"),
        (".ckpt", "TensorFlow/Lightning checkpoint"), (".tflite", "TensorFlow Lite"), (".pb", "TensorFlow graph"),
        (".msgpack", "Flax msgpack"), (".npz", "NumPy archive"), (".npy", "NumPy array"),
        (".pkl", "pickle"), (".pickle", "pickle"), (".joblib", "joblib"), (".pth.tar", "torch tar checkpoint"),
        (".mlmodel", "Core ML"), (".engine", "TensorRT engine"), (".plan", "TensorRT plan"),
        (".ggml", "GGML (pre-GGUF)"), (".llamafile", "llamafile"), (".nemo", "NeMo archive"),
        (".pdparams", "PaddlePaddle"), (".caffemodel", "Caffe"), (".params", "MXNet"),
    ]

    /// The note for a file of a folder of models that the loader does not read, nil when it does
    /// not look like weights.
    static func fileNote(_ path: String) -> String? {
        let name = FileSystem.lastComponent(path)
        if let other = otherFormats.first(where: { name.hasSuffix($0.suffix) }) {
            return "\(path): \(other.format) weights are not read (libmodeltree reads \(ModelLoader.fileExtensions.joined(separator: ", ")) and PEFT folders); this model is left out"
        }
        guard let format = sniff(path) else { return nil }
        guard let suffix = format.suffix else {
            return "\(path): looks like a \(format.name) file, which is not read; this model is left out"
        }
        return "\(path): looks like a \(format.name) file but its name lacks \(suffix); it is left out (give it that extension to read it)"
    }

    /// The note for a sub-folder of a folder of models that holds no weights the loader reads,
    /// nil when nothing in it looks like a model.
    static func folderNote(_ folder: String) -> String? {
        guard let names = try? FileSystem.list(folder) else { return nil }
        var unread: [String] = []
        var nested: Int?
        for name in names {
            let child = FileSystem.join(folder, name)
            switch try? FileSystem.kind(of: child) {
            case .file?:
                if name == "config.json" || fileNote(child) != nil { unread.append(name) }
            case .directory?:
                if let depth = modelDepth(child, levels: nestingLevels) { nested = Swift.min(nested ?? depth, depth) }
            default:
                continue
            }
        }
        if let nested {
            if nested == 0 {
                return "\(folder): holds models one level deeper, which are not read from here; pass \(folder) itself to read them"
            }
            return "\(folder): holds models \(nested + 1) levels deeper, which are not read from here; pass the folder that holds them to read them"
        }
        guard !unread.isEmpty else { return nil }
        let shown = unread.prefix(4).joined(separator: ", ") + (unread.count > 4 ? ", …" : "")
        return "\(folder): holds no weights libmodeltree reads (\(shown)); this model is left out"
    }

    /// How many folder levels below a sub-folder are searched for models it holds deeper down:
    /// enough for a hub's `org/name/` layout and a checkpoint's `checkpoint-500/` beside it,
    /// bounded so that a folder of data is not walked whole.
    static let nestingLevels = 3

    /// How far below `folder` its nearest model's weights are (0: `folder` is a model), searching
    /// down to `levels` more levels (`FileSystem.list` skips hidden entries, as the loader does);
    /// nil when none is found.
    static func modelDepth(_ folder: String, levels: Int) -> Int? {
        if (try? ModelLoader.weights(in: folder)) != nil { return 0 }
        guard levels > 0, let names = try? FileSystem.list(folder) else { return nil }
        return names.compactMap { name -> Int? in
            let child = FileSystem.join(folder, name)
            guard (try? FileSystem.kind(of: child)) == .directory else { return nil }
            return modelDepth(child, levels: levels - 1).map { $0 + 1 }
        }.min()
    }

    /// A format the loader reads, told by a file's first bytes (`FileMagic`), or a safetensors
    /// header: a length `SafetensorsFile.headerLength` accepts for the file's size, then `{`.
    /// `suffix` is the extension that would make the loader read it, nil for a format it never reads.
    static func sniff(_ path: String) -> (name: String, suffix: String?)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 9)
        let got = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 9, 0) }
        guard got == 9 else { return nil }
        switch FileMagic(head) {
        case .gguf?: return ("GGUF", ".gguf")
        case .zip?: return ("zip (torch.save)", ".pt")
        case .pickle?: return ("legacy torch.save pickle (before torch 1.6)", nil)
        case nil: break
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        let length = head[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard head[8] == UInt8(ascii: "{"), length >= 2,
              (try? SafetensorsFile.headerLength(length, fileSize: Int(info.st_size))) != nil else { return nil }
        return ("safetensors", ".safetensors")
    }
}
