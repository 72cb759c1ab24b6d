import Synchronization

/// Wakes the tasks waiting for something new — the shipper's workers for a batch appended to
/// the queue — instead of having them poll. A waiter reads `rings` before it looks for work
/// and passes it to `wait(after:)`, so a ring between looking and waiting is never missed.
package final class Doorbell: Sendable {
    private struct State {
        var rings: UInt64 = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    package init() {}

    /// How many times it has rung so far.
    package var rings: UInt64 { state.withLock { $0.rings } }

    /// Wakes every waiter.
    package func ring() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.rings &+= 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiting { waiter.resume() }
    }

    /// Returns once it has rung since `seen` was read (at once if it already has), or when the
    /// task is cancelled.
    package func wait(after seen: UInt64) async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let wakeNow = state.withLock { state -> Bool in
                    if state.rings != seen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if wakeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
