import PeriscopeModel

/// How many elements (spans, records, points, attributes, values…) a request decodes to, counted
/// on its bytes before the generic decoder builds anything (the direct readers count as they
/// build, `ElementTally`), so that `OTLPLimits.maxElementsPerRequest` holds whichever decoder
/// runs: an element can cost 2 bytes on the wire and tens of bytes once decoded.
///
/// Protobuf is read by the requests' shape (`OTLPMessageShape`), which also refuses what would
/// make the generic decoder's time grow with the square of the request: a message field that is
/// not repeated, or a packed run of numbers, sent again and again in the same message. Protobuf says to
/// merge the copies, and SwiftProtobuf merges a `oneof` message (a metric's data, an array or
/// key-value list value) by copying what it holds so far, and grows a packed array by exactly
/// each further run, copying it every time.
enum ElementCount {
    /// Deeper than any OTLP message goes with values nested `OTLPLimits.maxValueDepth` deep (up to
    /// three levels a value, `AnyValue`, `KeyValueList`, `KeyValue`, below nine of request, groups,
    /// metric, point and exemplar). Messages nested deeper are refused, here and by the generic
    /// decoder.
    static let maxDepth = 64

    /// Copies of one message field, or packed runs of one repeated number, in one message.
    /// Exporters write one; protobuf lets a stream be written in parts (and says to merge or
    /// join them), and a few cost the decoder a few times the work.
    static let maxCopies: UInt64 = 8

    /// Refuses `bytes`, a request of `signal`, when it holds more than `limit` elements, or (as
    /// protobuf) a field the decoder would merge.
    static func check(_ bytes: [UInt8], signal: Signal, format: OTLPFormat, limit: Int) throws(OTLPError) {
        let count: Result<Int, OTLPError> = bytes.withUnsafeBytes { buffer in
            guard format == .protobuf else { return .success(jsonElements(in: buffer, limit: limit)) }
            do throws(OTLPError) {
                return .success(try protobufElements(in: buffer, signal: signal, limit: limit))
            } catch {
                return .failure(error)
            }
        }
        guard try count.get() <= limit else {
            throw OTLPError(.invalid, "the request holds more than \(limit) elements (spans, records, points, attributes and "
                + "values together): send smaller batches")
        }
    }

    /// The messages a decoder builds from `buffer`, a protobuf request of `signal`, and the values
    /// of its repeated numbers; once past `limit`, a count past it. Counts add up: a concatenation
    /// of requests counts their sum.
    static func protobufElements(in buffer: UnsafeRawBufferPointer, signal: Signal, limit: Int) throws(OTLPError) -> Int {
        let root = OTLPMessageShape(request: signal)
        var scan = ShapeScan(limit: limit)
        do throws(ShapeScan.Stop) {
            try scan.message(buffer, root, depth: 0)
        } catch {
            switch error {
            case .pastLimit:
                break
            case .tooDeep:
                throw OTLPError(.malformed, "invalid protobuf \(root.protoName): messages nested more than \(maxDepth) deep")
            case .malformed(let shape):
                throw OTLPError(.malformed, "invalid protobuf \(root.protoName): a malformed \(shape.protoName)")
            case .repeated(let shape, let field):
                throw OTLPError(.invalid, "\(shape.protoName).\(field) comes more than \(maxCopies) times in one message; an OTLP "
                    + "exporter writes it once (the decoder copies what it holds for each further copy): write it once")
            }
        }
        return scan.count
    }

    /// One request's walk through its messages, in the order a decoder reads them.
    private struct ShapeScan {
        enum Stop: Error {
            case pastLimit, tooDeep
            case malformed(OTLPMessageShape)
            case repeated(OTLPMessageShape, field: String)
        }

        let limit: Int
        /// At most the bytes read so far: every element takes at least one.
        private(set) var count = 0

        init(limit: Int) {
            self.limit = limit
        }

        mutating func message(_ buffer: UnsafeRawBufferPointer, _ shape: OTLPMessageShape, depth: Int) throws(Stop) {
            var reader = ProtobufReader(buffer)
            // Copies so far of each message field and packed run, 4 bits a field number (every such number is below 16).
            var seen: UInt64 = 0
            while let field = reader.field() {
                switch (shape.field(field.number), field.wireType) {
                case (.message(let inner, let name)?, 2):
                    try once(field, name, &seen, in: shape)
                    try nested(&reader, inner, in: shape, depth: depth)
                case (.messages(let inner)?, 2):
                    try nested(&reader, inner, in: shape, depth: depth)
                case (.fixedNumbers(let name)?, 2):
                    try once(field, name, &seen, in: shape)
                    guard let values = reader.lengthDelimited() else { throw .malformed(shape) }
                    try add(values.count / 8)
                case (.varintNumbers(let name)?, 2):
                    try once(field, name, &seen, in: shape)
                    guard let values = reader.lengthDelimited() else { throw .malformed(shape) }
                    try add(values.reduce(0) { $0 + ($1 < 0x80 ? 1 : 0) })
                case (.fixedNumbers?, 1), (.varintNumbers?, 0):
                    guard reader.skip(field) else { throw .malformed(shape) }
                    try add(1)
                default:
                    // Bytes, scalars, unknown fields, and known fields in a wire type not theirs: the decoder keeps
                    // them as bytes or skips them.
                    guard Self.skip(field, &reader, depth: depth) else { throw .malformed(shape) }
                }
            }
            if reader.failed { throw .malformed(shape) }
        }

        /// Counts a copy of `field` in this message; refuses one past `ElementCount.maxCopies`.
        private func once(_ field: ProtobufReader.Field, _ name: String, _ seen: inout UInt64, in shape: OTLPMessageShape) throws(Stop) {
            let shift = UInt64(field.number & 15) * 4
            guard (seen >> shift) & 0xF < ElementCount.maxCopies else { throw .repeated(shape, field: name) }
            seen += 1 << shift
        }

        private mutating func nested(_ reader: inout ProtobufReader, _ inner: OTLPMessageShape, in shape: OTLPMessageShape, depth: Int) throws(Stop) {
            guard let content = reader.lengthDelimited() else { throw .malformed(shape) }
            try add(1)
            guard depth < ElementCount.maxDepth else { throw .tooDeep }
            try message(content, inner, depth: depth + 1)
        }

        private mutating func add(_ elements: Int) throws(Stop) {
            count += elements
            if count > limit { throw .pastLimit }
        }

        /// Skips a field; a group (wire type 3, kept as an unknown field) to its own end tag. False
        /// when malformed: a stray end tag, another field's, none, or groups nested past `maxDepth`.
        private static func skip(_ field: ProtobufReader.Field, _ reader: inout ProtobufReader, depth: Int) -> Bool {
            guard field.wireType == 3 else { return reader.skip(field) }
            guard depth < ElementCount.maxDepth else { return false }
            while let inner = reader.field() {
                if inner.wireType == 4 { return inner.number == field.number }
                guard skip(inner, &reader, depth: depth + 1) else { return false }
            }
            return false
        }
    }

    /// OTLP/JSON's elements: every `{` outside strings (every message is an object), and every
    /// value of an array that is not an object (the repeated numbers: `bucketCounts`,
    /// `explicitBounds`…, written as numbers or strings), as protobuf's repeated numbers are
    /// counted. Stops once past `limit`.
    static func jsonElements(in buffer: UnsafeRawBufferPointer, limit: Int) -> Int {
        var count = 0
        var inString = false
        var escaped = false
        // Which open containers are arrays, innermost last; past `maxTrackedDepth` (deeper than
        // the decoder goes) every value is counted.
        var arrays: [Bool] = []
        var untracked = 0
        // The next byte that is not blank begins a value of the innermost array.
        var valueDue = false
        for byte in buffer {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                continue
            default:
                break
            }
            if valueDue {
                valueDue = false
                if byte != UInt8(ascii: "{") && byte != UInt8(ascii: "]") {
                    count += 1
                    if count > limit { return count }
                }
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isArray = byte == UInt8(ascii: "[")
                if arrays.count < maxTrackedDepth, untracked == 0 { arrays.append(isArray) } else { untracked += 1 }
                if isArray {
                    valueDue = true
                } else {
                    count += 1
                    if count > limit { return count }
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if untracked > 0 { untracked -= 1 } else if !arrays.isEmpty { arrays.removeLast() }
            case UInt8(ascii: ","):
                valueDue = untracked > 0 || arrays.last == true
            default:
                break
            }
        }
        return count
    }

    /// Containers deep the OTLP/JSON scan tells arrays from objects.
    private static let maxTrackedDepth = 256
}

/// What a direct reader has built of one request (spans, events, links, records, attributes,
/// array values): past `OTLPLimits.maxElementsPerRequest` it leaves the request to the generic
/// path, whose `ElementCount` (which counts at least as many) refuses it. One request at a time.
final class ElementTally {
    private var count = 0
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Counts one more element; false once past the limit.
    func add() -> Bool {
        count += 1
        return count <= limit
    }

    func reset() { count = 0 }
}
