import Foundation
@testable import PeriscopeAgent
import PeriscopeTelemetry
import Testing

@Suite("Tail: redaction")
struct TailRedactionTests {
    @Test("defaults: e-mail, card numbers, bearer tokens, passwords/secrets/tokens in key=value; counted per rule")
    func defaults() {
        let redactor = Redactor(rules: [], includeDefaults: true)
        #expect(redactor.redact("mail bob.smith+x@example.co.uk now") == "mail [REDACTED_EMAIL] now")
        #expect(redactor.redact("card 4111 1111 1111 1111 ok") == "card [REDACTED_CARD] ok")
        #expect(redactor.redact("card 4111-1111-1111-1111") == "card [REDACTED_CARD]")
        #expect(redactor.redact("pan=4111111111111") == "pan=[REDACTED_CARD]")
        #expect(redactor.redact("order 123456789012 of 2024") == "order 123456789012 of 2024", "12 digits are not a card")
        #expect(redactor.redact("Authorization: Bearer eyJhbGciOi.J9x_y-z") == "Authorization: Bearer [REDACTED]")
        #expect(redactor.redact("login user=bob password=hunter2 next") == "login user=bob password=[REDACTED] next")
        #expect(redactor.redact(#"passwd: "a b c", secret='s', token=abc&x=1"#) == #"passwd: [REDACTED], secret=[REDACTED], token=[REDACTED]&x=1"#)
        #expect(redactor.redact("nothing to see") == "nothing to see")
        let counts = redactor.redactionsByRule
        #expect(counts["email"] == 1 && counts["card_number"] == 3 && counts["bearer_token"] == 1 && counts["password"] == 4)
        #expect(redactor.totalRedactions == 9)
    }

    @Test("the byte pre-checks never skip a text the default expressions match (20,000 random texts)")
    func prefiltersAreSound() throws {
        let pieces = ["4111", " ", "-", "1", "99", "@", "a.b", ".com", "BeArEr ", "token", "PASS", "word", "=", ": ", "x", "pwd", "Api_Key", "secret", "\"q\"", ","]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 1...14, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            for (rule, defaults) in zip(Redactor(rules: [], includeDefaults: true).rules, Redactor.defaultRules) {
                let expression = try NSRegularExpression(pattern: defaults.pattern)
                let matches = expression.numberOfMatches(in: text, range: NSRange(text.startIndex..., in: text)) > 0
                #expect(!matches || rule.prefilter.mayMatch(text), "\(rule.name) pre-check skipped a match in \(text)")
            }
        }
    }

    @Test("custom rules, defaults off; bodies and string attributes (nested too) of records")
    func customRules() {
        let redactor = Redactor(rules: [RedactionRule(name: "ssn", pattern: #"\d{3}-\d{2}-\d{4}"#, replacement: "[SSN]")], includeDefaults: false)
        var record = LogRecord(timeUnixNano: 0, body: .string("ssn 123-45-6789 bob@example.com"), attributes: [
            Attribute("a", .string("123-45-6789")), Attribute("n", .int(5)),
            Attribute("kv", .keyValueList([Attribute("deep", .array([.string("x 987-65-4321")]))])),
        ])
        redactor.redact(&record)
        #expect(record.body == .string("ssn [SSN] bob@example.com"))
        #expect(record.attributes["a"] == .string("[SSN]"))
        #expect(record.attributes["kv"] == .keyValueList([Attribute("deep", .array([.string("x [SSN]")]))]))
        #expect(redactor.redactionsByRule == ["ssn": 3])
    }

    @Test("the tailer redacts before hand-off and counts it")
    func inTheTailer() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(scratch, sink: sink)
        try scratch.append("a.log", #"{"msg":"reset for ann@example.org","user":"ann@example.org"}"# + "\n")
        await engine.poll()
        #expect(sink.records.first?.body == .string("reset for [REDACTED_EMAIL]"))
        #expect(sink.records.first?.attributes["user"] == .string("[REDACTED_EMAIL]"))
        #expect(await engine.statistics.redactions == 2)
    }
}
