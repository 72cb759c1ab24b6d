import NIOPosix
import PeriscopeServer
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
}
