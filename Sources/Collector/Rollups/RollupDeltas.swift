import PeriscopeTelemetry

/// What some spans and counter points add to the rollups, at minute grain: request counts,
/// latency sketches and error types per (service, operation, minute), and good/total counts
/// per (SLO, minute). A batch's deltas go to the partition's rollup journal in the batch's
/// own transaction; `RollupWriter` later merges many batches' deltas into the rollup rows at
/// once, so each row is rewritten once per flush instead of once per batch.
struct RollupDeltas: Equatable, Sendable {
    struct Key: Hashable, Sendable {
        var service: String
        var operation: String
        var minute: Int64
    }

    struct Requests: Equatable, Sendable {
        var requests = 0
        var errors = 0
        var ok = LatencySketch()
        var failed = LatencySketch()
        var errorTypes: [String: Int] = [:]

        mutating func merge(_ other: Requests) {
            requests += other.requests
            errors += other.errors
            ok.merge(other.ok)
            failed.merge(other.failed)
            for (type, count) in other.errorTypes { errorTypes[type, default: 0] += count }
        }
    }

    struct SLOKey: Hashable, Sendable {
        var slo: String
        var minute: Int64
    }

    struct Counts: Equatable, Sendable {
        var total = 0.0
        var good = 0.0
    }

    var requests: [Key: Requests] = [:]
    var slo: [SLOKey: Counts] = [:]

    var isEmpty: Bool { requests.isEmpty && slo.isEmpty }

    init() {}

    /// The requests among `spans` (server and consumer spans), per operation and per service
    /// (operation `""`), and their verdicts for every span-based SLO.
    init(spans: [(service: String, span: Span)], objectives: [ServiceLevelObjective]) {
        for (service, span) in spans where RequestClassification.isRequest(span) {
            let minute = Resolution.minute.bucket(span.startTimeUnixNano)
            let errorType = RequestClassification.errorType(span)
            for operation in [span.name, ""] {
                let key = Key(service: service, operation: operation, minute: minute)
                requests[key, default: Requests()].requests += 1
                if let errorType {
                    requests[key]!.errors += 1
                    requests[key]!.failed.add(span.durationNanos)
                    requests[key]!.errorTypes[errorType, default: 0] += 1
                } else {
                    requests[key]!.ok.add(span.durationNanos)
                }
            }
            for objective in objectives {
                guard let good = objective.isGood(span, service: service, failed: errorType != nil) else { continue }
                let key = SLOKey(slo: objective.name, minute: minute)
                slo[key, default: Counts()].total += 1
                if good { slo[key]!.good += 1 }
            }
        }
    }

    /// Ratio SLOs: increments of their good and total counters.
    init(ratioIncrements: [(slo: String, minute: Int64, good: Double, total: Double)]) {
        for increment in ratioIncrements {
            let key = SLOKey(slo: increment.slo, minute: increment.minute)
            slo[key, default: Counts()].good += increment.good
            slo[key, default: Counts()].total += increment.total
        }
    }

    mutating func merge(_ other: RollupDeltas) {
        for (key, delta) in other.requests { requests[key, default: Requests()].merge(delta) }
        for (key, counts) in other.slo {
            slo[key, default: Counts()].total += counts.total
            slo[key, default: Counts()].good += counts.good
        }
    }

    // MARK: - Journal encoding

    /// Varints and length-prefixed strings and sketches; read back by `init(encoded:)`.
    var encoded: [UInt8] {
        var out = [UInt8]()
        Varint.append(UInt64(requests.count), to: &out)
        for (key, delta) in requests {
            Self.append(key.service, to: &out)
            Self.append(key.operation, to: &out)
            Varint.append(UInt64(bitPattern: key.minute), to: &out)
            Varint.append(UInt64(delta.requests), to: &out)
            Varint.append(UInt64(delta.errors), to: &out)
            Self.append(delta.ok.encoded, to: &out)
            Self.append(delta.failed.encoded, to: &out)
            Varint.append(UInt64(delta.errorTypes.count), to: &out)
            for (type, count) in delta.errorTypes {
                Self.append(type, to: &out)
                Varint.append(UInt64(count), to: &out)
            }
        }
        Varint.append(UInt64(slo.count), to: &out)
        for (key, counts) in slo {
            Self.append(key.slo, to: &out)
            Varint.append(UInt64(bitPattern: key.minute), to: &out)
            Varint.append(counts.total.bitPattern, to: &out)
            Varint.append(counts.good.bitPattern, to: &out)
        }
        return out
    }

    struct DamagedJournal: Error, CustomStringConvertible {
        var description: String { "a rollup journal entry is damaged; its deltas are skipped" }
    }

    init(encoded bytes: [UInt8]) throws(DamagedJournal) {
        var reader = Reader(bytes: bytes)
        for _ in 0..<(try reader.count()) {
            let key = Key(service: try reader.string(), operation: try reader.string(), minute: Int64(bitPattern: try reader.varint()))
            var delta = Requests()
            delta.requests = Int(try reader.varint())
            delta.errors = Int(try reader.varint())
            delta.ok = LatencySketch(encoded: try reader.bytes())
            delta.failed = LatencySketch(encoded: try reader.bytes())
            for _ in 0..<(try reader.count()) { delta.errorTypes[try reader.string(), default: 0] += Int(try reader.varint()) }
            requests[key, default: Requests()].merge(delta)
        }
        for _ in 0..<(try reader.count()) {
            let key = SLOKey(slo: try reader.string(), minute: Int64(bitPattern: try reader.varint()))
            slo[key, default: Counts()].total += Double(bitPattern: try reader.varint())
            slo[key, default: Counts()].good += Double(bitPattern: try reader.varint())
        }
    }

    private static func append(_ text: String, to out: inout [UInt8]) { append(Array(text.utf8), to: &out) }

    private static func append(_ bytes: [UInt8], to out: inout [UInt8]) {
        Varint.append(UInt64(bytes.count), to: &out)
        out += bytes
    }

    private struct Reader {
        let data: [UInt8]
        var position = 0

        init(bytes: [UInt8]) { data = bytes }

        mutating func varint() throws(DamagedJournal) -> UInt64 {
            guard let value = Varint.read(data, &position) else { throw DamagedJournal() }
            return value
        }

        mutating func count() throws(DamagedJournal) -> Int {
            let value = try varint()
            guard value <= UInt64(data.count - position) else { throw DamagedJournal() }
            return Int(value)
        }

        mutating func bytes() throws(DamagedJournal) -> [UInt8] {
            let length = try count()
            defer { position += length }
            return Array(data[position..<(position + length)])
        }

        mutating func string() throws(DamagedJournal) -> String { String(decoding: try bytes(), as: UTF8.self) }
    }
}
