import Foundation
import PeriscopeDelivery

/// What must hold for any text given as a time, a duration, a size, a `Retry-After` or a URL
/// to show — in a query string, a flag, a config file, a log line or an HTTP answer: it is read
/// or refused, never trapped on; a time written by `TimestampText.rfc3339(unixNano:)` reads back
/// to the same nanosecond; and a password given as `USER:PASSWORD@` before the text never shows
/// in `EndpointURL.redacted`. Driven by libFuzzer from the fuzz package and replayed in the tests; a broken
/// property stops the process with a message naming it.
public enum TextFuzzing {
    public static func check(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        _ = input.withMemoryRebound(to: UInt8.self) { TimestampText.unixNano(utf8: $0) }
        _ = TimestampText.unixNano(.string(text))
        _ = TimestampText.unixNano(nanosOrRFC3339: text)
        _ = DurationText.nanos(text)
        _ = DurationText.parse(text)
        _ = ByteSizeText.parse(text)
        _ = RetryPolicy.retryAfter(text, now: Date(timeIntervalSince1970: 1_714_564_800))
        let secret = "fuzz-secret-\(input.count)"
        if !text.contains(secret) {
            for url in ["http://u:\(secret)@" + text, "u:\(secret)@" + text] {
                for hidingUser in [true, false] {
                    let shown = EndpointURL.redacted(url, hidingUser: hidingUser)
                    precondition(!shown.contains(secret), "\(url) shows its password: \(shown)")
                }
            }
        }
        guard input.count >= 8 else { return }
        var nanos: UInt64 = 0
        for index in 0..<8 { nanos = nanos << 8 | UInt64(input[index]) }
        let written = TimestampText.rfc3339(unixNano: nanos)
        precondition(TimestampText.rfc3339(written) == nanos, "\(written) does not read back as \(nanos)")
        precondition(TimestampText.unixNano(nanosOrRFC3339: String(nanos)) == nanos, "\(nanos) as digits does not read back")
        let seconds = Int64(bitPattern: nanos) >> 1
        _ = TimestampText.epoch(Double(seconds), exact: seconds)
        _ = TimestampText.epoch(Double(bitPattern: nanos), exact: nil)
    }
}
