// swift-tools-version:6.1
// Coverage-guided fuzzing (libFuzzer) of the decoders that read bytes from the network:
// OTLP protobuf and OTLP/JSON for every signal, and the zstd/gzip content encodings.
// A package of its own: it is only ever built with `-sanitize=fuzzer` (see run.sh).
import PackageDescription

let fuzz: [SwiftSetting] = [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "PeriscopeFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Periscope", path: "..")],
    targets: [
        .target(name: "CFuzzerDriver", path: "Sources/CFuzzerDriver"),
        .executableTarget(
            name: "OTLPDecodeFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeTelemetry", package: "Periscope")],
            path: "Sources/OTLPDecodeFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "DecompressFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeTelemetry", package: "Periscope")],
            path: "Sources/DecompressFuzz",
            swiftSettings: fuzz
        ),
    ]
)
