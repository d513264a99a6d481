// swift-tools-version:6.0
// A package that depends on libmodeltree's `ModelTree` library product the way any other Swift
// package would: by URL and version (SwiftPM refuses unsafe build flags in such a dependency, and
// the library product must not need any). Built by Tests/python/test_swift_package.py against a
// git repository made from the working tree; MODELTREE_PACKAGE_URL and MODELTREE_PACKAGE_VERSION
// say where and which (MODELTREE_PACKAGE_PRODUCT picks another product, to check the refusal).
import PackageDescription

let url = Context.environment["MODELTREE_PACKAGE_URL"] ?? "https://github.com/libmodeltree/libmodeltree"
// The test always names the version (the header's); alone, any 0.x release.
let version = Version(Context.environment["MODELTREE_PACKAGE_VERSION"] ?? "0.0.0") ?? "0.0.0"
let product = Context.environment["MODELTREE_PACKAGE_PRODUCT"] ?? "ModelTree"

let package = Package(
    name: "Consumer",
    dependencies: [.package(url: url, from: version)],
    targets: [
        .executableTarget(name: "Consumer", dependencies: [.product(name: product, package: "libmodeltree")]),
    ]
)
