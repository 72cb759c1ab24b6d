import Instrumentation
import ServiceContextModule

/// W3C Baggage: application-defined key/value pairs that travel with a request across
/// services in the `baggage` header, next to `traceparent`.
/// See https://www.w3.org/TR/baggage/
///
/// swift-w3c-trace-context has no baggage support, so this is a small codec of our own. It
/// keeps entry order, passes properties (`;key=value` after an entry) through untouched, and
/// enforces the spec's limits (64 entries, 8192 bytes) so a hostile header costs little.
public struct Baggage: Hashable, Sendable {
    /// One `key=value;properties` member.
    public struct Entry: Hashable, Sendable {
        /// The key, a W3C token.
        public var key: String
        /// The value, percent-decoded.
        public var value: String
        /// The raw properties after the value (`;p1;p2=x`), passed on untouched; empty if none.
        public var properties: String

        /// An entry; `properties` is the raw text after the value, without the leading `;`.
        public init(key: String, value: String, properties: String = "") {
            self.key = key
            self.value = value
            self.properties = properties
        }
    }

    /// The header that carries baggage.
    public static let headerName = "baggage"
    /// At most this many entries are kept, as the spec requires propagators to support.
    public static let maxEntries = 64
    /// Headers longer than this (in bytes) are ignored whole.
    public static let maxHeaderBytes = 8192

    /// The entries in header order; keys are unique.
    public private(set) var entries: [Entry]

    /// Empty baggage.
    public init() {
        entries = []
    }

    /// Baggage holding `entries`; a repeated key keeps its last value.
    public init(_ entries: [Entry]) {
        self.entries = []
        for entry in entries { self[entry.key] = entry.value }
    }

    /// `true` when there are no entries.
    public var isEmpty: Bool { entries.isEmpty }

    /// The value for `key`; setting `nil` removes the entry, setting a value replaces it in place.
    public subscript(key: String) -> String? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue, entries.count < Self.maxEntries {
                entries.append(Entry(key: key, value: newValue))
            }
        }
    }

    // MARK: Codec

    /// Parses a `baggage` header value. Malformed members are skipped (the rest is kept), as the
    /// spec allows; an over-long header yields empty baggage.
    public init(headerValue: String) {
        self.init()
        guard headerValue.utf8.count <= Self.maxHeaderBytes else { return }
        for member in headerValue.split(separator: ",", omittingEmptySubsequences: true) {
            guard entries.count < Self.maxEntries else { break }
            let parts = member.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)
            guard let pair = parts.first, let equals = pair.firstIndex(of: "=") else { continue }
            let key = pair[..<equals].trimmingOWS()
            let rawValue = pair[pair.index(after: equals)...].trimmingOWS()
            guard !key.isEmpty, key.utf8.allSatisfy(Self.isTokenByte),
                  let value = Self.percentDecode(rawValue)
            else { continue }
            let properties = parts.count > 1 ? String(parts[1].trimmingOWS()) : ""
            if let index = entries.firstIndex(where: { $0.key == key }) {
                entries[index] = Entry(key: String(key), value: value, properties: properties)
            } else {
                entries.append(Entry(key: String(key), value: value, properties: properties))
            }
        }
    }

    /// The `baggage` header value: `k1=v1,k2=v2;prop`, values percent-encoded.
    public var headerValue: String {
        var out = ""
        for entry in entries {
            if !out.isEmpty { out += "," }
            out += entry.key
            out += "="
            out += Self.percentEncode(entry.value)
            if !entry.properties.isEmpty {
                out += ";"
                out += entry.properties
            }
        }
        return out
    }

    /// RFC 7230 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// `baggage-octet` bytes go out as they are; everything else (and `%`) is percent-encoded.
    static func percentEncode(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            let plain = byte == 0x21 || (0x23...0x2B).contains(byte) || (0x2D...0x3A).contains(byte)
                || (0x3C...0x5B).contains(byte) || (0x5D...0x7E).contains(byte)
            if plain && byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return out
    }

    /// Decodes `%XX` escapes; `nil` for a broken escape or bytes that are not UTF-8.
    static func percentDecode(_ value: Substring) -> String? {
        guard value.utf8.contains(UInt8(ascii: "%")) else { return String(value) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count)
        var iterator = value.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// The `ServiceContext` key under which Periscope keeps the request's W3C baggage.
public enum BaggageKey: ServiceContextKey {
    /// The stored value.
    public typealias Value = Baggage
    /// The name shown when a context is printed.
    public static var nameOverride: String? { "periscope-baggage" }
}

extension ServiceContext {
    /// The W3C baggage received with (or added to) this request, passed on to downstream calls.
    /// The correlation ID travels in it as `correlation_id`, but is read through `correlationID`.
    public var baggage: Baggage? {
        get { self[BaggageKey.self] }
        set { self[BaggageKey.self] = newValue }
    }
}

extension Substring {
    /// Trims optional white space (spaces and tabs), as HTTP list members allow.
    fileprivate func trimmingOWS() -> Substring {
        var slice = self
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return slice
    }
}
