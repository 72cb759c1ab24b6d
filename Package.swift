// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Periscope",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PeriscopeSDK", targets: ["PeriscopeSDK"]),
        .library(name: "PeriscopeHummingbird", targets: ["PeriscopeHummingbird"]),
        .library(name: "PeriscopeHTTPClient", targets: ["PeriscopeHTTPClient"]),
        .executable(name: "periscope-agent", targets: ["PeriscopeAgent"]),
        .executable(name: "periscope-collector", targets: ["PeriscopeCollectorMain"]),
        .executable(name: "periscope", targets: ["PeriscopeCLI"]),
        .executable(name: "periscope-example", targets: ["PeriscopeExample"]),
        // For the fuzz and benchmark packages beside this one.
        .library(name: "PeriscopeModel", targets: ["PeriscopeModel"]),
        .library(name: "PeriscopeOTLP", targets: ["PeriscopeOTLP"]),
        .library(name: "PeriscopeCompression", targets: ["PeriscopeCompression"]),
        .library(name: "PeriscopeConfig", targets: ["PeriscopeConfig"]),
        .library(name: "PeriscopeDiskQueue", targets: ["PeriscopeDiskQueue"]),
        .library(name: "PeriscopeLogLines", targets: ["PeriscopeLogLines"]),
        .library(name: "PeriscopeServer", targets: ["PeriscopeServer"]),
        .library(name: "PeriscopeCollector", targets: ["PeriscopeCollector"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.5.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-service-context.git", from: "1.5.1"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // glibc's malloc tuning (`mallopt`), which the Glibc module does not expose.
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),

        // The telemetry data model: IDs, resources, spans, logs, metrics, signals, wall-clock time.
        .target(
            name: "PeriscopeModel",
            path: "Sources/Model",
            swiftSettings: strict
        ),
        // OTLP: the generated messages, translation to and from the model, the fast readers and
        // writers of the hot paths, and the protobuf wire format they share.
        .target(
            name: "PeriscopeOTLP",
            dependencies: [
                "PeriscopeModel",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Sources/OTLP",
            exclude: ["Proto"],
            swiftSettings: strict
        ),
        // zstd and gzip with output limits: request bodies, shipped batches and stored blocks.
        .target(
            name: "PeriscopeCompression",
            dependencies: [
                "CZstd",
                "CZlib",
            ],
            path: "Sources/Compression",
            swiftSettings: strict
        ),
        // What senders share: a batch as shipped, its ID header and the retry policy.
        .target(
            name: "PeriscopeDelivery",
            dependencies: [
                "PeriscopeModel",
            ],
            path: "Sources/Delivery",
            swiftSettings: strict
        ),
        // The JSON documents of the collector's query API, as the collector writes and the CLI reads them.
        .target(
            name: "PeriscopeQueryAPI",
            dependencies: [
                "PeriscopeModel",
            ],
            path: "Sources/QueryAPI",
            swiftSettings: strict
        ),
        // Configuration: YAML files, token files, listen addresses, sizes, durations and times.
        .target(
            name: "PeriscopeConfig",
            dependencies: [
                "PeriscopeModel",
                "PeriscopeDelivery",
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/Config",
            swiftSettings: strict
        ),
        // The agent's durable queue: segment files of checksummed records, fsync policies, dead letters' framing.
        .target(
            name: "PeriscopeDiskQueue",
            dependencies: [
                "PeriscopeModel",
                "PeriscopeDelivery",
                "PeriscopeConfig",
                "CZlib",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/DiskQueue",
            swiftSettings: strict
        ),
        // The instrumentation SDK: no compression and no configuration files, so a service needs no C libraries.
        .target(
            name: "PeriscopeSDK",
            dependencies: [
                "PeriscopeModel",
                "PeriscopeOTLP",
                "PeriscopeDelivery",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "ServiceContextModule", package: "swift-service-context"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/SDK",
            swiftSettings: strict
        ),
        // Request spans and context propagation for Hummingbird servers.
        .target(
            name: "PeriscopeHummingbird",
            dependencies: [
                "PeriscopeSDK",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/SDKIntegrations/Hummingbird",
            swiftSettings: strict
        ),
        // Client spans and context injection for AsyncHTTPClient.
        .target(
            name: "PeriscopeHTTPClient",
            dependencies: [
                "PeriscopeSDK",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ],
            path: "Sources/SDKIntegrations/HTTPClient",
            swiftSettings: strict
        ),
        // What the agent and the collector share as servers: OTLP/HTTP and OTLP/gRPC ingest, bearer
        // auth, the concurrency limit, periodic tasks, blocking I/O and the listening announcement.
        .target(
            name: "PeriscopeServer",
            dependencies: [
                "PeriscopeModel",
                "PeriscopeOTLP",
                "PeriscopeCompression",
                "PeriscopeQueryAPI",
                "PeriscopeConfig",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ],
            path: "Sources/Server",
            swiftSettings: strict
        ),
        // Log lines as services write them: split into fields (JSON, logfmt, regex), times and
        // levels read, secrets redacted, and written as OTLP log records — what the agent's
        // tailer does to each line, apart from following files.
        .target(
            name: "PeriscopeLogLines",
            dependencies: [
                "PeriscopeModel",
                "PeriscopeOTLP",
                "PeriscopeCompression",
                "PeriscopeConfig",
            ],
            path: "Sources/LogLines",
            swiftSettings: strict
        ),
        // `periscope-agent`: receives, tails, queues durably and ships to the collector.
        .executableTarget(
            name: "PeriscopeAgent",
            dependencies: [
                "PeriscopeModel",
                "PeriscopeOTLP",
                "PeriscopeCompression",
                "PeriscopeDelivery",
                "PeriscopeConfig",
                "PeriscopeDiskQueue",
                "PeriscopeServer",
                "PeriscopeLogLines",
                .target(name: "CMalloc", condition: .when(platforms: [.linux])),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/Agent",
            swiftSettings: strict
        ),
        // The collector: ingest, store, rollups, SLOs, retention and the query API. A library
        // so tests and the fuzz package reach it; `PeriscopeCollectorMain` only starts it.
        .target(
            name: "PeriscopeCollector",
            dependencies: [
                "PeriscopeModel",
                "PeriscopeOTLP",
                "PeriscopeCompression",
                "PeriscopeDelivery",
                "PeriscopeConfig",
                "PeriscopeQueryAPI",
                "PeriscopeServer",
                "PeriscopeLogLines",
                "CSQLite",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Sources/Collector",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "PeriscopeCollectorMain",
            dependencies: [
                "PeriscopeCollector",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/CollectorMain",
            swiftSettings: strict
        ),
        // `periscope`, the command line: queries the collector and renders for a terminal.
        .executableTarget(
            name: "PeriscopeCLI",
            dependencies: [
                "PeriscopeModel",
                "PeriscopeQueryAPI",
                "PeriscopeConfig",
                "PeriscopeDelivery",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/CLI",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "PeriscopeExample",
            dependencies: [
                "PeriscopeSDK",
                "PeriscopeHummingbird",
                "PeriscopeHTTPClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/ExampleService",
            swiftSettings: strict
        ),
        // Starts the real binaries on free loopback ports for end-to-end tests.
        .target(
            name: "PeriscopeTesting",
            dependencies: [
                "PeriscopeModel",
                "PeriscopeOTLP",
                "PeriscopeQueryAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/PeriscopeTesting",
            swiftSettings: strict
        ),
        // The shared modules: model, OTLP, compression, delivery, configuration text, the disk queue's framing.
        .testTarget(
            name: "CoreTests",
            dependencies: [
                "PeriscopeModel",
                "PeriscopeOTLP",
                "PeriscopeCompression",
                "PeriscopeDelivery",
                "PeriscopeConfig",
                "PeriscopeDiskQueue",
                "PeriscopeTesting",
            ],
            path: "Tests/CoreTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CollectorTests",
            dependencies: [
                "PeriscopeCollector",
                "PeriscopeModel",
                "PeriscopeOTLP",
                "PeriscopeCompression",
                "PeriscopeConfig",
                "PeriscopeDelivery",
                "PeriscopeQueryAPI",
                "PeriscopeServer",
                "PeriscopeTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/CollectorTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "SDKTests",
            dependencies: [
                "PeriscopeSDK",
                "PeriscopeModel",
                "PeriscopeDelivery",
                "PeriscopeHummingbird",
                "PeriscopeHTTPClient",
                "PeriscopeTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "ServiceContextModule", package: "swift-service-context"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/SDKTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CLITests",
            dependencies: [
                "PeriscopeCLI",
                "PeriscopeModel",
                "PeriscopeQueryAPI",
                "PeriscopeConfig",
                "PeriscopeTesting",
            ],
            path: "Tests/CLITests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "PeriscopeAgent",
                "PeriscopeModel",
                "PeriscopeOTLP",
                "PeriscopeCompression",
                "PeriscopeDelivery",
                "PeriscopeConfig",
                "PeriscopeDiskQueue",
                "PeriscopeServer",
                "PeriscopeLogLines",
                "PeriscopeTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
            ],
            path: "Tests/AgentTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "PeriscopeTesting",
                "PeriscopeModel",
                "PeriscopeOTLP",
                "PeriscopeCompression",
                "PeriscopeQueryAPI",
            ],
            path: "Tests/EndToEndTests",
            swiftSettings: strict
        ),
    ]
)
