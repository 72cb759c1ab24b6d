import Foundation
import PeriscopeModel
import Synchronization

/// The web UI's signed-in browsers: a random 128-bit session ID (the `HttpOnly`,
/// `SameSite=Strict` cookie's value) for each token login, valid for `lifetime`. Held in memory
/// only — a restarted collector asks again — and at most `capacity` at once, so logins cannot
/// grow it without bound: past that, the session nearest its end goes.
final class WebSessions: Sendable {
    static let cookieName = "periscope_session"
    let lifetimeNanos: UInt64
    let capacity: Int
    private let sessions = Mutex<[String: UInt64]>([:])

    init(lifetimeNanos: UInt64 = 12 * 3_600_000_000_000, capacity: Int = 10_000) {
        self.lifetimeNanos = lifetimeNanos
        self.capacity = max(1, capacity)
    }

    /// A new session, valid from `nowUnixNano` for `lifetimeNanos`.
    func open(nowUnixNano: UInt64) -> String {
        var generator = SystemRandomNumberGenerator()
        let id = Hex.encode((0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        let expiry = nowUnixNano.addingReportingOverflow(lifetimeNanos)
        sessions.withLock { sessions in
            if sessions.count >= capacity {
                sessions = sessions.filter { $0.value > nowUnixNano }
                while sessions.count >= capacity, let soonest = sessions.min(by: { $0.value < $1.value }) {
                    sessions[soonest.key] = nil
                }
            }
            sessions[id] = expiry.overflow ? .max : expiry.partialValue
        }
        return id
    }

    /// Whether `id` names a session still valid at `nowUnixNano` (an expired one is forgotten).
    func isValid(_ id: String, nowUnixNano: UInt64) -> Bool {
        sessions.withLock { sessions in
            guard let expiry = sessions[id] else { return false }
            guard expiry > nowUnixNano else {
                sessions[id] = nil
                return false
            }
            return true
        }
    }

    func close(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    var count: Int { sessions.withLock(\.count) }

    /// The session IDs in a `Cookie` header (`a=1; periscope_session=…`): a browser sends a
    /// stale one beside the current one when their paths differ, so every one is tried.
    static func ids(inCookieHeader header: String?) -> [String] {
        guard let header else { return [] }
        return header.split(separator: ";").prefix(64).compactMap { part in
            let pair = part.trimmingCharacters(in: .whitespaces)
            guard pair.hasPrefix(cookieName + "=") else { return nil }
            let value = String(pair.dropFirst(cookieName.count + 1))
            return value.isEmpty || value.utf8.count > 64 ? nil : value
        }
    }
}
