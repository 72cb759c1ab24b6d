#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import PeriscopeLogLines

/// One open file the tailer follows, and the state of its byte stream: what is in the queue
/// (`committed`), what was read (`readOffset`), and the lines and records in between.
final class TailedFile {
    let identity: FileIdentity
    let sourceIndex: Int
    var path: String
    private(set) var fd: Int32
    /// Of the file's first bytes; grows with the file up to 1 KiB.
    var fingerprint: FileFingerprint
    var tag: String
    var committed: UInt64
    var readOffset: UInt64
    /// A range that may already be in the queue (from the checkpoint): re-sent exactly, same ID.
    var forcedEnd: UInt64?
    var splitter: LineSplitter
    var assembler: MultilineAssembler
    var records = RecordBuffer()
    var lastGrowth: Duration
    /// No glob path points at this file any more (renamed away or deleted): read it to its end, then release it.
    var rotatedOut = false

    init(identity: FileIdentity, sourceIndex: Int, path: String, fd: Int32, fingerprint: FileFingerprint, tag: String,
         offset: UInt64, forcedEnd: UInt64?, source: TailSource, now: Duration) {
        self.identity = identity
        self.sourceIndex = sourceIndex
        self.path = path
        self.fd = fd
        self.fingerprint = fingerprint
        self.tag = tag
        self.committed = offset
        self.readOffset = offset
        self.forcedEnd = forcedEnd
        self.splitter = LineSplitter(maxLineBytes: source.maxLineBytes, offset: offset)
        self.assembler = MultilineAssembler(startPattern: source.multiline?.startPattern)
        self.lastGrowth = now
    }

    /// Starts the stream over at `offset` under a new tag (after a truncation or inode reuse).
    func reset(to offset: UInt64, tag: String, source: TailSource, fingerprint: FileFingerprint) {
        self.tag = tag
        self.fingerprint = fingerprint
        committed = offset
        readOffset = offset
        forcedEnd = nil
        splitter = LineSplitter(maxLineBytes: source.maxLineBytes, offset: offset)
        assembler = MultilineAssembler(startPattern: source.multiline?.startPattern)
        records = RecordBuffer()
    }

    /// Takes over another file's stream (copytruncate: the copy continues what the original held).
    func adoptStream(of other: TailedFile) {
        tag = other.tag
        committed = other.committed
        readOffset = other.readOffset
        forcedEnd = other.forcedEnd
        splitter = other.splitter
        assembler = other.assembler
        records = other.records
        fingerprint = other.fingerprint
    }

    /// Cuts a chunk just read into lines and records; returns how many lines it completed.
    func ingest(_ chunk: UnsafeRawBufferPointer) -> Int {
        // Worked on as locals (moved out, so nothing is copied): one exclusive access for the
        // whole chunk instead of one per line.
        var splitter = LineSplitter(maxLineBytes: 0, offset: 0)
        var assembler = MultilineAssembler(startPattern: nil)
        var records = RecordBuffer()
        swap(&splitter, &self.splitter)
        swap(&assembler, &self.assembler)
        swap(&records, &self.records)
        var lines = 0
        splitter.feed(chunk) { line in
            assembler.add(line, into: &records)
            lines += 1
        }
        swap(&splitter, &self.splitter)
        swap(&assembler, &self.assembler)
        swap(&records, &self.records)
        return lines
    }

    /// Ends an unfinished last line as a record; true if there was one.
    @discardableResult
    func flushPartialLine() -> Bool {
        var flushed = false
        var records = RecordBuffer()
        swap(&records, &self.records)
        splitter.flushPartial { line in
            assembler.add(line, into: &records)
            flushed = true
        }
        swap(&records, &self.records)
        return flushed
    }

    /// Nothing read is waiting to be sent.
    var isDrained: Bool { records.isEmpty && !splitter.hasPartialLine && assembler.openStart == nil && committed == readOffset }

    func size() -> UInt64? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        return UInt64(info.st_size)
    }

    var linkCount: Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return 0 }
        return Int(info.st_nlink)
    }

    /// Reads up to `buffer.count` bytes at `offset`.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let count = pread(fd, buffer.baseAddress!, buffer.count, off_t(offset))
            if count < 0 && errno == EINTR { continue }
            return max(count, 0)
        }
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}
