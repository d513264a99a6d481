import ModelTreeKernels

/// The vector kernels of one instruction set (`Sources/ModelTreeKernels`, C compiled once per
/// set: SSE2, AVX2 + FMA, AVX-512 on x86-64; NEON on aarch64; plain C anywhere): the arithmetic
/// every pass over the weights runs — the pair sums, the moments, the sketch products, the
/// decoding of stored elements.
///
/// The passes take a set as a parameter (`StreamingPass.kernels`, defaulting to `active`), so a
/// test can run a recovery on every set the CPU supports in one process. Results are
/// deterministic for a given set and input; sets round differently (4, 8 or 16 lanes; FMA or not)
/// within each kernel's documented accuracy.
///
/// `@unchecked Sendable`: the table is a constant in static storage, never written.
struct KernelSet: @unchecked Sendable, Equatable {
    let table: UnsafePointer<mtk_kernels>

    /// "avx512", "avx2", "sse2", "neon" or "portable".
    var name: String { String(cString: table.pointee.name) }

    /// The process's kernels: the best set this CPU and OS run, or the one `MODELTREE_KERNEL`
    /// names (sse2 | avx2 | avx512 | neon | portable; a set the CPU lacks gives the best below
    /// it). The variable is read once, on first use, and never again: the only environment
    /// variable the library reads.
    static let active = KernelSet(table: mtk_kernels_active())

    /// Every set compiled in that this CPU and OS run, best first.
    static var supported: [KernelSet] {
        [MTK_ISA_AVX512, MTK_ISA_AVX2, MTK_ISA_NEON, MTK_ISA_SSE2, MTK_ISA_PORTABLE].compactMap { isa in
            mtk_kernels_for(isa).map(KernelSet.init(table:))
        }
    }

    /// The set called `name` when this CPU runs it; nil otherwise (unlike `MODELTREE_KERNEL`,
    /// which falls back to a lesser set).
    static func named(_ name: String) -> KernelSet? {
        supported.first { $0.name == name }
    }

    /// Whether the set multiplies and adds in one rounding (AVX2, AVX-512, NEON): there one fused
    /// multiply-add per pair-element (the Gram form) costs no more than the direct kernel's
    /// subtraction and multiply-add, and on CPUs whose adds and FMAs share ports, half.
    var fusesMultiplyAdd: Bool {
        let isa = table.pointee.isa
        return isa == MTK_ISA_AVX2 || isa == MTK_ISA_AVX512 || isa == MTK_ISA_NEON
    }

    static func == (a: KernelSet, b: KernelSet) -> Bool { a.table == b.table }
}

/// The instruction set of the vector kernels this process runs: "avx512", "avx2", "sse2",
/// "neon" or "portable" (`MODELTREE_KERNEL` forces one: see `modeltree_kernel_name` in
/// include/modeltree.h). For reports and bug reports: the recovered graph is the same whichever
/// set runs. The corresponding C function is `modeltree_kernel_name`.
public func kernelName() -> String { KernelSet.active.name }
