import Synchronization

/// Trace and span IDs without a system call each: a process-wide 64-bit sequence, seeded once
/// from the system's random source, stepped atomically and mixed with SplitMix64's finaliser.
/// Distinct for 2⁶⁴ draws and uniformly spread, which is what W3C trace context and
/// ratio sampling on the trace ID's low bits need; not meant for secrets.
public struct IDGenerator: RandomNumberGenerator, Sendable {
    private static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15
    private static let state = Atomic<UInt64>({
        var system = SystemRandomNumberGenerator()
        return system.next()
    }())

    public init() {}

    public mutating func next() -> UInt64 {
        var z = Self.state.wrappingAdd(Self.golden, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
