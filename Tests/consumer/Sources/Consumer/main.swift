// Recovers a family of three models lent from memory and prints each model's parent: what a
// Swift program that depends on the package does.
import ModelTree

/// SplitMix64: the same numbers on every run.
struct Numbers {
    var state: UInt64
    mutating func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) * 0x1p-53 - 0.5
    }
}

let side = 32, count = side * side
var numbers = Numbers(state: 1)
let base = (0..<count).map { _ in Float(numbers.next() * numbers.next() * 0.4) }   // heavy-tailed
let child = base.map { $0 + Float(numbers.next() * 0.01) }
let grandchild = child.map { $0 + Float(numbers.next() * 0.01) }

var models: [Model] = []
for (id, weights) in [("base", base), ("child", child), ("grandchild", grandchild)] {
    // Lent memory must outlive the models: this program never frees it.
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: count * 4, alignment: 16)
    weights.withUnsafeBytes { bytes.copyMemory(from: $0) }
    let tensors = try ["layer.0.weight", "layer.1.weight"].map {
        try TensorView(name: $0, dtype: .f32, shape: [side, side], bytes: UnsafeRawBufferPointer(bytes))
    }
    models.append(try Model(id: id, path: nil, tensors: tensors, owners: []))
}
var options = RecoveryOptions()
options.threads = 1
let graph = try recover(models, options: options)
for (i, model) in graph.models.enumerated() {
    print("\(model.id) <- \(graph.primaryParent(of: i).map { graph.models[$0].id } ?? "-")")
}
