// swift-tools-version:6.1
// Coverage-guided fuzzing (libFuzzer) of the decoders that read outside bytes: OTLP protobuf
// and OTLP/JSON for every signal, the zstd/gzip content encodings, log lines as the tailer
// reads them, times/durations/sizes as flags and query strings give them, queue records, and
// what the collector reads back from its own files (span blocks, log blocks, rollup buckets), and the first
// bytes and gRPC messages the servers read from a connection, the SDK's OTEL_* variables, and
// the collector's PostgreSQL store URL, and Jaeger query strings with the Prometheus text written
// around names the collector did not choose.
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
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeOTLP", package: "Periscope"), .product(name: "PeriscopeModel", package: "Periscope")],
            path: "Sources/OTLPDecodeFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "LogLinesFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeLogLines", package: "Periscope")],
            path: "Sources/LogLinesFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "TextFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeConfig", package: "Periscope")],
            path: "Sources/TextFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "QueueRecordFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeDiskQueue", package: "Periscope")],
            path: "Sources/QueueRecordFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "CheckedLineFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeDiskQueue", package: "Periscope")],
            path: "Sources/CheckedLineFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "StoredSpanBlockFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeCollector", package: "Periscope")],
            path: "Sources/StoredSpanBlockFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "StoredLogBlockFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeCollector", package: "Periscope")],
            path: "Sources/StoredLogBlockFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "PartitionHeaderFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeCollector", package: "Periscope")],
            path: "Sources/PartitionHeaderFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "JaegerQueryFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeCollector", package: "Periscope")],
            path: "Sources/JaegerQueryFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "WebUIFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeCollector", package: "Periscope")],
            path: "Sources/WebUIFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "StoreURLFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeCollector", package: "Periscope")],
            path: "Sources/StoreURLFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "RollupBucketFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeCollector", package: "Periscope")],
            path: "Sources/RollupBucketFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "DecompressFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeCompression", package: "Periscope")],
            path: "Sources/DecompressFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "ProtocolFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeServer", package: "Periscope")],
            path: "Sources/ProtocolFuzz",
            swiftSettings: fuzz
        ),
        .executableTarget(
            name: "OTelEnvironmentFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "PeriscopeSDK", package: "Periscope"), .product(name: "PeriscopeModel", package: "Periscope")],
            path: "Sources/OTelEnvironmentFuzz",
            swiftSettings: fuzz
        ),
    ]
)
