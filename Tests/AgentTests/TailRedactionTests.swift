import Foundation
@testable import PeriscopeAgent
import PeriscopeLogLines
import PeriscopeModel
import Testing

@Suite("Tail: redaction")
struct TailRedactionTests {
    @Test("defaults: e-mail, card numbers, bearer tokens, passwords/secrets/tokens in key=value; counted per rule")
    func defaults() {
        let redactor = Redactor(rules: [], includeDefaults: true)
        #expect(redactor.redact("mail bob.smith+x@example.co.uk now") == "mail [REDACTED_EMAIL] now")
        #expect(redactor.redact("card 4111 1111 1111 1111 ok") == "card [REDACTED_CARD] ok")
        #expect(redactor.redact("card 4111-1111-1111-1111") == "card [REDACTED_CARD]")
        #expect(redactor.redact("pan=4222222222222") == "pan=[REDACTED_CARD]")
        // Long digit runs that fail the card checksum (a nanosecond timestamp, a numeric ID) stay.
        #expect(redactor.redact("at 1733150000123456789 id 4111111111111112") == "at 1733150000123456789 id 4111111111111112")
        #expect(redactor.redact("order 123456789012 of 2024") == "order 123456789012 of 2024", "12 digits are not a card")
        #expect(redactor.redact("Authorization: Bearer eyJhbGciOi.J9x_y-z") == "Authorization: Bearer [REDACTED]")
        #expect(redactor.redact("login user=bob password=hunter2 next") == "login user=bob password=[REDACTED] next")
        #expect(redactor.redact(#"passwd: "a b c", secret='s', token=abc&x=1"#) == #"passwd: [REDACTED], secret=[REDACTED], token=[REDACTED]&x=1"#)
        #expect(redactor.redact("nothing to see") == "nothing to see")
        let counts = redactor.redactionsByRule
        #expect(counts["email"] == 1 && counts["card_number"] == 3 && counts["bearer_token"] == 1 && counts["password"] == 4)
        #expect(redactor.totalRedactions == 9)
    }

    @Test("the e-mail rule matches as the plain expression does (20,000 random texts), and hostile 1 MiB values do not hang it")
    func emailRuleLinear() throws {
        let plain = try NSRegularExpression(pattern: #"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"#)
        let rule = try NSRegularExpression(pattern: Redactor.defaultRules[0].pattern)
        let pieces = ["a", "b.", "@", "x.co", ".", "-", "+", "é", " ", "99", "@@", "%", "mail", ".org", ",", "Z", "7"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 1...16, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let range = NSRange(text.startIndex..., in: text)
            #expect(rule.matches(in: text, range: range).map(\.range) == plain.matches(in: text, range: range).map(\.range), "\(text)")
        }
        // Each took hours with the plain expression (quadratic: 120 KB took 2 minutes); a bound far
        // above linear time guards against the quadratic one coming back.
        let redactor = Redactor(rules: [], includeDefaults: true)
        let megabyte = 1 << 20
        for text in [
            String(repeating: "7", count: megabyte), "a@" + String(repeating: "y", count: megabyte), String(repeating: "a@y.", count: megabyte / 4),
            String(repeating: "a@x.co7", count: megabyte / 7),
        ] {
            let started = ContinuousClock.now
            _ = redactor.redact(text)
            #expect(ContinuousClock.now - started < .seconds(30), "\(text.prefix(8))…")
        }
    }

    @Test("the byte pre-checks never skip a text the default expressions match, and the one-pass check of all rules is their union (20,000 random texts)")
    func prefiltersAreSound() throws {
        let pieces = ["4111", " ", "-", "1", "99", "@", "a.b", ".com", "BeArEr ", "token", "PASS", "word", "=", ": ", "x", "pwd", "Api_Key", "secret", "\"q\"", ",", "p", "T"]
        var generator = SystemRandomNumberGenerator()
        let redactor = Redactor(rules: [], includeDefaults: true)
        let expressions = try Redactor.defaultRules.map { try NSRegularExpression(pattern: $0.pattern) }
        for _ in 0..<20_000 {
            var text = (0..<Int.random(in: 1...14, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            for (rule, expression) in zip(redactor.rules, expressions) {
                let matches = expression.numberOfMatches(in: text, range: NSRange(text.startIndex..., in: text)) > 0
                #expect(!matches || rule.prefilter.mayMatch(text), "\(rule.name) pre-check skipped a match in \(text)")
            }
            let any = redactor.rules.contains { $0.prefilter.mayMatch(text) }
            #expect(text.withUTF8 { redactor.mayMatch($0) } == any, "one-pass check of \(text)")
        }
        let custom = Redactor(rules: [RedactionRule(name: "x", pattern: "x", replacement: "")], includeDefaults: true)
        #expect(Array("nothing".utf8).withUnsafeBufferPointer { custom.mayMatch($0) }, "a rule without a pre-check may match anything")
    }

    @Test("custom rules, defaults off; bodies and string attributes (nested too) of records")
    func customRules() {
        let redactor = Redactor(rules: [RedactionRule(name: "ssn", pattern: #"\d{3}-\d{2}-\d{4}"#, replacement: "[SSN]")], includeDefaults: false)
        let line = #"{"msg":"ssn 123-45-6789 bob@example.com","a":"123-45-6789","n":5,"kv":{"deep":["x 987-65-4321"]},"list":[{"id":"111-22-3333"}]}"#
        let record = TailTesting.records([line], redactor: redactor)[0]
        #expect(record.body == .string("ssn [SSN] bob@example.com"))
        #expect(record.attributes["a"] == .string("[SSN]"))
        #expect(record.attributes["n"] == .int(5))
        #expect(record.attributes["kv.deep"] == .array([.string("x [SSN]")]))
        #expect(record.attributes["list"] == .array([.keyValueList([Attribute("id", .string("[SSN]"))])]))
        #expect(redactor.redactionsByRule == ["ssn": 4])
    }

    @Test("secrets hidden behind JSON escapes, in correlation IDs, whole unparsed lines and file paths are redacted too")
    func everyString() {
        let redactor = Redactor(rules: [], includeDefaults: true)
        let records = TailTesting.records([
            #"{"msg":"to ann\u0040example.org","request_id":4111111111111111,"user":"bob\/x@example.com"}"#,
            #"not json, password=hunter2"#,
            #"{"msg":"clean","level":"info"}"#,
        ], redactor: redactor)
        #expect(records[0].body == .string("to [REDACTED_EMAIL]"))
        #expect(records[0].attributes["correlation_id"] == .string("[REDACTED_CARD]"))
        #expect(records[0].attributes["user"] == .string("bob/[REDACTED_EMAIL]"))
        #expect(records[1].body == .string("not json, password=[REDACTED]"))
        #expect(records[2].body == .string("clean"))
        #expect(redactor.redactionsByRule == ["email": 2, "card_number": 1, "bearer_token": 0, "password": 1])
        let pathRedactor = Redactor(rules: [RedactionRule(name: "app", pattern: "app", replacement: "x")], includeDefaults: false)
        let tagged = TailTesting.records([#"{"msg":"a"}"#, #"{"msg":"b"}"#], redactor: pathRedactor)
        #expect(tagged.map { $0.attributes["log.file.name"] } == [.string("x.log"), .string("x.log")])
        #expect(pathRedactor.totalRedactions == 4, "both file attributes of both records")
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
