#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import PeriscopeModel

/// Builds the OTLP `Resource` describing this process: who is sending the telemetry.
public enum ProcessResource {
    /// `service.name`, a fresh random `service.instance.id`, `host.name`, the `telemetry.sdk.*`
    /// attributes, then the user's attributes (sorted; they may not override `service.name`).
    public static func make(serviceName: String, attributes: [String: String] = [:]) -> Resource {
        var extra = [
            Attribute("telemetry.sdk.name", .string("periscope")),
            Attribute("telemetry.sdk.language", .string("swift")),
            Attribute("telemetry.sdk.version", .string(PeriscopeVersion.current)),
        ]
        let reserved = Set([ResourceKey.serviceName, ResourceKey.serviceInstanceID, ResourceKey.hostName]
            + extra.map(\.key))
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) where !reserved.contains(key) {
            extra.append(Attribute(key, .string(value)))
        }
        let instanceID = attributes[ResourceKey.serviceInstanceID] ?? randomUUID()
        let host = attributes[ResourceKey.hostName] ?? hostName()
        return Resource(serviceName: serviceName, instanceID: instanceID, hostName: host, attributes: extra)
    }

    /// The kernel's host name, or `nil` if it cannot be read.
    static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? nil : name
    }

    /// A random (version 4) UUID in its usual lowercase text form.
    static func randomUUID() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let hex = Hex.encode(bytes)
        let characters = Array(hex)
        let groups = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }
        return groups.joined(separator: "-")
    }
}
