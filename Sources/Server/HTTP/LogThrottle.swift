import PeriscopeModel
import Synchronization

/// Lets one warning of a kind through per `interval` and counts the ones held back, so a client
/// that reconnects in a loop with the same mistake gives one log line a minute, not one per
/// attempt, and the line says how many it stands for.
public final class LogThrottle: Sendable {
    private let interval: Duration
    private let timeline: Timeline
    private let state = Mutex<(lastAdmitted: Duration?, held: Int)>((nil, 0))

    public init(interval: Duration = .seconds(60), timeline: Timeline = .continuous) {
        self.interval = interval
        self.timeline = timeline
    }

    /// What a warning let through adds about those held back before it: ` (N more WHAT since
    /// the last warning)`, or nothing.
    public static func heldBack(_ held: Int, _ what: String) -> String {
        held > 0 ? " (\(held) more \(what) since the last warning)" : ""
    }

    /// `nil` while the warning is held back; otherwise how many were held back since the last one.
    public func admit() -> Int? {
        let now = timeline.now
        return state.withLock { state in
            if let last = state.lastAdmitted, now - last < interval {
                state.held &+= 1
                return nil
            }
            let held = state.held
            state = (now, 0)
            return held
        }
    }
}
