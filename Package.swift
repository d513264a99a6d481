// swift-tools-version:6.0
// libmodeltree: recover the Model Graph of a collection of neural networks from their weights.
//
// Products:
//   modeltree      libmodeltree.so, the engine behind include/modeltree.h
//   modeltree-cli  the command-line tool (an executable may not share the library's name)
import PackageDescription

let package = Package(
    name: "modeltree",
    products: [
        .executable(name: "modeltree-cli", targets: ["ModelTreeCLI"]),
    ],
    dependencies: [
        // The CLI's argument parsing; the core has no dependencies beyond the Swift standard library and Glibc.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The engine: pure Swift, throwing API, no global mutable state, no Foundation
        // (so that libmodeltree.so stays small when the Swift runtime is linked into it).
        .target(name: "ModelTree"),
        .executableTarget(
            name: "ModelTreeCLI",
            dependencies: [
                "ModelTree",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ModelTreeTests", dependencies: ["ModelTree"]),
    ],
    swiftLanguageModes: [.v5]
)
