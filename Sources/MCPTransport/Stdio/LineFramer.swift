import Glibc

/// Splits a byte stream into newline-delimited messages, enforcing the size
/// cap while reading: an over-long line is discarded as it streams in (never
/// buffered whole) and reported once its end is seen.
public struct LineFramer {
    public enum Event {
        case line(UnsafeRawBufferPointer)
        case oversized
    }

    public let maxLineBytes: Int
    private var pending: [UInt8] = []
    private var discarding = false

    public init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// Feeds bytes; `handle` sees each complete line (borrowed, valid during the call).
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ handle: (Event) -> Void) {
        guard let base = chunk.baseAddress else { return }
        var start = 0
        let n = chunk.count
        while start < n {
            guard let nl = memchr(base + start, 0x0A, n - start) else {
                let rest = n - start
                if !discarding {
                    if pending.count + rest > maxLineBytes {
                        discarding = true
                        pending = []
                    } else {
                        pending.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: rest))
                    }
                }
                return
            }
            let end = UnsafeRawPointer(nl) - base
            if discarding {
                discarding = false
                handle(.oversized)
            } else if pending.isEmpty {
                if end - start > maxLineBytes {
                    handle(.oversized)
                    start = end + 1
                    continue
                }
                emit(UnsafeRawBufferPointer(start: base + start, count: end - start), handle)
            } else if pending.count + (end - start) > maxLineBytes {
                pending = []
                handle(.oversized)
            } else {
                pending.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: end - start))
                pending.withUnsafeBytes { emit($0, handle) }
                // Keep a modest buffer for the next long line; release huge ones.
                if pending.capacity > 1 << 20 { pending = [] } else { pending.removeAll(keepingCapacity: true) }
            }
            start = end + 1
        }
    }

    /// End of input: a last line without a newline still counts.
    public mutating func finish(_ handle: (Event) -> Void) {
        if discarding {
            discarding = false
            handle(.oversized)
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
