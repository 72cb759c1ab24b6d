import PeriscopeModel
import PeriscopeOTLP

/// One input from libFuzzer. The first byte picks the signal and the format; the rest is the
/// request body. A decoder may refuse the body (a typed `OTLPError` with a message) but must
/// never crash, and what it accepts must survive a protobuf round trip unchanged. For protobuf,
/// the direct span and log readers must agree with the generic decoder or leave the body to it.
/// The body is also read as an export's answer (partial success, error status).
func otlpDecodeFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let signal: Signal = [.traces, .logs, .metrics][Int(selector % 3)]
    let format: OTLPFormat = (selector / 3) % 2 == 0 ? .protobuf : .json
    if format == .protobuf, case .disagree(let difference) = DirectReaderCheck.check(signal, body) {
        preconditionFailure("a direct reader disagrees with the generic decoder: \(difference)")
    }
    // The same bytes as a collector's answer (what the agent reads for partial success): a count
    // above zero or nothing, never a trap.
    if let partial = OTLPDecoder.partialSuccess(body, signal: signal, format: format) {
        precondition(partial.rejected > 0, "a partial success rejects something")
    }
    _ = OTLPDecoder.statusMessage(body, format: format)
    let decoder = OTLPDecoder()
    let now: UInt64 = 1_800_000_000_000_000_000
    let decoded: OTLPDecoder.Result
    do {
        decoded = try decoder.decode(signal, body, format: format, nowUnixNano: now)
    } catch {
        precondition(!error.message.isEmpty, "a refusal must say why")
        return 0
    }
    let reencoded = OTLPEncoder.encode(decoded.batch, format: .protobuf)
    guard let again = try? decoder.decode(signal, reencoded, format: .protobuf, nowUnixNano: now) else {
        preconditionFailure("an accepted \(signal) request no longer decodes after re-encoding")
    }
    // Compared as bytes and as text: a NaN value (a legal gauge or sum) is not equal to itself as
    // a Double, and a field the encoder dropped would leave the bytes alike.
    precondition(
        OTLPEncoder.encode(again.batch, format: .protobuf) == reencoded && String(reflecting: again.batch) == String(reflecting: decoded.batch),
        "an accepted \(signal) request changed in a protobuf round trip")
    return 0
}
