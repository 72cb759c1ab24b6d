/// One line of a file, without its newline (and without a `\r` before it). The bytes are
/// borrowed from the read buffer: valid only during the call that hands the line over.
package struct RawLine {
    package var bytes: UnsafeRawBufferPointer
    /// File offsets: the line's first byte, and just past its newline.
    package var start: UInt64
    package var end: UInt64
    /// The line's full length when it was cut to `max_line_bytes`; nil when whole.
    package var truncatedFrom: Int?
    /// The line ended with a newline; not a partial last line sent after its timeout.
    package var endsWithNewline: Bool

    package init(bytes: UnsafeRawBufferPointer, start: UInt64, end: UInt64, truncatedFrom: Int?, endsWithNewline: Bool = true) {
        self.bytes = bytes
        self.start = start
        self.end = end
        self.truncatedFrom = truncatedFrom
        self.endsWithNewline = endsWithNewline
    }
}
