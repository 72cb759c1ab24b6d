import PeriscopeConfig

/// When the queue's writes reach the disk.
package enum FsyncPolicy: Equatable, Sendable, CustomStringConvertible {
    /// `fdatasync` before an append returns: nothing acknowledged is lost even on power loss.
    case always
    /// `fdatasync` on a timer: survives `kill -9` (the page cache keeps the data) but a power
    /// loss can take the last interval.
    case interval(Duration)
    /// Leave it to the kernel.
    case never

    /// Parses `always`, `never`, or an interval such as `200ms` / `1s`.
    package init?(_ text: String) {
        switch text {
        case "always", "batch": self = .always
        case "never": self = .never
        default:
            // A zero or near-zero interval would sync in a busy loop.
            guard let duration = DurationText.parse(text), duration >= .milliseconds(1) else { return nil }
            self = .interval(duration)
        }
    }

    package var description: String {
        switch self {
        case .always: return "always"
        case .never: return "never"
        case .interval(let duration): return "every \(duration)"
        }
    }
}

/// What the queue does when it reaches `maxBytes`.
package enum WhenFull: String, Equatable, Sendable {
    /// Refuse new batches (receivers answer 429 with `Retry-After`, tailers pause).
    case backpressure
    /// Delete the oldest segment and count its records as dropped.
    case dropOldest = "drop_oldest"
}

package struct DiskQueueConfiguration: Equatable, Sendable {
    package var maxBytes: Int
    package var segmentBytes: Int
    package var fsync: FsyncPolicy
    package var whenFull: WhenFull

    package init(maxBytes: Int = 512 << 20, segmentBytes: Int = 16 << 20, fsync: FsyncPolicy = .always, whenFull: WhenFull = .backpressure) {
        self.maxBytes = maxBytes
        self.segmentBytes = segmentBytes
        self.fsync = fsync
        self.whenFull = whenFull
    }
}
