import Foundation

/// The committed seed inputs of the libFuzzer targets (`Fuzz/Corpus/TARGET`), so unit tests
/// replay what `make fuzz` starts from — crash regressions included.
public enum FuzzCorpus {
    /// Every seed of `target`, in file-name order; empty if the folder is missing.
    public static func seeds(_ target: String) -> [[UInt8]] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/Corpus/\(target)").standardized
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { FileManager.default.contents(atPath: directory.appendingPathComponent($0).path).map(Array.init) }
    }

    /// Random damage to `bytes`, a few edits at a time.
    public static func damage(_ bytes: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        var damaged = bytes
        for _ in 0..<(1 + Int(generator.next() % 4)) {
            guard !damaged.isEmpty else { break }
            let position = Int(generator.next() % UInt64(damaged.count))
            switch generator.next() % 6 {
            case 0: damaged[position] ^= UInt8(truncatingIfNeeded: 1 << (generator.next() % 8))
            case 1: damaged[position] = UInt8(truncatingIfNeeded: generator.next())
            case 2: damaged.removeSubrange(position...)
            case 3: damaged.insert(contentsOf: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], at: position)
            case 4: damaged.remove(at: position)
            default: damaged.insert(UInt8(truncatingIfNeeded: generator.next()), at: position)
            }
        }
        return damaged
    }
}
