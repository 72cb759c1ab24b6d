#if canImport(Glibc)
import Glibc
#endif

/// The process-wide limits the agent sets for itself at start.
enum ProcessLimits {
    /// Raises the soft open-file limit to the hard one (a tailer following thousands of files
    /// needs the descriptors; many systems start services at a soft 1,024 under a far higher
    /// hard limit), and ignores `SIGXFSZ`, so a write past a file size limit fails with `EFBIG`
    /// — an I/O error the queue reports and recovers from — instead of killing the agent.
    /// Returns the soft open-file limit now in force.
    @discardableResult
    static func apply() -> Int {
        signal(SIGXFSZ, SIG_IGN)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return openFileLimit()
    }

    /// The soft open-file limit (1,024 when it cannot be read; `RLIM_INFINITY` counts as `Int.max`).
    static func openFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return limit.rlim_cur >= UInt64(Int.max) ? Int.max : Int(limit.rlim_cur)
    }
}
