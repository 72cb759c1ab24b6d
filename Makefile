# Periscope: the two commands a newcomer runs are `make demo` and `make test`.
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)

.PHONY: demo test test-unit build prerequisites generate-otlp clean

demo:
	bash Scripts/demo.sh

# The end-to-end suites (which start the real binaries) run apart from the unit suites: the unit
# suites' synchronous work (thousands of mutations, random blocks) held the test process's two
# cooperative threads for 25-30 s at the start, while the end-to-end tests waited for their
# servers' first line. The store conformance suites (each test against SQLite and a private
# PostgreSQL) run on their own for the same reason. The shared-store fault test runs last,
# alone: it loads both cores.
STORE_SUITES = SQLiteStoreTests|StoreSearchTests|StoreModelTests|GoldenSignalsTests|SLOTests|\.PostgresStoreTests
SHARED_STORE_SUITES = SharedPostgresStoreTests
END_TO_END = EndToEndTests\.
# The gRPC connection-age test runs alone too: beside the other suites' long synchronous tests,
# its server's tasks waited more than 10 s for a cooperative thread, and grpcio's calls timed out.
ALONE_TESTS = connectionAgeUnderTraffic

test: prerequisites
	$(SWIFT) build --build-tests
	$(SWIFT) build --package-path Tests/Peers/SwiftOTelService
	PERISCOPE_BIN_DIR="$$($(SWIFT) build --show-bin-path)" $(SWIFT) test --skip-build --skip '$(END_TO_END)|$(STORE_SUITES)|$(ALONE_TESTS)'
	PERISCOPE_BIN_DIR="$$($(SWIFT) build --show-bin-path)" $(SWIFT) test --skip-build --filter '$(END_TO_END)' --skip '$(SHARED_STORE_SUITES)|$(ALONE_TESTS)'
	PERISCOPE_BIN_DIR="$$($(SWIFT) build --show-bin-path)" $(SWIFT) test --skip-build --filter '$(STORE_SUITES)'
	PERISCOPE_BIN_DIR="$$($(SWIFT) build --show-bin-path)" $(SWIFT) test --skip-build --filter '$(SHARED_STORE_SUITES)'
	PERISCOPE_BIN_DIR="$$($(SWIFT) build --show-bin-path)" $(SWIFT) test --skip-build --filter '$(ALONE_TESTS)'

# Fast feedback: everything but the end-to-end suites (which start the real binaries).
test-unit:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip EndToEndTests

build:
	$(SWIFT) build

prerequisites:
	bash Scripts/install-prerequisites.sh

# Regenerates Sources/OTLP/Generated from the .proto files (needs protoc).
generate-otlp:
	bash Scripts/generate-otlp.sh

clean:
	rm -rf .build .demo Fuzz/.build Fuzz/.corpus

# Collector + agent under steady traffic, rotation and kill -9 for SOAK_SECONDS (default 600);
# a 60-second run is part of `make test`.
.PHONY: soak
SOAK_SECONDS ?= 600
soak: prerequisites
	$(SWIFT) build --build-tests
	SOAK_SECONDS=$(SOAK_SECONDS) PERISCOPE_BIN_DIR="$$($(SWIFT) build --show-bin-path)" $(SWIFT) test --skip-build --filter SoakTests

# Release build, SDK micro-benchmarks, end-to-end load runs; rewrites BENCHMARKS.md.
.PHONY: bench
bench:
	bash Benchmarks/run.sh

# Coverage-guided fuzzing of the network decoders (libFuzzer + ASan), FUZZ_SECONDS per target.
.PHONY: fuzz
fuzz: prerequisites
	bash Fuzz/run.sh
