/// Why an OTLP payload was refused. The message is meant for the client's log: it names
/// the field and the rule, so the sender knows what to fix.
public struct OTLPError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The bytes are not a valid message of the expected type.
        case malformed
        /// The message parsed but breaks an OTLP rule or a configured limit.
        case invalid
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
