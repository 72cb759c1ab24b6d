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
}
