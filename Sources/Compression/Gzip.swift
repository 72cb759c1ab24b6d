import CZlib

/// gzip through the system zlib, with the same hard output limit as `Zstd`.
public enum Gzip {
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        // 15 + 16: a gzip header and trailer rather than raw zlib.
        deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                      ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 32)
        var input = input
        let written: Int = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = destination.baseAddress
                stream.avail_out = uInt(destination.count)
                deflate(&stream, Z_FINISH)
                return Int(stream.total_out)
            }
        }
        output.removeSubrange(written...)
        return output
    }

    /// Decompresses `input`, refusing output past `limit` bytes; before the output grows,
    /// `mayGrow` is asked with its new size, and refusing stops with `outputRefused`.
    public static func decompress(_ input: [UInt8], limit: Int, mayGrow: (Int) -> Bool = { _ in true }) throws(CompressionError) -> [UInt8] {
        var stream = z_stream()
        // 15 + 32: accept gzip or zlib headers.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("gzip: cannot initialise zlib")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var input = input
        var status: Int32 = Z_OK
        let failure: CompressionError? = input.withUnsafeMutableBufferPointer { source -> CompressionError? in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            repeat {
                let produced: Int = buffer.withUnsafeMutableBufferPointer { destination in
                    stream.next_out = destination.baseAddress
                    stream.avail_out = uInt(destination.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return destination.count - Int(stream.avail_out)
                }
                if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
                    let reason = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    return .corrupt("gzip: \(reason)")
                }
                if output.count + produced > limit { return .outputLimitExceeded(limit: limit) }
                if produced > 0, !mayGrow(output.count + produced) { return .outputRefused(bytes: output.count + produced) }
                output.append(contentsOf: buffer[0..<produced])
                if status == Z_BUF_ERROR && produced == 0 { break }
            } while status != Z_STREAM_END
            return nil
        }
        if let failure { throw failure }
        guard status == Z_STREAM_END else { throw .truncated }
        return output
    }
}
