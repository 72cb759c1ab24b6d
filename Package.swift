// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Periscope",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PeriscopeSDK", targets: ["PeriscopeSDK"]),
        // The data model and OTLP codec, for the fuzz and benchmark packages beside this one.
        .library(name: "PeriscopeTelemetry", targets: ["PeriscopeTelemetry"]),
        // The log-line parsers, for the fuzz package beside this one.
        .library(name: "PeriscopeLogLines", targets: ["PeriscopeLogLines"]),
        .library(name: "PeriscopeHummingbird", targets: ["PeriscopeHummingbird"]),
        .library(name: "PeriscopeHTTPClient", targets: ["PeriscopeHTTPClient"]),
        .executable(name: "periscope-agent", targets: ["PeriscopeAgent"]),
        .executable(name: "periscope-collector", targets: ["PeriscopeCollectorMain"]),
        // The collector as a library: its stored-bytes decoders, for the fuzz package beside this one.
        .library(name: "PeriscopeCollector", targets: ["PeriscopeCollector"]),
        .executable(name: "periscope", targets: ["PeriscopeQuery"]),
        .executable(name: "periscope-example", targets: ["PeriscopeExample"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
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
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),

        // The telemetry data model, the OTLP codec and the compression framing.
        .target(
            name: "PeriscopeTelemetry",
            dependencies: [
                "CZstd", "CZlib",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Sources/Telemetry",
            exclude: ["OTLP/Proto"],
            swiftSettings: strict
        ),
        .target(
            name: "PeriscopeSDK",
            dependencies: [
                "PeriscopeTelemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "ServiceContextModule", package: "swift-service-context"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
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
            ],
            path: "Sources/SDKIntegrations/HTTPClient",
            swiftSettings: strict
        ),
        // Shared by the two servers: listening, auth and OTLP request decoding over HTTP.
        .target(
            name: "PeriscopeServer",
            dependencies: [
                "PeriscopeTelemetry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/Server",
            swiftSettings: strict
        ),
        // Log lines as services write them: split into fields (JSON, logfmt, regex), times and
        // levels read, secrets redacted, and written as OTLP log records — what the agent's
        // tailer does to each line, apart from following files.
        .target(
            name: "PeriscopeLogLines",
            dependencies: ["PeriscopeTelemetry"],
            path: "Sources/LogLines",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "PeriscopeAgent",
            dependencies: [
                "PeriscopeTelemetry", "PeriscopeServer", "PeriscopeLogLines", "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/Agent",
            swiftSettings: strict
        ),
        // The collector: ingest, store, rollups, SLOs, retention and the query API. A library
        // so tests and the fuzz package reach it; `PeriscopeCollectorMain` only starts it.
        .target(
            name: "PeriscopeCollector",
            dependencies: [
                "PeriscopeTelemetry", "PeriscopeServer", "CSQLite",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
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
        .executableTarget(
            name: "PeriscopeQuery",
            dependencies: [
                "PeriscopeTelemetry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Query",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "PeriscopeExample",
            dependencies: [
                "PeriscopeSDK", "PeriscopeHummingbird", "PeriscopeHTTPClient",
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
                "PeriscopeTelemetry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/PeriscopeTesting",
            swiftSettings: strict
        ),
        .testTarget(
            name: "TelemetryTests",
            dependencies: ["PeriscopeTelemetry", "PeriscopeTesting"],
            path: "Tests/TelemetryTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CollectorTests",
            dependencies: ["PeriscopeCollector", "PeriscopeTelemetry", "PeriscopeTesting"],
            path: "Tests/CollectorTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "SDKTests",
            dependencies: [
                "PeriscopeSDK", "PeriscopeTelemetry", "PeriscopeHummingbird", "PeriscopeHTTPClient", "PeriscopeTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/SDKTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "QueryTests",
            dependencies: ["PeriscopeQuery", "PeriscopeTelemetry"],
            path: "Tests/QueryTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "PeriscopeAgent", "PeriscopeTelemetry", "PeriscopeServer", "PeriscopeLogLines", "PeriscopeTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Tests/AgentTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["PeriscopeTesting", "PeriscopeTelemetry"],
            path: "Tests/EndToEndTests",
            swiftSettings: strict
        ),
    ]
)
