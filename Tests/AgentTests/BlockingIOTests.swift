import Dispatch
import NIOCore
import NIOPosix
import PeriscopeServer
import Synchronization
import Testing

@Suite("Blocking work off the cooperative pool")
struct BlockingIOTests {
    @Test("work run to completion runs for a caller cancelled before it starts; cancellable work does not")
    func runToCompletionIgnoresCancellation() async throws {
        let completed = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await BlockingIO.runToCompletion { 42 }
        }.result
        #expect(try completed.get() == 42)

        let cancellable = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await BlockingIO.run { 42 }
        }.result
        #expect(throws: CancellationError.self) { try cancellable.get() }
    }

    @Test("a query runs while every thread of the shared pool is held (a slow question never waits in front of ingest's commits, nor they behind it)")
    func queriesHaveThreadsOfTheirOwn() async throws {
        let threads = NIOSingletons.blockingPoolThreadCountSuggestion
        let release = DispatchSemaphore(value: 0)
        let started = StartCount()
        let holders = (0..<threads).map { _ in
            Task {
                try await BlockingIO.run {
                    started.count.withLock { $0 += 1 }
                    return release.wait(timeout: .now() + 120) == .success
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while started.count.withLock({ $0 }) < threads {
            try #require(ContinuousClock.now < deadline, "the shared pool did not start the holders")
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try await BlockingIO.runScrape { true }, "a scrape has a thread of its own too")
        let ran = try await BlockingIO.runQuery {
            for _ in 0..<threads { release.signal() }
            return true
        }
        #expect(ran)
        for holder in holders {
            #expect(try await holder.value, "a holder waited out its 120 s: the query had waited behind it")
        }
    }
}

private final class StartCount: Sendable {
    let count = Mutex(0)
}
