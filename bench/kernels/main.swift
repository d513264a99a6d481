// bench-kernels — the C kernels of Sources/ModelTreeKernels against the Swift kernels they
// replace (SwiftKernels.swift), on this CPU, in one run: every set the CPU supports, the pair
// kernel at the driver's block sizes for n = 8, 32, 64, 96, 128, the moments, the decoding of stored
// elements, the sketch products.
// Speeds are the best of several rounds of this thread's CPU time; speed-ups are the median of
// the ratios to the Swift kernel timed just before in the same round (the machine may be shared).
//
//   bench-kernels                      the tables (markdown)
//   bench-kernels --only NAME --n N --reps R
//                                      one variant R times (for valgrind --tool=callgrind)
import Glibc
import ModelTreeKernels

/// This thread's CPU time: on a shared machine the time the thread was descheduled does not
/// count (caches and the memory bus are still shared, so ratios remain the figures to read).
func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// The driver's block size for n models (PairwiseStatistics.blockSize).
func blockSize(models n: Int) -> Int {
    var b = 8_192
    while b > 256 && b * max(n, 1) * 4 > 524_288 { b /= 2 }
    return b
}

struct Rng {
    var state: UInt64
    mutating func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) * 0x1p-53 - 0.5
    }
}

let sets: [UnsafePointer<mtk_kernels>] = [MTK_ISA_SSE2, MTK_ISA_AVX2, MTK_ISA_AVX512, MTK_ISA_NEON, MTK_ISA_PORTABLE]
    .compactMap { mtk_kernels_for($0) }
func name(_ k: UnsafePointer<mtk_kernels>) -> String { String(cString: k.pointee.name) }

/// One benchmarked operation: `run(reps)` does the work `reps` times.
struct Variant {
    let name: String
    let run: (Int) -> Void
}

/// Seconds per repetition of each variant (the best of `rounds`) and its speed-up over
/// variants[baseline[i]] (the median over rounds of the ratio of the two, timed back to back).
func measure(_ variants: [Variant], baseline: [Int], target: Double = 0.01, rounds: Int = 11) -> (best: [Double], ratio: [Double]) {
    var reps = [Int](repeating: 1, count: variants.count)
    for (i, v) in variants.enumerated() {           // calibrate (and warm up)
        var r = 1
        while true {
            let t0 = now(); v.run(r); let dt = now() - t0
            if dt > target / 4 || r > 1 << 24 { reps[i] = max(1, Int(Double(r) * target / max(dt, 1e-9))); break }
            r *= 2
        }
    }
    func time(_ i: Int) -> Double { let t0 = now(); variants[i].run(reps[i]); return (now() - t0) / Double(reps[i]) }
    var best = [Double](repeating: .infinity, count: variants.count)
    var ratios = [[Double]](repeating: [], count: variants.count)
    for _ in 0..<rounds {
        for i in variants.indices {
            let b = time(baseline[i]), t = time(i)
            best[i] = min(best[i], t); best[baseline[i]] = min(best[baseline[i]], b)
            ratios[i].append(b / t)
        }
    }
    return (best, ratios.map { $0.sorted()[$0.count / 2] })
}

/// n rows of one family (a root and perturbations of it), `len` floats each, `stride` apart.
func familyRows(n: Int, len: Int, stride: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
    var g = Rng(state: seed)
    let rows = UnsafeMutablePointer<Float>.allocate(capacity: n * stride + 16)
    rows.initialize(repeating: 0, count: n * stride + 16)
    for i in 0..<len { rows[i] = Float(g.next() * 0.04) }
    for r in 1..<max(n, 1) { for i in 0..<len { rows[r * stride + i] = rows[i] + Float(g.next() * 0.004) } }
    return rows
}

func pairVariants(n: Int, len: Int, rows: UnsafeMutablePointer<Float>) -> [Variant] {
    let ss = UnsafeMutablePointer<Double>.allocate(capacity: n * n)
    let mx = UnsafeMutablePointer<Double>.allocate(capacity: n * n)
    ss.initialize(repeating: 0, count: n * n); mx.initialize(repeating: 0, count: n * n)
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: n * (len + Int(MTK_ROW_PAD)) + len)
    let norms = UnsafeMutablePointer<Double>.allocate(capacity: n)
    var out = [
        Variant(name: "swift") { r in for _ in 0..<r { swiftPairBlock(rows, block: len, n: n, len: len, ss: ss, mx: nil) } },
        Variant(name: "swift +max") { r in for _ in 0..<r { swiftPairBlock(rows, block: len, n: n, len: len, ss: ss, mx: mx) } },
    ]
    for k in sets {
        let f = k.pointee.pair_block!, g = k.pointee.gram_block!
        out.append(Variant(name: "c \(name(k))") { r in for _ in 0..<r { f(rows, len, n, len, nil, ss, nil) } })
        out.append(Variant(name: "c \(name(k)) +max") { r in for _ in 0..<r { f(rows, len, n, len, nil, ss, mx) } })
        out.append(Variant(name: "gram \(name(k))") { r in
            for _ in 0..<r { _ = g(rows, len, n, len, nil, 1.0 / 64, scratch, norms, ss) }
        })
    }
    return out
}

func momentVariants(x: UnsafeMutablePointer<Float>, count: Int) -> [Variant] {
    var sink = 0.0
    var out = [Variant(name: "swift") { r in
        for _ in 0..<r {       // every output used, so that none is optimised away
            let m = SwiftMoments.fastSums(x, count: count, shift: 0.01, extremes: true)
            sink += m.sums.0 + m.sums.1 + m.sums.2 + m.sums.3 + Double(m.minimum) + Double(m.maximum)
        }
    }]
    for k in sets {
        let f = k.pointee.moments!
        out.append(Variant(name: "c \(name(k))") { r in
            var sums = (0.0, 0.0, 0.0, 0.0)
            var mm: (Float, Float) = (.infinity, -.infinity)
            for _ in 0..<r {
                withUnsafeMutablePointer(to: &sums) { s in
                    withUnsafeMutablePointer(to: &mm) { m in
                        s.withMemoryRebound(to: Double.self, capacity: 4) { sp in
                            m.withMemoryRebound(to: Float.self, capacity: 2) { f(x, count, 0.01, 1, sp, $0) }
                        }
                    }
                }
            }
            sink += sums.1
        })
    }
    if sink == 42 { print("") }
    return out
}

/// Y = A·Ω of a sketch: A m × k, Ω k × n (row-major), in Float or Double.
func gemmVariants<T: BinaryFloatingPoint & SIMDScalar>(_: T.Type, m: Int, k: Int, n: Int) -> [Variant] {
    var g = Rng(state: 7)
    let a = (0..<(m * k)).map { _ in T(g.next()) }, b = (0..<(k * n)).map { _ in T(g.next()) }
    let panels = packPanels(k, n) { i, j in b[i * n + j] }          // packed once per plan in RankDistances
    var c = [T](repeating: 0, count: m * n)
    var out = [Variant(name: "swift") { r in for _ in 0..<r { c = multiply(a, m, k, panels, n) } }]
    for kset in sets {
        out.append(Variant(name: "c \(name(kset))") { r in
            for _ in 0..<r {
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            if T.self == Float.self {
                                _ = kset.pointee.gemm_f32!(m, n, k, UnsafeRawPointer(ap.baseAddress!).assumingMemoryBound(to: Float.self), k,
                                                           UnsafeRawPointer(bp.baseAddress!).assumingMemoryBound(to: Float.self), n,
                                                           UnsafeMutableRawPointer(cp.baseAddress!).assumingMemoryBound(to: Float.self), n)
                            } else {
                                _ = kset.pointee.gemm_f64!(m, n, k, UnsafeRawPointer(ap.baseAddress!).assumingMemoryBound(to: Double.self), k,
                                                           UnsafeRawPointer(bp.baseAddress!).assumingMemoryBound(to: Double.self), n,
                                                           UnsafeMutableRawPointer(cp.baseAddress!).assumingMemoryBound(to: Double.self), n)
                            }
                        }
                    }
                }
            }
        })
    }
    return out
}

func fmt(_ x: Double) -> String {
    let s = x >= 10 ? String(Int(x.rounded())) : String(Double(Int(x * 100)) / 100)
    return s
}

// One variant, a fixed number of times (callgrind).
let args = CommandLine.arguments
if let i = args.firstIndex(of: "--only"), i + 1 < args.count {
    let wanted = args[i + 1]
    let n = args.firstIndex(of: "--n").map { Int(args[$0 + 1])! } ?? 32
    let reps = args.firstIndex(of: "--reps").map { Int(args[$0 + 1])! } ?? 10
    let len = blockSize(models: n)
    let rows = familyRows(n: n, len: len, stride: len, seed: 1)
    guard let v = pairVariants(n: n, len: len, rows: rows).first(where: { $0.name == wanted }) else {
        print("no variant \(wanted)"); exit(2)
    }
    v.run(reps)
    print("\(wanted): n \(n), \(reps) blocks of \(len), \(reps * n * (n - 1) / 2 * len) pair-elements")
    exit(0)
}

func loadAverage() -> String {
    var l = [0.0, 0, 0]
    return getloadavg(&l, 3) == 3 ? String(Double(Int(l[0] * 100)) / 100) : "?"
}
let loadBefore = loadAverage()
let active = String(cString: mtk_kernels_active().pointee.name)
print("# bench-kernels\n")
print("Sets this CPU runs: \(sets.map(name).joined(separator: ", ")); active: \(active).\n")

print("## Pair kernel: G pair-elements/s on one core (speed-up over swift, median of paired rounds)\n")
let ns = [8, 32, 64, 96, 128]
print("| variant | " + ns.map { "n = \($0) (block \(blockSize(models: $0)))" }.joined(separator: " | ") + " |")
print("|---|" + ns.map { _ in "---|" }.joined())
var table = [String: [String]]()
var order = [String]()
for n in ns {
    let len = blockSize(models: n)
    let rows = familyRows(n: n, len: len, stride: len, seed: UInt64(n))
    let variants = pairVariants(n: n, len: len, rows: rows)
    let t = measure(variants, baseline: variants.map { $0.name.hasSuffix("+max") ? 1 : 0 })
    let work = Double(n * (n - 1) / 2 * len)
    for (i, v) in variants.enumerated() {
        if table[v.name] == nil { order.append(v.name) }
        table[v.name, default: []].append("\(fmt(work / t.best[i] / 1e9)) (\(fmt(t.ratio[i]))×)")
    }
}
for v in order { print("| \(v) | " + table[v]!.joined(separator: " | ") + " |") }

print("\n## Moments of one row of 8192 floats: G elements/s (speed-up over swift)\n")
do {
    let count = 8192
    let x = familyRows(n: 1, len: count, stride: count, seed: 3)
    let variants = momentVariants(x: x, count: count)
    let t = measure(variants, baseline: variants.map { _ in 0 })
    print("| variant | G elements/s |\n|---|---|")
    for (i, v) in variants.enumerated() { print("| \(v.name) | \(fmt(Double(count) / t.best[i] / 1e9)) (\(fmt(t.ratio[i]))×) |") }
}

print("\n## Decoding 8192 stored elements: G elements/s (speed-up over swift)\n")
do {
    let count = 8192
    let bytes = UnsafeMutableRawPointer.allocate(byteCount: count * 8 + 1, alignment: 64)
    var g = Rng(state: 9)
    for i in 0..<count { (bytes + 1).storeBytes(of: Double(g.next() * 0.04).bitPattern, toByteOffset: 8 * i, as: UInt64.self) }
    let out = UnsafeMutablePointer<Float>.allocate(capacity: count)
    let kinds = ["bf16", "f16", "f64"]
    print("| variant | " + kinds.map { $0.uppercased() }.joined(separator: " | ") + " |\n|---|" + kinds.map { _ in "---|" }.joined())
    var cells = [String: [String]]()
    var names = [String]()
    for kind in kinds {
        var variants = [Variant(name: "swift") { r in for _ in 0..<r { swiftDecode(kind, bytes + 1, count: count, into: out) } }]
        for k in sets {
            let f = kind == "bf16" ? k.pointee.decode_bf16! : kind == "f16" ? k.pointee.decode_f16! : k.pointee.decode_f64!
            variants.append(Variant(name: "c \(name(k))") { r in for _ in 0..<r { f(bytes + 1, count, out) } })
        }
        let t = measure(variants, baseline: variants.map { _ in 0 })
        for (i, v) in variants.enumerated() {
            if cells[v.name] == nil { names.append(v.name) }
            cells[v.name, default: []].append("\(fmt(Double(count) / t.best[i] / 1e9)) (\(fmt(t.ratio[i]))×)")
        }
    }
    for v in names { print("| \(v) | " + cells[v]!.joined(separator: " | ") + " |") }
}

print("\n## Sketch products Y = A·Ω: G multiply-adds/s (speed-up over swift)\n")
do {
    let shapes = [(768, 768, 256), (320, 768, 256), (768, 768, 64)]
    print("| variant | " + shapes.map { "F32 \($0.0)×\($0.1)·\($0.1)×\($0.2)" }.joined(separator: " | ") + " | "
          + shapes.map { "F64 \($0.0)×\($0.1)·\($0.1)×\($0.2)" }.joined(separator: " | ") + " |")
    print("|---|" + (shapes + shapes).map { _ in "---|" }.joined())
    var rows = [String: [String]]()
    var names = [String]()
    for f64 in [false, true] {
        for (m, k, n) in shapes {
            let variants = f64 ? gemmVariants(Double.self, m: m, k: k, n: n) : gemmVariants(Float.self, m: m, k: k, n: n)
            let t = measure(variants, baseline: variants.map { _ in 0 }, target: 0.03, rounds: 5)
            for (i, v) in variants.enumerated() {
                if rows[v.name] == nil { names.append(v.name) }
                rows[v.name, default: []].append("\(fmt(Double(m * k * n) / t.best[i] / 1e9)) (\(fmt(t.ratio[i]))×)")
            }
        }
    }
    for v in names { print("| \(v) | " + rows[v]!.joined(separator: " | ") + " |") }
}

print("\nLoad average (1 min): \(loadBefore) before, \(loadAverage()) after (above the core count, other jobs competed).")
