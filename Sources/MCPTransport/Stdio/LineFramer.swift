import Glibc
import MCPCore

/// Splits a byte stream into newline-delimited messages, enforcing the size
/// cap while reading: an over-long line is discarded as it streams in (never
/// buffered whole) and reported once its end is seen. With `scansOversized`
/// the skipped bytes go through an EnvelopeScanner on the way, so the report
/// says which request the line answered.
public struct LineFramer {
    public enum Event {
        case line(UnsafeRawBufferPointer)
        /// The scanner that read the line, when the framer scans.
        case oversized(EnvelopeScanner?)
    }

    public let maxLineBytes: Int
    private let scansOversized: Bool
    private var pending: [UInt8] = []
    private var discarding = false
    private var scanner: EnvelopeScanner?

    public init(maxLineBytes: Int, scansOversized: Bool = false) {
        self.maxLineBytes = maxLineBytes
        self.scansOversized = scansOversized
    }

    /// Bytes of a line being skipped.
    private mutating func skip(_ bytes: UnsafeRawBufferPointer) {
        guard scansOversized else { return }
        if scanner == nil { scanner = EnvelopeScanner() }
        scanner?.feed(bytes)
    }

    private mutating func skipPending() {
        let held = pending
        held.withUnsafeBytes { skip($0) }
    }

    /// The skipped line ended.
    private mutating func reportOversized(_ handle: (Event) -> Void) {
        let s = scanner
        scanner = nil
        handle(.oversized(s))
    }

    /// Feeds bytes; `handle` sees each complete line (borrowed, valid during the call).
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ handle: (Event) -> Void) {
        guard let base = chunk.baseAddress else { return }
        var start = 0
        let n = chunk.count
        while start < n {
            guard let nl = memchr(base + start, 0x0A, n - start) else {
                let rest = UnsafeRawBufferPointer(start: base + start, count: n - start)
                if discarding {
                    skip(rest)
                } else if pending.count + rest.count > maxLineBytes {
                    discarding = true
                    skipPending()
                    skip(rest)
                    pending = []
                } else {
                    pending.append(contentsOf: rest)
                }
                return
            }
            let end = UnsafeRawPointer(nl) - base
            let piece = UnsafeRawBufferPointer(start: base + start, count: end - start)
            if discarding {
                discarding = false
                skip(piece)
                reportOversized(handle)
            } else if pending.isEmpty {
                if piece.count > maxLineBytes {
                    skip(piece)
                    reportOversized(handle)
                    start = end + 1
                    continue
                }
                emit(piece, handle)
            } else if pending.count + piece.count > maxLineBytes {
                skipPending()
                skip(piece)
                pending = []
                reportOversized(handle)
            } else {
                pending.append(contentsOf: piece)
                pending.withUnsafeBytes { emit($0, handle) }
                // The buffer is kept, whatever its size (at most maxLineBytes): a
                // peer that sent one large line usually sends more, and regrowing
                // from nothing costs a copy per doubling and a page fault per page.
                pending.removeAll(keepingCapacity: true)
            }
            start = end + 1
        }
    }

    /// End of input: a last line without a newline still counts.
    public mutating func finish(_ handle: (Event) -> Void) {
        if discarding {
            discarding = false
            reportOversized(handle)
        } else if !pending.isEmpty {
            pending.withUnsafeBytes { emit($0, handle) }
        }
        pending = []
    }

    private func emit(_ line: UnsafeRawBufferPointer, _ handle: (Event) -> Void) {
        var count = line.count
        // Accept CRLF framing; skip blank lines (keep-alives from some clients).
        if count > 0, line[count - 1] == 0x0D { count -= 1 }
        var blank = true
        for i in 0..<count where line[i] != 0x20 && line[i] != 0x09 {
            blank = false
            break
        }
        if blank { return }
        handle(.line(UnsafeRawBufferPointer(rebasing: line[0..<count])))
    }
}
