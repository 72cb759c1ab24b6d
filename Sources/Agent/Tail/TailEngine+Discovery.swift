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
        var resumed: [(path: String, identity: FileIdentity, source: Int)] = []
        for (index, matcher) in matchers.enumerated() {
            for path in matcher.paths() {
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
                } else if savedEntries[identity] != nil {
                    resumed.append((path, identity, index))
                } else {
                    fresh.append((path, identity, index))
                    rotatedPaths[path] = index
                }
            }
        }
        ignoredCopies = ignoredCopies.filter { seen.contains($0.key) }
        for file in files.values where !seen.contains(file.identity) && !file.rotatedOut {
            file.rotatedOut = true
            rotatedPaths[file.path] = file.sourceIndex
            counters.update { $0.rotations += 1 }
        }
        if polls == 1 {
            for entry in savedEntries.values {
                if let index = sources.firstIndex(where: { $0.key == entry.source }) { rotatedPaths[entry.path] = index }
            }
        }
        // Files with a checkpoint first, so that a copy is recognised as one.
        for item in resumed { open(item.path, identity: item.identity, sourceIndex: item.source) }
        if polls == 1 { recoverRotatedAway() }
        for item in fresh { open(item.path, identity: item.identity, sourceIndex: item.source, mayBeCopy: !outgrown.contains(item.identity)) }
        if let since = lastDiscoveryUnixNano, !rotatedPaths.isEmpty { adoptUnwatchedRotations(of: rotatedPaths, since: since, globbed: globbed) }
        if polls == 1 { savedEntries = [:] }
        lastDiscoveryUnixNano = startedAt
        let newlyStarted = sources.map(\.key).filter { !startedSources.contains($0) }
        if !newlyStarted.isEmpty {
            startedSources.formUnion(newlyStarted)
            dirty = true
        }
    }

    /// After a restart: a checkpointed file no glob matches any more was renamed by a rotation
    /// while the agent was down — find it by inode in its directory and read it to its end.
    func recoverRotatedAway() {
        for entry in savedEntries.values {
            guard files[entry.identity] == nil, let sourceIndex = sources.firstIndex(where: { $0.key == entry.source }) else { continue }
            let directory = (entry.path as NSString).deletingLastPathComponent
            guard let found = Self.findFile(in: directory, where: { identity, _ in identity == entry.identity }),
                  entry.fingerprint.matches(fd: found.fd) else { continue }
            let file = TailedFile(
                identity: entry.identity, sourceIndex: sourceIndex, path: found.path, fd: found.fd, fingerprint: entry.fingerprint,
                tag: entry.tag, offset: entry.offset, forcedEnd: entry.pendingEnd, source: sources[sourceIndex], now: timeline.now)
            file.rotatedOut = true
            files[entry.identity] = file
            savedEntries[entry.identity] = nil
            logger.debug("resuming rotated file \(found.path) at \(entry.offset)")
        }
    }

    /// After a rotation: a file renamed to a rotation of a followed path that the tailer never
    /// saw (created and rotated away between two looks, or while the agent was down) is read from
    /// its start; a released file that grew since is read from where it ended. Copies are not.
    func adoptUnwatchedRotations(of paths: [String: Int], since: UInt64, globbed: Set<String>) {
        let threshold = since > Self.modificationSlackNanos ? since - Self.modificationSlackNanos : 0
        for (path, sourceIndex) in paths.sorted(by: { $0.key < $1.key }) {
            for sibling in RotatedSiblings.of(path) where !globbed.contains(sibling) {
                var info = stat()
                guard stat(sibling, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                let identity = FileIdentity(info)
                guard files[identity] == nil, savedEntries[identity] == nil, ignoredCopies[identity] == nil else { continue }
                let size = UInt64(info.st_size)
                let modified = WallClock.unixNano(seconds: Int64(info.st_mtim.tv_sec), nanoseconds: Int64(info.st_mtim.tv_nsec))
                let fd = Glibc.open(sibling, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { continue }
                var start: UInt64 = 0
                var tag = Self.newTag()
                var fingerprint = FileFingerprint.read(fd: fd) ?? .empty
                if let done = finishedStream(continuedBy: identity, fd: fd) {
                    guard size > done.end else {
                        Glibc.close(fd)
                        continue
                    }
                    (start, tag, fingerprint) = (done.end, done.tag, done.fingerprint)
                } else if modified < threshold || isCopyOfFollowedFile(fd) {
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
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        var info = stat()
        guard fstat(fd, &info) == 0, FileIdentity(info) == identity else {
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
            let directory = (path as NSString).deletingLastPathComponent
            if let copy = Self.findCopy(in: directory, of: entry.fingerprint, minSize: resumeEnd, excluding: identity),
               files[copy.identity] == nil {
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
        if mayBeCopy, isCopyOfFollowedFile(fd) {
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

    func isCopyOfFollowedFile(_ fd: Int32) -> Bool {
        let fingerprints = files.values.map(\.fingerprint) + savedEntries.values.map(\.fingerprint)
        for fingerprint in fingerprints where fingerprint.length > 0 {
            if FileFingerprint.read(fd: fd, length: fingerprint.length) == fingerprint { return true }
        }
        return false
    }

    /// True when the supposed copy at `path` is now larger than every followed file it starts like.
    func outgrowsItsOriginal(_ path: String, size: UInt64) -> Bool {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        for file in files.values where file.fingerprint.length > 0 && FileFingerprint.read(fd: fd, length: file.fingerprint.length) == file.fingerprint {
            if size <= file.size() ?? 0 { return false }
        }
        return true
    }



    static func newTag() -> String { String(UInt64.random(in: 1...UInt64.max), radix: 36) }

    struct FoundFile {
        var path: String
        var identity: FileIdentity
        var fd: Int32
        var size: UInt64
    }

    /// The largest file in `directory` whose first bytes have `fingerprint` (a copytruncate copy).
    static func findCopy(in directory: String, of fingerprint: FileFingerprint, minSize: UInt64, excluding: FileIdentity) -> FoundFile? {
        guard fingerprint.length > 0 else { return nil }
        var best: FoundFile?
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let identity = FileIdentity(info)
            let size = UInt64(info.st_size)
            guard identity != excluding, size >= minSize, size >= UInt64(fingerprint.length), size > best?.size ?? 0 || best == nil else { continue }
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if fingerprint.matches(fd: fd) {
                if let previous = best { Glibc.close(previous.fd) }
                best = FoundFile(path: path, identity: identity, fd: fd, size: size)
            } else {
                Glibc.close(fd)
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
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            return FoundFile(path: path, identity: FileIdentity(info), fd: fd, size: UInt64(info.st_size))
        }
        return nil
    }
}
