@testable import PeriscopeAgent
import PeriscopeDiskQueue
import Testing

@Suite("Doorbell")
struct DoorbellTests {
    @Test("a ring between reading rings and waiting is not missed; a later ring wakes every waiter")
    func rings() async {
        let bell = Doorbell()
        let seen = bell.rings
        bell.ring()
        await bell.wait(after: seen)  // returns at once: it rang since `seen`

        let before = bell.rings
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { await bell.wait(after: before) } }
            // Give the waiters a chance to park; the ring wakes them wherever they are.
            for _ in 0..<100 { await Task.yield() }
            bell.ring()
        }
        #expect(bell.rings == before + 1)
    }

    @Test("a cancelled waiter returns without a ring")
    func cancellation() async {
        let bell = Doorbell()
        let waiter = Task { await bell.wait(after: bell.rings) }
        waiter.cancel()
        await waiter.value
        #expect(bell.rings == 0)
    }
}
