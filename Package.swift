// swift-tools-version:6.0
// libmodeltree: recover the Model Graph of a collection of neural networks from their weights.
//
// Products:
//   ModelTree      the engine as a Swift library, for Swift packages that depend on this one
//                  (no unsafe flags: SwiftPM accepts it from a remote dependency)
//   modeltree      libmodeltree.so, the engine behind include/modeltree.h
//   modeltree-cli  the command-line tool (an executable may not share the library's name)
import PackageDescription

// The C ABI's library. The soname and the version script apply on Linux; the version
// script keeps everything but `modeltree_*` out of the dynamic symbol table. `-z defs` makes an
// unresolved symbol a link error instead of a load-time surprise. The linker is the toolchain's
// lld: gold (swiftc's default on Linux) honours the script's `local: *` for the symbols' binding
// but still writes the core's type metadata that the shim reaches through the GOT (`$s9ModelTree…VN`)
// into the dynamic symbol table, with R_X86_64_GLOB_DAT relocations against them; lld resolves
// those relocations at link time, so `nm -D` shows only `modeltree_*` (Tests/c: installed_library).
// MODELTREE_STATIC_STDLIB=1 (set by `make lib`) links the Swift runtime into libmodeltree.so so
// that it loads on a machine without the toolchain; it breaks `swift test`, hence the switch.
let staticStdlib = Context.environment["MODELTREE_STATIC_STDLIB"] == "1"
let cabiLinkerFlags = [
    "-Xlinker", "-soname=libmodeltree.so.0",
    "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/ModelTreeC/modeltree.exports",
    "-Xlinker", "-z", "-Xlinker", "defs",
    "-use-ld=lld",
] + (staticStdlib ? ["-static-stdlib"] : [])

let package = Package(
    name: "modeltree",
    products: [
        .library(name: "ModelTree", targets: ["ModelTree"]),
        .executable(name: "modeltree-cli", targets: ["ModelTreeCLI"]),
        // libmodeltree.so: the engine behind include/modeltree.h.
        .library(name: "modeltree", type: .dynamic, targets: ["ModelTreeC"]),
    ],
    dependencies: [
        // The CLI's argument parsing; the core has no dependencies beyond the Swift standard library and Glibc.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The engine: pure Swift, throwing API, no global mutable state, no Foundation
        // (so that libmodeltree.so stays small when the Swift runtime is linked into it).
        .target(name: "ModelTree", dependencies: ["ModelTreeKernels"]),
        // The pass's vector kernels: C, each in SSE2, AVX2 + FMA and AVX-512 (NEON on
        // aarch64), the set chosen at run time by cpuid; internal (`mtk_*`, not exported).
        .target(name: "ModelTreeKernels"),
        // A pthread_atfork handler that keeps a forked child of a host from livelocking in the
        // Swift runtime's swift_once (Sources/ModelTreeRuntime/fork_guard.c); in libmodeltree.so.
        .target(name: "ModelTreeRuntime",
                cSettings: staticStdlib ? [.define("MODELTREE_STATIC_RUNTIME")] : []),
        .executableTarget(
            name: "ModelTreeCLI",
            dependencies: [
                "ModelTree",
                "ModelTreeIndex",
                "CModelTree",   // the version macros of include/modeltree.h, nothing else
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ModelTreeTests", dependencies: ["ModelTree", "ModelTreeKernels"]),
        // SQLite 3 for the hub index: Debian's libsqlite3-dev. Linked statically (the archive is
        // built position-independent), so libmodeltree.so and modeltree-cli need no libsqlite3 at
        // run time; the version script keeps its symbols out of the .so's dynamic table.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        // The hub index: signatures of models kept in one SQLite file, candidate search by
        // families, parent queries and the graph from signatures alone.
        .target(
            name: "ModelTreeIndex",
            dependencies: ["ModelTree", "CSQLite"],
            linkerSettings: [.linkedLibrary(":libsqlite3.a", .when(platforms: [.linux])), .linkedLibrary("m")]
        ),
        .testTarget(name: "ModelTreeIndexTests", dependencies: ["ModelTreeIndex", "ModelTree"]),
        // include/modeltree.h as the Clang module CModelTree: the shim implements its prototypes.
        .systemLibrary(name: "CModelTree", path: "include"),
        // The C ABI: `@c @implementation` entry points only (validate, convert, call, map errors).
        .target(
            name: "ModelTreeC",
            dependencies: ["ModelTree", "ModelTreeIndex", "CModelTree", "ModelTreeRuntime"],
            exclude: ["modeltree.exports"],
            swiftSettings: staticStdlib ? [.unsafeFlags(["-static-stdlib"])] : [],
            linkerSettings: [.unsafeFlags(cabiLinkerFlags, .when(platforms: [.linux]))]
        ),
    ],
    swiftLanguageModes: [.v6]
)
