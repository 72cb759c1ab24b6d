/// Where a trace's spans are in one partition, as its `trace_index` row holds it: one segment
/// per batch that carried spans of the trace (block ID and the trace's ordinal in the block),
/// with a 16-bit fingerprint of each span ID, so a re-sent span is recognised without reading
/// the blocks unless a fingerprint matches.
struct TraceSegment: Equatable {
    var block: Int64
    var ordinal: Int
    var fingerprints: [UInt16]

    static func fingerprint(_ spanID: UInt64) -> UInt16 { UInt16(truncatingIfNeeded: spanID) }

    func append(to sink: inout ByteSink) {
        sink.varint(UInt64(block))
        sink.varint(ordinal)
        sink.varint(fingerprints.count)
        for fingerprint in fingerprints {
            sink.byte(UInt8(truncatingIfNeeded: fingerprint))
            sink.byte(UInt8(truncatingIfNeeded: fingerprint >> 8))
        }
    }

    static func decode(_ bytes: [UInt8]) throws -> [TraceSegment] {
        try bytes.withUnsafeBytes { buffer in
            var source = ByteSource(buffer, what: "trace index")
            var segments = [TraceSegment]()
            while !source.isAtEnd {
                let block = Int64(bitPattern: try source.varint())
                let ordinal = try source.int(atMost: Int(Int32.max))
                let count = try source.count()
                var fingerprints = [UInt16]()
                fingerprints.reserveCapacity(count)
                for _ in 0..<count {
                    let low = UInt16(try source.byte()), high = UInt16(try source.byte())
                    fingerprints.append(low | high << 8)
                }
                segments.append(TraceSegment(block: block, ordinal: ordinal, fingerprints: fingerprints))
            }
            return segments
        }
    }
}
