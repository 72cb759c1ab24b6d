import Foundation
import Logging
import NIOPosix
import PeriscopeServer
import PeriscopeDelivery
import PeriscopeLogLines
import PeriscopeModel
import ServiceLifecycle

/// Follows the files of every `tail:` source and hands their records to the queue.
///
/// Each `poll()` expands the globs, notices new, rotated, truncated and deleted files, reads
/// what was appended, parses and redacts it, and appends it to the queue one range at a time.
/// A range's checkpoint is written before the append (as pending) and advanced after it, and
/// the batch ID is derived from the range — see `TailCheckpoints`.
actor TailEngine {
    /// The tailer's own thread: `stat`, `open`, `pread` and `readdir` block, and Swift's
    /// cooperative pool (one thread per core) must stay free for the receiver and the shipper.
    static let thread = MultiThreadedEventLoopGroup(numberOfThreads: 1).next()
    nonisolated var unownedExecutor: UnownedSerialExecutor { Self.thread.executor.asUnownedSerialExecutor() }

    let sources: [TailSource]
    let checkpointPath: String
    let checkpointLog: CheckpointLog
    let sink: any TailBatchSink
    let redactor: Redactor
    let counters: TailCounters
    let logger: Logger
    /// Most bytes read from one file in one poll (`maxBytesPerPoll` but in tests).
    let bytesPerPoll: Int
    let matchers: [GlobMatcher]
    let parsers: [LogLineParser]
    let resources: [Resource]
    /// Drives rotation grace and waits; injected so tests advance time instead of sleeping.
    let timeline: Timeline

    var files: [FileIdentity: TailedFile] = [:]
    /// Checkpoint entries of files not open: read before a restart and not matched yet, or
    /// parked for want of a descriptor (`maxOpenFiles`).
    var savedEntries: [FileIdentity: TailCheckpoints.Entry] = [:]
    var startedSources: Set<String>
    /// Files whose first bytes equal a followed file's, with their size: copies (copytruncate),
    /// read only if the original is truncated. A "copy" that grows was not one and is followed.
    var ignoredCopies: [FileIdentity: UInt64] = [:]
    var polls = 0
    /// Wall-clock time of the previous discovery (or of the checkpoint, after a restart): rotated
    /// files modified since then that the tailer does not know were written while it was not looking.
    var lastDiscoveryUnixNano: UInt64?
    /// Streams read to their end (released files, truncated content), oldest first, persisted in
    /// the checkpoint: a copy or a late-growing rotation of one is never read from its start again.
    var finished: [TailCheckpoints.FinishedStream] = []
    var dirty = false
    /// The batch handed to the queue and not yet confirmed, of the file being processed.
    var inFlight: InFlight?
    /// Files whose records wait for the round's shared write (`sendRound`), in the order read,
    /// and the bytes of text they hold.
    var round: [TailedFile] = []
    var roundBytes = 0
    /// Whether the warning that `maxHeldRotations` stops discovery during a pause was logged.
    var warnedHeldRotations = false
    /// The agent's data directory (where the checkpoint lies), resolved: never tailed.
    let dataDirectory: String?
    /// Sources already warned that their globs reach into `dataDirectory`.
    var warnedOwnFiles: Set<Int> = []
    /// A checkpoint that cannot be written (a full disk) fails every poll: one line a minute.
    let checkpointFailureLog = LogThrottle()
    /// Most files held open at once (`openFileBudget`): past it, idle files are parked (closed,
    /// their place kept as a checkpoint entry in `savedEntries`) and opened again when they grow.
    let maxOpenFiles: Int
    /// Files already named as unreadable (permissions): each is named once (at most 4,096 remembered).
    var unreadableWarned: Set<FileIdentity> = []
    /// Parking under the open-file budget is logged once a minute.
    let descriptorWarning = LogThrottle()
    var readBuffer = [UInt8](repeating: 0, count: TailEngine.readChunk)
    var encoder = TailBatchEncoder()
    let timeBounds: LogTimeBounds

    /// Most records and bytes in one batch. With one more line (at most `max_line_bytes`, 1 MiB)
    /// a batch stays far within the elements a receiver takes in one request
    /// (`OTLPLimits.maxElementsPerRequest`: text makes at most 2 elements per 3 bytes).
    static let maxBatchRecords = 4096
    static let maxBatchBytes = 1 << 20
    /// Bytes read at once: large enough that reads cost little, small enough to stay out of the way in RSS.
    static let readChunk = 256 << 10
    /// Most bytes read from one file in one poll, so one busy file cannot starve the others.
    static let maxBytesPerPoll = 32 << 20
    /// Most text and files one round's shared write takes; past either it is written and a new one begins.
    static let maxRoundBytes = 4 << 20
    static let maxRoundFiles = 1024
    /// How long a file that was renamed away or deleted is still watched after its last growth.
    static let rotatedGrace: Duration = .seconds(2)
    /// Most rotated-away files held open while a full queue pauses reading (see `discoverWhilePaused`).
    static let maxHeldRotations = 64
    /// Most bytes of deleted rotated files held open while a full queue pauses reading.
    static let maxHeldDeletedBytes: UInt64 = 1 << 30
    /// Files that may be open at once under an open-file `limit`, leaving `reserve` descriptors
    /// (`AgentConfiguration.descriptorsBesidesTailing`) for everything else; never fewer than 8.
    static func openFileBudget(limit: Int, reserve: Int = 256) -> Int {
        max(8, limit > reserve ? limit - reserve : 0)
    }
    /// Slack for the file system's coarse timestamps when comparing a file's mtime with a discovery.
    static let modificationSlackNanos: UInt64 = 1_000_000_000
    /// How many finished streams are remembered, and for how long.
    static let finishedMemory = 256
    static let finishedLifetimeNanos: UInt64 = 24 * 3600 * 1_000_000_000

    init(sources: [TailSource], redactor: Redactor, defaultService: String?, checkpointPath: String,
         sink: any TailBatchSink, counters: TailCounters = TailCounters(), bytesPerPoll: Int = TailEngine.maxBytesPerPoll,
         timeBounds: LogTimeBounds = LogTimeBounds(), timeline: Timeline = .continuous,
         maxOpenFiles: Int = TailEngine.openFileBudget(limit: ProcessLimits.openFileLimit()), logger: Logger) throws {
        self.maxOpenFiles = max(1, maxOpenFiles)
        self.sources = sources
        self.timeline = timeline
        self.timeBounds = timeBounds
        self.bytesPerPoll = bytesPerPoll
        self.redactor = redactor
        self.checkpointPath = checkpointPath
        checkpointLog = CheckpointLog(path: checkpointPath)
        let checkpointDirectory = (checkpointPath as NSString).deletingLastPathComponent
        dataDirectory = OwnDirectoryCheck.realPath(checkpointDirectory.isEmpty ? "." : checkpointDirectory)
        self.sink = sink
        self.counters = counters
        self.logger = logger
        matchers = sources.map { GlobMatcher(include: $0.include, exclude: $0.exclude) }
        parsers = sources.map { LogLineParser(format: $0.format, pattern: $0.pattern) }
        let host = ProcessInfo.processInfo.hostName
        resources = sources.map { Resource(serviceName: $0.service ?? defaultService ?? "unknown_service", hostName: host) }
        let loaded = try TailCheckpoints.load(checkpointPath)
        for entry in loaded.files { savedEntries[entry.identity] = entry }
        startedSources = Set(loaded.startedSources)
        lastDiscoveryUnixNano = loaded.savedAtUnixNano
        finished = loaded.finished
    }

    var statistics: TailStatistics {
        var snapshot = counters.snapshot
        snapshot.filesWatched = files.count
        snapshot.redactions = redactor.totalRedactions
        return snapshot
    }

    /// Paths of the files followed now.
    var watchedPaths: [String] { files.values.map(\.path).sorted() }

    /// One round: discover, read, send. Returns when everything read so far is queued (or
    /// shutdown): true when a file has more to read than one round reads, so the next round
    /// should start at once.
    @discardableResult
    func poll() async -> Bool {
        polls += 1
        discover()
        // Rotated-away files first: the old file is finished before the new one.
        let ordered = files.values.sorted { ($0.rotatedOut ? 0 : 1, $0.path) < ($1.rotatedOut ? 0 : 1, $1.path) }
        var behind = false
        for file in ordered {
            guard !Task.isCancelled else { break }
            if await process(file) { behind = true }
        }
        if Task.isCancelled {
            // Not marked pending, not committed: read again from the committed offsets after a restart.
            (round, roundBytes) = ([], 0)
        } else {
            await sendRound()
        }
        let watched = files.count
        let redactions = redactor.totalRedactions
        counters.update {
            $0.filesWatched = watched
            $0.redactions = redactions
        }
        if dirty { await saveCheckpoints() }
        return behind
    }

    /// Closes every file (on shutdown); checkpoints stay as they are.
    func close() async {
        if dirty { await saveCheckpoints() }
        checkpointLog.close()
        for file in files.values { file.close() }
        files = [:]
    }
}
