import Foundation
import Logging
import NIOPosix
import PeriscopeServer
import PeriscopeDelivery
import PeriscopeLogLines
import PeriscopeModel
import ServiceLifecycle

/// Checkpoints: where each file has been read to, persisted off the actor's thread.
extension TailEngine {
    /// The state to persist: every file's committed offset, and the ranges being sent (up to
    /// `pending`'s end per file) as pending. Whatever changes after this makes the state dirty again.
    func checkpoint(pending: [FileIdentity: UInt64] = [:]) -> TailCheckpoints {
        var document = TailCheckpoints()
        document.startedSources = startedSources.sorted()
        document.savedAtUnixNano = WallClock.nowUnixNano()
        document.finished = finished
        for file in files.values {
            document.files.append(TailCheckpoints.Entry(
                identity: file.identity, fingerprint: file.fingerprint, tag: file.tag, path: file.path,
                source: sources[file.sourceIndex].key, offset: file.committed, pendingEnd: pending[file.identity] ?? file.forcedEnd))
        }
        // Entries not matched yet (first poll after a restart) are kept.
        document.files += savedEntries.values
        document.files.sort(by: TailCheckpoints.order)
        dirty = false
        return document
    }

    /// Persists the current state (no range pending but a forced one).
    func saveCheckpoints() async {
        if await !persist(checkpoint()) { dirty = true }
    }

    /// Writes a checkpoint on the thread pool (it syncs), never on the actor's thread.
    nonisolated func persist(_ document: TailCheckpoints) async -> Bool {
        let log = checkpointLog
        do {
            try await BlockingIO.run { try log.save(document) }
            return true
        } catch {
            if let held = checkpointFailureLog.admit() {
                logger.error("cannot write tail checkpoints (reading waits; nothing is lost): \(error)\(LogThrottle.heldBack(held, "failures"))")
            }
            return false
        }
    }
}
