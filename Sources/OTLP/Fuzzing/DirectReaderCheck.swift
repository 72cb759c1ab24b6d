import PeriscopeModel

/// Compares the direct protobuf readers (`OTLPTraceReader`, `OTLPLogsReader`) with the generic
/// decoder on one input, for the fuzz targets and the mutation tests: a direct reader must give
/// the generic decoder's batch, or leave the input to it.
public enum DirectReaderCheck {
    public enum Outcome: Equatable, Sendable {
        /// The direct reader answered the generic decoder's batch.
        case agree
        /// The direct reader left the input to the generic decoder (or the signal has none).
        case leftToGeneric
        /// The direct reader answered something else: a bug.
        case disagree(String)
    }

    public static func check(
        _ signal: Signal, _ bytes: [UInt8], limits: OTLPLimits = .default, nowUnixNano: UInt64 = 1_800_000_000_000_000_000
    ) -> Outcome {
        let decoder = OTLPDecoder(limits: limits)
        guard let direct = decoder.direct(signal, bytes, nowUnixNano: nowUnixNano) else { return .leftToGeneric }
        guard let generic = try? decoder.generic(signal, bytes, format: .protobuf, nowUnixNano: nowUnixNano).batch else {
            return .disagree("the direct reader accepted what the generic decoder refuses")
        }
        // Byte for byte: `==` would call 0.0 and -0.0, or canonically equivalent strings, the
        // same, and a NaN (which a mutation can make) different from itself.
        if OTLPEncoder.encode(direct) == OTLPEncoder.encode(generic) { return .agree }
        return .disagree("direct \(direct) vs generic \(generic)")
    }
}
