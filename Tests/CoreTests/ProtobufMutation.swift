import PeriscopeTesting

/// Damages a valid request the way the direct-reader tests need: one to three byte changes,
/// truncations or insertions, so most results are still well-formed protobuf.
enum ProtobufMutation {
    static func mutate(_ bytes: inout [UInt8], using generator: inout SeededGenerator) {
        for _ in 0..<Int.random(in: 1...3, using: &generator) where !bytes.isEmpty {
            let position = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: bytes[position] = UInt8.random(in: 0...255, using: &generator)
            case 1: bytes.removeSubrange(position...)
            default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: position)
            }
        }
    }
}
