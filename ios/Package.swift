// swift-tools-version:5.9
// The Footfall SDK for iOS and macOS: the Rust core as a static-library XCFramework, the UniFFI-generated Swift
// bindings (committed: see README.md) and the idiomatic `Footfall` module on top.
//
// Build the XCFramework first (macOS with Xcode and rustup): `./build-xcframework.sh`, then `swift build` /
// `swift test`. The generated bindings use `nonisolated(unsafe)`, so the compiler must be Swift 5.10+ (Xcode 15.3+)
// even though the manifest format is 5.9.
//
// On Linux (CI: scripts/test-swift.sh) the same targets build against the host's libfootfall_ffi.so instead: the C
// module FootfallFFIFFI is a system-library target whose module map (Linux/FootfallFFIFFI/module.modulemap) points
// at the generated header and links `footfall_ffi`; the caller passes the library's directory to the linker
// (`swift build -Xlinker -L<dir> -Xlinker -rpath -Xlinker <dir>`). The `#if` is evaluated where the manifest is
// read, so Apple platforms never see the Linux target and Linux never sees the XCFramework.
import PackageDescription

#if os(Linux)
// libfootfall_ffi.so from `cargo build -p footfall-ffi`, with the generated header.
let nativeTarget: Target = .systemLibrary(name: "FootfallFFIFFI", path: "Linux/FootfallFFIFFI")
let nativeDependency: Target.Dependency = "FootfallFFIFFI"
let nativeLinkerSettings: [LinkerSetting] = []
#else
// libfootfall_ffi.a for iOS devices, the iOS simulator (arm64 + x86_64) and macOS (arm64 + x86_64), with the C header
// and module map of the FFI module `FootfallFFIFFI`. Produced locally by ./build-xcframework.sh.
// A release publishes the zipped XCFramework and switches to a remote binary target:
//   .binaryTarget(
//       name: "FootfallFFIBinary",
//       url: "https://github.com/<org>/footfall/releases/download/<version>/FootfallFFI.xcframework.zip",
//       checksum: "<output of `swift package compute-checksum FootfallFFI.xcframework.zip`>"
//   ),
let nativeTarget: Target = .binaryTarget(name: "FootfallFFIBinary", path: "build/FootfallFFI.xcframework")
let nativeDependency: Target.Dependency = "FootfallFFIBinary"
// The Rust static library references Apple's TLS trust APIs (rustls-platform-verifier, pulled in by reqwest) and
// CoreFoundation; a static archive cannot carry these link requirements itself.
let nativeLinkerSettings: [LinkerSetting] = [
    .linkedFramework("Security"),
    .linkedFramework("CoreFoundation"),
]
#endif

let package = Package(
    name: "Footfall",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Footfall", targets: ["Footfall"]),
    ],
    targets: [
        nativeTarget,

        // The UniFFI-generated Swift (module FootfallFFI); generated code only, never edited by hand.
        .target(
            name: "FootfallFFI",
            dependencies: [nativeDependency],
            path: "Sources/FootfallFFI",
            linkerSettings: nativeLinkerSettings
        ),

        // The API apps use: `Footfall` (with its consent and rights methods), `FootfallValue`, `FootfallEvent`,
        // `HttpTransport`, `URLSessionTransport`, `TcfConsentBridge`.
        .target(
            name: "Footfall",
            dependencies: ["FootfallFFI"],
            path: "Sources/Footfall"
        ),

        // track() measured as apps call it (scripts/test-swift.sh --bench); built with the package, never shipped.
        .executableTarget(
            name: "TrackBench",
            dependencies: ["Footfall", "FootfallFFI"],
            path: "Benchmarks/TrackBench"
        ),

        // End-to-end tests against the real library and the reference collector (`FOOTFALL_BIN`, else skipped).
        .testTarget(
            name: "FootfallTests",
            dependencies: ["Footfall", "FootfallFFI"],
            path: "Tests/FootfallTests"
        ),
    ]
)
