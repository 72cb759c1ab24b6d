import Foundation
import Logging
import NIOPosix
import PeriscopeServer
import PeriscopeDelivery
import PeriscopeLogLines
import PeriscopeModel
import ServiceLifecycle

/// Discovery: expanding the globs, noticing new, rotated, copied and deleted files, and opening them.
extension TailEngine {
    func discover() {
        let startedAt = WallClock.nowUnixNano()
        var rotatedPaths: [String: Int] = [:]
        var globbed = Set<String>()
        var seen = Set<FileIdentity>()
        var fresh: [(path: String, identity: FileIdentity, source: Int)] = []
        var outgrown: Set<FileIdentity> = []
        var resumed: [(path: String, identity: FileIdentity, source: Int, hasNews: Bool)] = []
        var ownDirectories = OwnDirectoryCheck(dataDirectory: dataDirectory)
        for (index, matcher) in matchers.enumerated() {
            for path in matcher.paths() {
                if ownDirectories.contains(path) {
                    if warnedOwnFiles.insert(index).inserted {
                        logger.warning("tail source \(sources[index].key) matches \(path) in the agent's own data directory \(dataDirectory ?? ""): its checkpoint, queue and dead letters are never read (they would feed the agent its own output); narrow the include glob")
                    }
                    continue
                }
                globbed.insert(path)
                var info = stat()
                guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                let identity = FileIdentity(info)
                guard seen.insert(identity).inserted else { continue }
                if let file = files[identity] {
                    file.path = path
                    file.rotatedOut = false
                } else if let copySize = ignoredCopies[identity] {
                    // A copy does not outgrow its original; a file that does was never a copy.
                    let size = UInt64(info.st_size)
                    guard size > copySize else { continue }
                    ignoredCopies[identity] = size
                    guard outgrowsItsOriginal(path, size: size) else { continue }
                    ignoredCopies[identity] = nil
                    outgrown.insert(identity)
                    fresh.append((path, identity, index))
                } else if var entry = savedEntries[identity] {
                    // A parked file renamed within the glob is compared and reopened under its new name.
                    if entry.path != path {
                        entry.path = path
                        savedEntries[identity] = entry
                        dirty = true
                    }
                    // A parked file (or one checkpointed before a restart) is opened when a
                    // descriptor is free, or — taking one from an idle file — when it has
                    // something to read.
                    resumed.append((path, identity, index, entry.pendingEnd != nil || UInt64(info.st_size) != entry.offset))
                } else {
                    fresh.append((path, identity, index))
                }
            }
        }
        ignoredCopies = ignoredCopies.filter { seen.contains($0.key) }
        // A file not listed but still at its path was missed by the glob (a directory it could
        // not read this time): it is neither rotated away nor gone.
        for file in files.values where !seen.contains(file.identity) && !file.rotatedOut && !Self.holds(file.path, file.identity) {
            file.rotatedOut = true
            rotatedPaths[file.path] = file.sourceIndex
            counters.update { $0.rotations += 1 }
        }
        if polls == 1 {
            for entry in savedEntries.values {
                if let index = sources.firstIndex(where: { $0.key == entry.source }) { rotatedPaths[entry.path] = index }
            }
        }
        var descriptors = DescriptorBudget()
        // Files with a checkpoint first, so that a copy is recognised as one.
        for item in resumed.sorted(by: { $0.hasNews && !$1.hasNews }) {
            // One with nothing to read only takes a free descriptor, never an idle file's.
            guard Self.mayRead(item.path) else {
                warnUnreadable(item.path, item.identity)
                continue
            }
            guard item.hasNews ? makeRoom(&descriptors) : files.count < maxOpenFiles else { continue }
            open(item.path, identity: item.identity, sourceIndex: item.source)
            descriptors.opened.insert(item.identity)
        }
        recoverRotatedAway(seen: seen, descriptors: &descriptors)
        for item in fresh {
            // One the agent may not read takes no idle file's descriptor (it would every look).
            guard Self.mayRead(item.path) else {
                warnUnreadable(item.path, item.identity)
                continue
            }
            guard makeRoom(&descriptors) else {
                descriptors.waiting += 1
                // `start_at: end` counts at the source's first look: remember where the file ended then.
                let source = sources[item.source]
                if source.startAt == .end, !startedSources.contains(source.key) { parkUnopened(item.path, identity: item.identity, sourceIndex: item.source) }
                continue
            }
            rotatedPaths[item.path] = item.source
            open(item.path, identity: item.identity, sourceIndex: item.source, mayBeCopy: !outgrown.contains(item.identity))
            descriptors.opened.insert(item.identity)
        }
        if descriptors.waiting > 0 || descriptors.parked > 0, let held = descriptorWarning.admit() {
            logger.warning("""
                following \(files.count) files at once, the most the open-file limit allows (\(maxOpenFiles) for files, \(ProcessLimits.openFileLimit()) in all): \
                idle files are closed and opened again when they grow (\(descriptors.parked) closed, \(descriptors.waiting) new files waiting this look)\
                \(LogThrottle.heldBack(held, "such looks")) — raise the agent's open-file limit (ulimit -n, LimitNOFILE) to follow them all at once
                """)
        }
        if let since = lastDiscoveryUnixNano, !rotatedPaths.isEmpty { adoptUnwatchedRotations(of: rotatedPaths, since: since, globbed: globbed) }
        // Entries whose file is gone (deleted while parked, or before a restart; not found by
        // inode) are forgotten, but remembered as finished streams: should the file come back,
        // it goes on from its offset. A parked file the glob missed but still at its path stays
        // parked; at the first look after a restart (the globs may have changed) it goes too.
        for (identity, entry) in savedEntries where !seen.contains(identity) && !descriptors.deferredRecoveries.contains(identity) {
            guard polls == 1 || !Self.holds(entry.path, identity) else { continue }
            savedEntries[identity] = nil
            remember(identity: identity, fingerprint: entry.fingerprint, tag: entry.tag, end: entry.offset)
        }
        lastDiscoveryUnixNano = startedAt
        let newlyStarted = sources.map(\.key).filter { !startedSources.contains($0) }
        if !newlyStarted.isEmpty {
            startedSources.formUnion(newlyStarted)
            dirty = true
        }
    }

    /// A checkpointed file no glob matches any more was renamed by a rotation while the agent
    /// was down, or while it was parked — find it by inode in its directory and read it to its end.
    func recoverRotatedAway(seen: Set<FileIdentity>, descriptors: inout DescriptorBudget) {
        for entry in savedEntries.values where !seen.contains(entry.identity) {
            guard files[entry.identity] == nil, let sourceIndex = sources.firstIndex(where: { $0.key == entry.source }) else { continue }
            guard let found = LinkTarget.directories(of: entry.path).lazy.compactMap({ directory in
                      Self.findFile(in: directory, where: { identity, _ in identity == entry.identity })
                  }).first else { continue }
            guard entry.fingerprint.matches(fd: found.fd) else {
                Glibc.close(found.fd)
                continue
            }
            // Found (its descriptor is open already): room is made for it now, or it waits a look.
            guard makeRoom(&descriptors) else {
                Glibc.close(found.fd)
                descriptors.deferredRecoveries.insert(entry.identity)
                continue
            }
            let file = TailedFile(
                identity: entry.identity, sourceIndex: sourceIndex, path: found.path, fd: found.fd, fingerprint: entry.fingerprint,
                tag: entry.tag, offset: entry.offset, forcedEnd: entry.pendingEnd, source: sources[sourceIndex], now: timeline.now)
            file.rotatedOut = true
            files[entry.identity] = file
            savedEntries[entry.identity] = nil
            descriptors.opened.insert(entry.identity)
            logger.debug("resuming rotated file \(found.path) at \(entry.offset)")
        }
    }

    /// After a rotation: a file renamed to a rotation of a followed path that the tailer never
    /// saw (created and rotated away between two looks, or while the agent was down) is read from
    /// its start; a released file that grew since is read from where it ended. Copies are not.
    func adoptUnwatchedRotations(of paths: [String: Int], since: UInt64, globbed: Set<String>) {
        let threshold = since > Self.modificationSlackNanos ? since - Self.modificationSlackNanos : 0
        for (path, sourceIndex) in paths.sorted(by: { $0.key < $1.key }) {
            for sibling in RotatedSiblings.ofFollowed(path) where !globbed.contains(sibling) {
                var info = stat()
                guard stat(sibling, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                let identity = FileIdentity(info)
                guard files[identity] == nil, savedEntries[identity] == nil, ignoredCopies[identity] == nil else { continue }
                let size = UInt64(info.st_size)
                let modified = WallClock.unixNano(seconds: Int64(info.st_mtim.tv_sec), nanoseconds: Int64(info.st_mtim.tv_nsec))
                guard let fd = TailedFileOpening.open(sibling, identity: identity) else { continue }
                var start: UInt64 = 0
                var tag = Self.newTag()
                var fingerprint = FileFingerprint.read(fd: fd) ?? .empty
                if let done = finishedStream(continuedBy: identity, fd: fd) {
                    guard size > done.end else {
                        Glibc.close(fd)
                        continue
                    }
                    (start, tag, fingerprint) = (done.end, done.tag, done.fingerprint)
                } else if modified < threshold || isCopyOfFollowedFile(fd, size: size) {
                    Glibc.close(fd)
                    continue
                }
                let file = TailedFile(
                    identity: identity, sourceIndex: sourceIndex, path: sibling, fd: fd, fingerprint: fingerprint,
                    tag: tag, offset: start, forcedEnd: nil, source: sources[sourceIndex], now: timeline.now)
                file.rotatedOut = true
                files[identity] = file
                finished.removeAll { $0.tag == tag }
                dirty = true
                logger.info("reading \(sibling) from \(start): rotated while it was not watched")
            }
        }
    }

    func open(_ path: String, identity: FileIdentity, sourceIndex: Int, mayBeCopy: Bool = true) {
        let source = sources[sourceIndex]
        guard let fd = TailedFileOpening.open(path, identity: identity) else {
            if errno == EACCES || errno == EPERM { warnUnreadable(path, identity) }
            return
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            Glibc.close(fd)
            return
        }
        let size = UInt64(info.st_size)
        let fingerprint = FileFingerprint.read(fd: fd) ?? .empty
        let now = timeline.now
        if let entry = savedEntries.removeValue(forKey: identity) {
            let resumeEnd = entry.pendingEnd ?? entry.offset
            if size >= resumeEnd, entry.fingerprint.matches(fd: fd) {
                files[identity] = TailedFile(
                    identity: identity, sourceIndex: sourceIndex, path: path, fd: fd, fingerprint: entry.fingerprint,
                    tag: entry.tag, offset: entry.offset, forcedEnd: entry.pendingEnd, source: source, now: now)
                return
            }
            // Inode reused, or truncated while the agent was down: a copy may hold the rest.
            counters.update { $0.truncations += 1 }
            if let copy = Self.findCopy(in: LinkTarget.directories(of: path), of: entry.fingerprint, minSize: resumeEnd, excluding: knownIdentities.union([identity])) {
                let rescued = TailedFile(
                    identity: copy.identity, sourceIndex: sourceIndex, path: copy.path, fd: copy.fd, fingerprint: entry.fingerprint,
                    tag: entry.tag, offset: entry.offset, forcedEnd: entry.pendingEnd, source: source, now: now)
                rescued.rotatedOut = true
                files[copy.identity] = rescued
                ignoredCopies[copy.identity] = nil
            } else {
                remember(identity: identity, fingerprint: entry.fingerprint, tag: entry.tag, end: resumeEnd)
            }
            files[identity] = TailedFile(
                identity: identity, sourceIndex: sourceIndex, path: path, fd: fd, fingerprint: fingerprint,
                tag: Self.newTag(), offset: 0, forcedEnd: nil, source: source, now: now)
            dirty = true
            return
        }
        if let done = finishedStream(continuedBy: identity, fd: fd) {
            // A copy (or a rotation) of a stream already read: only what lies past its end is new.
            guard size > done.end else {
                ignoredCopies[identity] = size
                Glibc.close(fd)
                return
            }
            files[identity] = TailedFile(
                identity: identity, sourceIndex: sourceIndex, path: path, fd: fd, fingerprint: done.fingerprint,
                tag: done.tag, offset: done.end, forcedEnd: nil, source: source, now: now)
            finished.removeAll { $0.tag == done.tag }
            dirty = true
            logger.debug("tailing \(path) from \(done.end): it continues a stream already read")
            return
        }
        if mayBeCopy, isCopyOfFollowedFile(fd, size: size) {
            ignoredCopies[identity] = size
            Glibc.close(fd)
            return
        }
        let firstPoll = !startedSources.contains(source.key)
        let start: UInt64 = firstPoll && source.startAt == .end ? size : 0
        files[identity] = TailedFile(
            identity: identity, sourceIndex: sourceIndex, path: path, fd: fd, fingerprint: fingerprint,
            tag: Self.newTag(), offset: start, forcedEnd: nil, source: source, now: now)
        dirty = true
        logger.debug("tailing \(path) from \(start)")
    }

    /// Records a stream read to `end` and let go of (see `TailCheckpoints.FinishedStream`).
    func remember(identity: FileIdentity, fingerprint: FileFingerprint, tag: String, end: UInt64) {
        let now = WallClock.nowUnixNano()
        finished.removeAll { $0.tag == tag || now - min(now, $0.finishedAtUnixNano) > Self.finishedLifetimeNanos }
        if finished.count >= Self.finishedMemory { finished.removeFirst(finished.count - Self.finishedMemory + 1) }
        finished.append(.init(identity: identity, fingerprint: fingerprint, tag: tag, end: end, finishedAtUnixNano: now))
        dirty = true
    }

    /// The most recent finished stream that the open file `fd` continues, if any.
    func finishedStream(continuedBy identity: FileIdentity, fd: Int32) -> TailCheckpoints.FinishedStream? {
        finished.last { $0.isContinued(by: identity, fd: fd) }
    }

    /// Whether the file open at `fd`, of `size` bytes, is a copy of a followed file (copytruncate):
    /// it starts with the followed file's first bytes and is no larger than that file — unless
    /// that file was truncated or rewritten meanwhile (then the copy holds more than it). A
    /// larger file that merely starts the same (a short banner or header many files begin
    /// with) is a file of its own. Files known only by their checkpoint are compared by their
    /// first bytes alone.
    func isCopyOfFollowedFile(_ fd: Int32, size: UInt64) -> Bool {
        for file in files.values where file.fingerprint.length > 0 {
            guard FileFingerprint.read(fd: fd, length: file.fingerprint.length) == file.fingerprint else { continue }
            guard let originalSize = file.size(), size > originalSize else { return true }
            if originalSize < file.readOffset || !file.fingerprint.matches(fd: file.fd) { return true }
        }
        for entry in savedEntries.values where entry.fingerprint.length > 0 {
            guard FileFingerprint.read(fd: fd, length: entry.fingerprint.length) == entry.fingerprint else { continue }
            // A parked file still at its path and intact (its first bytes, and at least what was
            // read of it), and smaller than this one: this one is a file of its own.
            guard let originalSize = Self.intactSize(of: entry), size > originalSize else { return true }
        }
        return false
    }

    /// The size of a parked file if it is still at its path, still starts as it did, and is not
    /// shorter than what was read of it; nil otherwise (gone, truncated or rewritten).
    static func intactSize(of entry: TailCheckpoints.Entry) -> UInt64? {
        guard let fd = TailedFileOpening.open(entry.path, identity: entry.identity) else { return nil }
        defer { Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, UInt64(info.st_size) >= entry.offset, entry.fingerprint.matches(fd: fd) else { return nil }
        return UInt64(info.st_size)
    }

    /// Whether the agent may read `path`, by its effective IDs and capabilities (a log shipper
    /// running with `CAP_DAC_READ_SEARCH` may read what its user could not).
    static func mayRead(_ path: String) -> Bool {
        faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) == 0
    }

    /// True when the supposed copy at `path` is now larger than every followed file it starts like.
    func outgrowsItsOriginal(_ path: String, size: UInt64) -> Bool {
        guard let fd = TailedFileOpening.open(path) else { return false }
        defer { Glibc.close(fd) }
        for file in files.values where file.fingerprint.length > 0 && FileFingerprint.read(fd: fd, length: file.fingerprint.length) == file.fingerprint {
            if size <= file.size() ?? 0 { return false }
        }
        for entry in savedEntries.values where entry.fingerprint.length > 0 && FileFingerprint.read(fd: fd, length: entry.fingerprint.length) == entry.fingerprint {
            if size <= Self.intactSize(of: entry) ?? 0 { return false }
        }
        return true
    }



    /// Names a file the agent may not read, once per file.
    func warnUnreadable(_ path: String, _ identity: FileIdentity) {
        if unreadableWarned.count >= 4_096 { unreadableWarned = [] }
        guard unreadableWarned.insert(identity).inserted else { return }
        logger.warning("cannot read \(path): permission denied; it is read once the agent may read it")
    }

    /// Whether `path` still leads to the file `identity`.
    static func holds(_ path: String, _ identity: FileIdentity) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && FileIdentity(info) == identity
    }

    /// What one look did about the open-file budget.
    struct DescriptorBudget {
        /// Idle files closed to make room.
        var parked = 0
        /// New files left unopened for want of a descriptor (opened at a later look).
        var waiting = 0
        /// Files parked and rotated away that could not be opened yet: kept for the next look.
        var deferredRecoveries: Set<FileIdentity> = []
        /// Files that may be parked, longest idle first (taken once, when first needed).
        var candidates: [TailedFile]?
        /// Files opened in this look: never parked before they were read.
        var opened: Set<FileIdentity> = []
    }

    /// True when one more file may be opened: under `maxOpenFiles`, or after parking the
    /// longest-idle file that has nothing waiting to be sent.
    func makeRoom(_ budget: inout DescriptorBudget) -> Bool {
        if files.count < maxOpenFiles { return true }
        if budget.candidates == nil {
            budget.candidates = files.values
                .filter { !$0.rotatedOut && $0.forcedEnd == nil && $0.isDrained && !budget.opened.contains($0.identity) }
                .sorted { $0.lastGrowth > $1.lastGrowth }
        }
        while let file = budget.candidates?.popLast() {
            guard files[file.identity] === file, file.isDrained, !budget.opened.contains(file.identity) else { continue }
            park(file)
            budget.parked += 1
            return true
        }
        return false
    }

    /// Closes a followed file that has nothing waiting to be sent, keeping its place as a
    /// checkpoint entry: it is opened again (like a file resumed after a restart) when it grows,
    /// is truncated, or a descriptor is free; renamed meanwhile, it is found by inode.
    func park(_ file: TailedFile) {
        savedEntries[file.identity] = TailCheckpoints.Entry(
            identity: file.identity, fingerprint: file.fingerprint, tag: file.tag, path: file.path,
            source: sources[file.sourceIndex].key, offset: file.committed, pendingEnd: nil)
        file.close()
        files[file.identity] = nil
        dirty = true
    }

    /// A new file seen at a `start_at: end` source's first look with no descriptor free: parked
    /// at its current end, so that only what is written after that look is read.
    func parkUnopened(_ path: String, identity: FileIdentity, sourceIndex: Int) {
        guard let fd = TailedFileOpening.open(path, identity: identity) else { return }
        defer { Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return }
        savedEntries[identity] = TailCheckpoints.Entry(
            identity: identity, fingerprint: FileFingerprint.read(fd: fd) ?? .empty, tag: Self.newTag(), path: path,
            source: sources[sourceIndex].key, offset: UInt64(info.st_size), pendingEnd: nil)
        dirty = true
    }

    static func newTag() -> String { String(UInt64.random(in: 1...UInt64.max), radix: 36) }

    struct FoundFile {
        var path: String
        var identity: FileIdentity
        var fd: Int32
        var size: UInt64
    }

    /// Files followed or parked: never taken for another file's copy.
    var knownIdentities: Set<FileIdentity> { Set(files.keys).union(savedEntries.keys) }

    /// The largest file in `directories` whose first bytes have `fingerprint` (a copytruncate
    /// copy), other than the `excluding` ones.
    static func findCopy(in directories: [String], of fingerprint: FileFingerprint, minSize: UInt64, excluding: Set<FileIdentity>) -> FoundFile? {
        guard fingerprint.length > 0 else { return nil }
        var best: FoundFile?
        for directory in directories {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
            for name in names {
                let path = (directory as NSString).appendingPathComponent(name)
                var info = stat()
                guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                let identity = FileIdentity(info)
                let size = UInt64(info.st_size)
                guard !excluding.contains(identity), size >= minSize, size >= UInt64(fingerprint.length), size > best?.size ?? 0 || best == nil else { continue }
                guard let fd = TailedFileOpening.open(path, identity: identity) else { continue }
                if fingerprint.matches(fd: fd) {
                    if let previous = best { Glibc.close(previous.fd) }
                    best = FoundFile(path: path, identity: identity, fd: fd, size: size)
                } else {
                    Glibc.close(fd)
                }
            }
        }
        return best
    }

    static func findFile(in directory: String, where matches: (FileIdentity, String) -> Bool) -> FoundFile? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, matches(FileIdentity(info), path) else { continue }
            guard let fd = TailedFileOpening.open(path, identity: FileIdentity(info)) else { continue }
            return FoundFile(path: path, identity: FileIdentity(info), fd: fd, size: UInt64(info.st_size))
        }
        return nil
    }
}

/// Whether a path is one of the agent's own files: its checkpoint (and the checkpoint's
/// temporary), or anything in its queue or dead-letter directory — by the real path of the
/// path's directory, each directory resolved once per look. Other files in or below the data
/// directory are the user's.
struct OwnDirectoryCheck {
    let dataDirectory: String?
    private enum Place { case root, own, elsewhere }
    private var places: [Substring: Place] = [:]

    init(dataDirectory: String?) {
        self.dataDirectory = dataDirectory
    }

    mutating func contains(_ path: String) -> Bool {
        guard let dataDirectory else { return false }
        let slash = path.lastIndex(of: "/")
        let parent = slash.map { path[..<$0] } ?? "."
        let place: Place
        if let known = places[parent] {
            place = known
        } else {
            let resolved = OwnDirectoryCheck.realPath(parent.isEmpty ? "/" : String(parent))
            let base = dataDirectory == "/" ? "" : dataDirectory
            let ownDirectories = [AgentConfiguration.queueDirectoryName, AgentConfiguration.deadLetterDirectoryName].map { "\(base)/\($0)" }
            if resolved == dataDirectory {
                place = .root
            } else if let resolved, ownDirectories.contains(where: { resolved == $0 || resolved.hasPrefix($0 + "/") }) {
                place = .own
            } else {
                place = .elsewhere
            }
            places[parent] = place
        }
        switch place {
        case .root: return (slash.map { path[path.index(after: $0)...] } ?? path[...]).hasPrefix(AgentConfiguration.tailCheckpointName)
        case .own: return true
        case .elsewhere: return false
        }
    }

    /// The canonical absolute path (symbolic links resolved); nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
