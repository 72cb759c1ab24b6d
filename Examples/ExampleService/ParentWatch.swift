import Foundation
import ServiceLifecycle

/// Returns when standard input reaches end of file. The demo gives its backend child a pipe as
/// stdin, so if the demo dies, even by SIGKILL, the pipe closes and the child shuts down
/// gracefully instead of lingering as an orphan.
struct ParentWatch: Service {
    func run() async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        // A blocking read needs a thread of its own, off the cooperative pool.
        let reader = Thread {
            var byte: UInt8 = 0
            while true {
                let count = read(0, &byte, 1)
                if count == 0 || (count < 0 && errno != EINTR) { break }
            }
            continuation.finish()
        }
        reader.start()
        await cancelWhenGracefulShutdown {
            for await _ in stream {}
        }
    }
}
