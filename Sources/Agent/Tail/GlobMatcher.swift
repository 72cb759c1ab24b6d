#if canImport(Glibc)
import Glibc
#endif

/// Expands a source's include globs (POSIX `glob(3)`) and drops paths matching an exclude glob.
struct GlobMatcher: Sendable {
    let include: [String]
    let exclude: [String]

    func paths() -> [String] {
        var found: [String] = []
        var seen = Set<String>()
        for pattern in include {
            var result = glob_t()
            defer { globfree(&result) }
            guard glob(pattern, 0, nil, &result) == 0 else { continue }
            for index in 0..<Int(result.gl_pathc) {
                guard let cString = result.gl_pathv[index] else { continue }
                let path = String(cString: cString)
                guard !isExcluded(path), seen.insert(path).inserted else { continue }
                found.append(path)
            }
        }
        return found
    }

    func isExcluded(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return exclude.contains { fnmatch($0, path, 0) == 0 || fnmatch($0, name, 0) == 0 }
    }
}
