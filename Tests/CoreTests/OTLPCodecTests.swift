import Foundation
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeTesting
import Testing

@Suite("OTLP codec")
struct OTLPCodecTests {
    static let batches: [TelemetryBatch] = [Fixtures.traces, Fixtures.logs, Fixtures.metrics]
    let decoder = OTLPDecoder()

    @Test("protobuf round trip keeps every field and value type", arguments: batches)
    func protobufRoundTrip(batch: TelemetryBatch) throws {
        let bytes = OTLPEncoder.encode(batch, format: .protobuf)
        let decoded = try decoder.decode(batch.signal, bytes, format: .protobuf, nowUnixNano: 1_700_000_000_000_000_000)
        #expect(decoded.batch == batch)
        #expect(decoded.rejectedItems == 0)
    }

    @Test("OTLP/JSON round trip keeps every field and value type", arguments: batches)
    func jsonRoundTrip(batch: TelemetryBatch) throws {
        let bytes = OTLPEncoder.encode(batch, format: .json)
        let decoded = try decoder.decode(batch.signal, bytes, format: .json, nowUnixNano: 1_700_000_000_000_000_000)
        #expect(decoded.batch == batch)
    }

    @Test("OTLP/JSON writes IDs as hex and enums as integers")
    func jsonFollowsOTLPRules() throws {
        let text = String(decoding: OTLPEncoder.encode(Fixtures.traces, format: .json), as: UTF8.self)
        #expect(text.contains(#""traceId":"0af7651916cd43dd8448eb211c80319c""#))
        #expect(text.contains(#""spanId":"b7ad6b7169203331""#))
        #expect(text.contains(#""parentSpanId":"00f067aa0ba902b7""#))
        #expect(text.contains(#""kind":2"#))
        #expect(text.contains(#""startTimeUnixNano":"1700000000000000000""#))
    }

    @Test("OTLP/JSON from another SDK: numbers as strings or numbers, unknown fields ignored, upper-case hex")
    func jsonFromElsewhere() throws {
        let json = #"""
        {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"py"}}]},
          "scopeSpans":[{"scope":{"name":"x"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C",
          "spanId":"EEE19B7EC3C1B174","name":"n","kind":3,"startTimeUnixNano":1000,"endTimeUnixNano":"2000",
          "futureField":{"a":1},"attributes":[{"key":"k","value":{"intValue":"7"}}]}]}]}]}
        """#
        let decoded = try decoder.decode(.traces, Array(json.utf8), format: .json, nowUnixNano: 10_000)
        guard case .traces(let groups) = decoded.batch, let span = groups.first?.scopes.first?.spans.first else {
            Issue.record("no span decoded")
            return
        }
        #expect(span.traceID.hex == "5b8efff798038103d269b633813fc60c")
        #expect(span.spanID.hex == "eee19b7ec3c1b174")
        #expect(span.kind == .client)
        #expect(span.startTimeUnixNano == 1000 && span.endTimeUnixNano == 2000)
        #expect(span.attributes["k"] == .int(7))
        #expect(groups.first?.resource.serviceName == "py")
    }

    @Test("IDs of the wrong length are refused with the field named")
    func wrongIDLengths() throws {
        let cases: [(String, String)] = [
            (#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc","spanId":"0102030405060708"}]}]}]}"#, "traceId must be 32 hex digits"),
            (#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"01"}]}]}]}"#, "spanId must be 16 hex digits"),
            (#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"zz02030405060708"}]}]}]}"#, "spanId must be 16 hex digits"),
            (#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"0102030405060708"}]}]}]}"#, "traceId must be 16 non-zero bytes"),
        ]
        for (json, fragment) in cases {
            #expect {
                _ = try decoder.decode(.traces, Array(json.utf8), format: .json)
            } throws: { error in
                (error as? OTLPError)?.message.contains(fragment) == true
            }
        }
    }

    @Test("limits: attribute counts, value sizes, nesting")
    func limits() throws {
        let strict = OTLPDecoder(limits: OTLPLimits(maxAttributesPerItem: 4, maxValueBytes: 16, maxValueDepth: 3))
        func spanBatch(_ attributes: [Attribute]) -> [UInt8] {
            var span = Fixtures.span
            span.attributes = attributes
            span.events = []
            span.links = []
            return OTLPEncoder.encode(.traces([ResourceSpans(resource: Resource(), scopes: [ScopeSpans(spans: [span])])]))
        }
        let tooMany = (0..<5).map { Attribute("k\($0)", .int(Int64($0))) }
        let tooLong = [Attribute("k", .string(String(repeating: "x", count: 17)))]
        let tooDeep = [Attribute("k", .array([.array([.array([.array([.int(1)])])])]))]
        for (attributes, fragment) in [(tooMany, "5 attributes"), (tooLong, "17 bytes"), (tooDeep, "nested deeper")] {
            #expect {
                _ = try strict.decode(.traces, spanBatch(attributes), format: .protobuf, nowUnixNano: .max / 2)
            } throws: { error in
                (error as? OTLPError)?.message.contains(fragment) == true
            }
        }
        _ = try strict.decode(.traces, spanBatch(Array(tooMany.prefix(4))), format: .protobuf, nowUnixNano: .max / 2)
    }

    @Test("the fuzz seeds, built by Python's opentelemetry-proto, decode the same in protobuf and OTLP/JSON")
    func fuzzSeedsDecode() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/Corpus/OTLPDecodeFuzz").standardizedFileURL
        for (index, signal) in [Signal.traces, .logs, .metrics].enumerated() {
            let name = ["traces", "logs", "metrics"][index]
            var decoded: [TelemetryBatch] = []
            for (format, suffix) in [(OTLPFormat.protobuf, "pb"), (.json, "json")] {
                let seed = try [UInt8](Data(contentsOf: corpus.appendingPathComponent("\(name).\(suffix)")))
                #expect(Int(seed[0]) % 3 == index && (Int(seed[0]) / 3) % 2 == (format == .json ? 1 : 0), "the selector byte")
                decoded.append(try decoder.decode(signal, Array(seed.dropFirst()), format: format, nowUnixNano: 1_700_000_000_000_000_000).batch)
            }
            #expect(decoded[0] == decoded[1], "\(name): protobuf and OTLP/JSON give the same batch")
            #expect(decoded[0].itemCount > 0)
        }
    }

    @Test("hostile bytes never crash the decoder: 3,000 mutations of valid payloads")
    func mutationFuzz() {
        var generator = SeededGenerator(seed: 0x5eed)
        var refused = 0
        for (index, batch) in Self.batches.enumerated() {
            for format in [OTLPFormat.protobuf, .json] {
                let valid = OTLPEncoder.encode(batch, format: format)
                for _ in 0..<500 {
                    var bytes = valid
                    let edits = Int.random(in: 1...8, using: &generator)
                    for _ in 0..<edits {
                        let position = Int.random(in: 0..<bytes.count, using: &generator)
                        switch Int.random(in: 0..<3, using: &generator) {
                        case 0: bytes[position] = UInt8.random(in: 0...255, using: &generator)
                        case 1: bytes.removeSubrange(position...)
                        default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: position)
                        }
                        if bytes.isEmpty { break }
                    }
                    do {
                        _ = try decoder.decode(batch.signal, bytes, format: format, nowUnixNano: .max / 2)
                    } catch {
                        refused += 1
                        #expect(!error.message.isEmpty)
                    }
                }
                _ = index
            }
        }
        // Mutations break most payloads; every break must be a typed error, which reaching here shows.
        #expect(refused > 500)
    }
}
