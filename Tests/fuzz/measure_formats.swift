// The driver behind FUZZING.md's "Limits of the format readers": opens one file with one of the
// format readers, as the library would, and prints what it found (or the error). Built with the
// reader's sources, optimised, without sanitizers (FUZZING.md gives the command); measured with
// /usr/bin/time. The CLI's `inspect` replaces it once the readers are wired into the library.

@main
struct MeasureFormats {
    static func main() {
        let args = CommandLine.arguments
        guard args.count == 3 else {
            print("usage: measure-formats gguf|torch|onnx|peft PATH")
            return
        }
        do {
            switch args[1] {
            case "gguf":
                let (_, g) = try GGUFFile.open(path: args[2])
                let kept = g.metadata.filter { if case .array(let a) = $0.value { return a.elements != nil }; return false }.count
                print("gguf: \(g.metadata.count) keys (\(kept) arrays kept), \(g.tensors.count) tensors")
            case "torch":
                let (_, c) = try TorchCheckpoint.open(path: args[2])
                print("torch: \(c.tensors.count) tensors, \(c.storages.count) storages")
            case "onnx":
                let (_, m) = try ONNXModel.open(path: args[2])
                print("onnx: \(m.initializers.count) initializers, \(m.dequantizations.count) dequantizations")
            case "peft":
                let a = try LoRAAdapter.open(folder: args[2])
                print("peft: \(a.pairs.count) pairs")
            default:
                print("unknown format \(args[1])")
            }
        } catch {
            print("error: \(error)")
        }
    }
}
