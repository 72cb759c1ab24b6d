/// Rollups are kept at three resolutions, so any range — five minutes or thirty days — is
/// answered from at most a few hundred rows: whole days from day rows, whole hours from
/// hour rows, the rest from minute rows.
enum Resolution: Int, CaseIterable, Sendable {
    case minute = 60
    case hour = 3600
    case day = 86_400

    var nanos: UInt64 { UInt64(rawValue) * 1_000_000_000 }

    /// The bucket (start time in Unix seconds) holding `unixNano`.
    func bucket(_ unixNano: UInt64) -> Int64 {
        Int64(unixNano / nanos) * Int64(rawValue)
    }

    /// The bucket holding the Unix second `seconds` (not negative).
    func bucket(seconds: Int64) -> Int64 {
        seconds / Int64(rawValue) * Int64(rawValue)
    }

    /// Splits [start, end) — minute-aligned — into buckets of the coarsest resolution that fit,
    /// none coarser than `coarsest`. Returns (resolution, first bucket, last bucket) ranges,
    /// inclusive, in Unix seconds.
    static func cover(startUnixNano: UInt64, endUnixNano: UInt64, coarsest: Resolution = .day) -> [(Resolution, Int64, Int64)] {
        var pieces = [(Resolution, Int64, Int64)]()
        var start = Int64(startUnixNano / 60_000_000_000) * 60
        let end = Int64(endUnixNano / 60_000_000_000) * 60
        func take(_ resolution: Resolution) {
            let size = Int64(resolution.rawValue)
            // Leading finer pieces up to the first aligned boundary are handled by the caller's order.
            let alignedStart = (start + size - 1) / size * size
            let alignedEnd = end / size * size
            guard alignedEnd > alignedStart else { return }
            if alignedStart > start { pieces += finer(resolution, start, alignedStart) }
            pieces.append((resolution, alignedStart, alignedEnd - size))
            start = alignedEnd
        }
        if coarsest == .day {
            take(.day)
        }
        if start < end, coarsest != .minute {
            take(.hour)
        }
        if start < end {
            pieces.append((.minute, start, end - 60))
        }
        return pieces
    }

    /// Covers [start, end) — both aligned to the next finer resolution — with finer buckets.
    private static func finer(_ resolution: Resolution, _ start: Int64, _ end: Int64) -> [(Resolution, Int64, Int64)] {
        switch resolution {
        case .minute: return []
        case .hour: return [(.minute, start, end - 60)]
        case .day:
            let hourStart = (start + 3599) / 3600 * 3600
            var out = [(Resolution, Int64, Int64)]()
            if hourStart > start { out.append((.minute, start, min(hourStart, end) - 60)) }
            if end > hourStart { out.append((.hour, hourStart, end - 3600)) }
            return out
        }
    }
}
