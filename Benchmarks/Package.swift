// swift-tools-version:6.1
// Periscope's benchmarks: a package of its own so that its peers (swift-otel) and its
// harness (ordo-one/benchmark) never slow the main package's build.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "PeriscopeBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Periscope", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // OTLP/HTTP only: the gRPC exporter is not compared and costs minutes of build.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-service-context.git", from: "1.5.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
    ],
    targets: [
        // Micro-benchmarks of the SDK's hot paths, side by side with swift-otel.
        .executableTarget(
            name: "SDKBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PeriscopeSDK", package: "Periscope"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceContextModule", package: "swift-service-context"),
            ],
            path: "Benchmarks/SDKBenchmarks",
            swiftSettings: strict,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // What the load generators share: the OTLP protobuf encoder, IDs, process management,
        // /proc readings and percentiles.
        .target(
            name: "PeriscopeBenchKit",
            path: "Sources/PeriscopeBenchKit",
            swiftSettings: strict
        ),
        // The end-to-end load generator: drives a real agent and collector over OTLP/HTTP (and
        // OTLP/gRPC, for the protocol comparison).
        .executableTarget(
            name: "periscope-load",
            dependencies: [
                "PeriscopeBenchKit",
                .product(name: "PeriscopeSDK", package: "Periscope"),
                .product(name: "PeriscopeModel", package: "Periscope"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            path: "Sources/PeriscopeLoad",
            swiftSettings: strict
        ),
        // The store benchmark: the collector alone, pinned to one core, through its HTTP API:
        // bulk ingest, trace by ID, searches, logs by correlation ID, bytes per span, and
        // golden signals / SLO status over 30 days.
        .executableTarget(
            name: "periscope-store-bench",
            dependencies: [
                "PeriscopeBenchKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/PeriscopeStoreBench",
            swiftSettings: strict
        ),
        // libzstd, to decode the agent's request bodies in the tail benchmark's counting sink.
        .systemLibrary(name: "CBenchZstd", path: "Sources/CBenchZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        // The tail benchmark: the release agent pinned to one core tails a JSON-lines file and
        // ships it to a counting OTLP/HTTP sink: MiB/s, lines/s, CPU seconds, peak RSS, no loss.
        .executableTarget(
            name: "periscope-tail-bench",
            dependencies: [
                "PeriscopeBenchKit", "CBenchZstd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/PeriscopeTailBench",
            swiftSettings: strict
        ),
    ]
)
