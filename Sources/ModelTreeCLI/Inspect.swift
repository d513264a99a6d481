import ArgumentParser
import Foundation
import ModelTree

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what was read from one model: format, metadata, claims, and every tensor's shape and stored type.",
        discussion: """
        MODEL is anything recover accepts as one model: a .safetensors, .gguf, .bin/.pt or .onnx \
        file, a shard index, a Hugging Face folder or a PEFT adapter folder. Tensors appear under \
        the names recover compares (GGUF names mapped to Hugging Face's), with what was undone to \
        get there (q/k rows un-permuted, a transpose, a LoRA product).
        """)

    @Argument(help: "The model file or folder.")
    var model: String

    @Flag(help: "Print a JSON document instead of text.")
    var json = false

    func run() throws {
        do {
            let locations = try ModelLoader.expand([model])
            guard locations.count == 1 else {
                throw ModelTreeError.invalidArgument("\(model) holds \(locations.count) models (\(locations.prefix(3).map(\.id).joined(separator: ", "))\(locations.count > 3 ? ", …" : "")); inspect one of them")
            }
            print(try ModelLoader.load(locations[0]).inspection(json: json), terminator: "")
        } catch let error as ModelTreeError {
            FileHandle.standardError.write("modeltree-cli: error: \(error.message)\n".data(using: .utf8)!)
            throw ExitCode(2)
        }
    }
}
