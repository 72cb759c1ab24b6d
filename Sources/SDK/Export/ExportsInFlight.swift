import Synchronization

/// The export requests out at this moment, whoever started them (the background loop, a flush,
/// the metrics loop), each under a ticket taken before its batch left the queue. A flush waits
/// for the tickets taken before it began — the batches it could not see in the queues — and not
/// for those taken after, so steady traffic cannot hold it to its deadline.
final class ExportsInFlight: Sendable {
    /// One export counted from `begin` to `end`. The batches of one take from the queues share
    /// the take's ticket (`another`), so they count as begun when the take began.
    struct Ticket: Sendable {
        fileprivate let number: Int
    }

    private struct Waiter {
        /// Resumed once no ticket below this number is out.
        var before: Int
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var nextTicket = 0
        /// Ticket number → exports out under it.
        var out: [Int: Int] = [:]
        var nextWaiter = 0
        var waiters: [Int: Waiter] = [:]

        func done(before: Int) -> Bool { !out.keys.contains { $0 < before } }
    }

    private let state = Mutex(State())

    func begin() -> Ticket {
        state.withLock { state in
            let number = state.nextTicket
            state.nextTicket += 1
            state.out[number] = 1
            return Ticket(number: number)
        }
    }

    /// One more export under `ticket`, which must still be out; end it on its own.
    func another(_ ticket: Ticket) -> Ticket {
        state.withLock { state in
            precondition(state.out[ticket.number] != nil, "another export under a ticket that has ended")
            state.out[ticket.number, default: 0] += 1
        }
        return ticket
    }

    func end(_ ticket: Ticket) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if let count = state.out[ticket.number] {
                state.out[ticket.number] = count > 1 ? count - 1 : nil
            }
            guard !state.waiters.isEmpty else { return [] }
            let finished = state.waiters.filter { state.done(before: $0.value.before) }
            for id in finished.keys { state.waiters[id] = nil }
            return finished.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }

    /// Waiters registered and not yet resumed (for tests).
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// Returns once every export begun before this call has ended, or when the task is cancelled.
    func waitForEarlierExports() async {
        let (id, before) = state.withLock { state -> (Int, Int) in
            state.nextWaiter &+= 1
            return (state.nextWaiter, state.nextTicket)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.done(before: before) || Task.isCancelled { return true }
                    state.waiters[id] = Waiter(before: before, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
        }
    }
}
