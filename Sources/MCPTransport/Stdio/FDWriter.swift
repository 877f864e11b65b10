import Glibc
import MCPCore
import MCPRuntime

/// Writes newline-framed messages to a blocking file descriptor from any
/// thread. Messages pushed while a write is under way are coalesced into the
/// next write. SIGPIPE is blocked around each write, so a closed reader gives
/// EPIPE (the writer then drops further output) instead of killing the host.
public final class FDWriter: Sendable {
    private let queue: CombiningQueue<[UInt8]>
    private let state: LockedState<Bool>  // true once the descriptor failed
    /// The buffer of the last large message written alone, for the next
    /// answer to be written into (outputBuffer).
    private let spare: LockedState<[UInt8]?>
    private static let reusedFrom = 1 << 20

    /// Past `maxPendingMessages` messages or `maxPendingBytes` bytes waiting
    /// behind a write that does not finish (a reader that stopped reading),
    /// writers block, and `waitUntilWritable` holds back the reader of requests.
    /// `keptBufferBytes`: the largest buffer of a written message (of 1 MiB or
    /// more) kept for outputBuffer to hand out again; 0 keeps none.
    public init(fd: Int32, maxPendingMessages: Int = 4096, maxPendingBytes: Int = 16 << 20, keptBufferBytes: Int = 0) {
        let broken = LockedState(false)
        let spare = LockedState<[UInt8]?>(nil)
        state = broken
        self.spare = spare
        queue = CombiningQueue(maxPending: maxPendingMessages, maxPendingCost: maxPendingBytes,
                               cost: { $0.count + 1 }) { batch in
            if broken.withLock({ $0 }) { return }
            if batch.count == 1, batch[0].count >= 1 << 16 {
                // A large message goes out as it is: no copy of megabytes to add its newline.
                if !FDWriter.writeAll(fd: fd, batch[0]) || !FDWriter.writeAll(fd: fd, [0x0A]) {
                    broken.withLock { $0 = true }
                }
                let capacity = batch[0].capacity
                if capacity >= FDWriter.reusedFrom && capacity <= keptBufferBytes {
                    spare.withLock { $0 = batch[0] }
                }
                return
            }
            var out: [UInt8] = []
            out.reserveCapacity(batch.reduce(0) { $0 + $1.count + 1 })
            for m in batch {
                out.append(contentsOf: m)
                out.append(0x0A)
            }
            if !FDWriter.writeAll(fd: fd, out) { broken.withLock { $0 = true } }
        }
    }

    public var isBroken: Bool { state.withLock { $0 } }

    /// An empty array with room for `capacity` bytes: for 1 MiB or more, the
    /// kept buffer of the last large message when it is big enough. Its pages
    /// are already mapped, where a fresh buffer of megabytes is mapped anew
    /// (glibc returns freed large blocks to the kernel) and faulted in page by
    /// page as it fills: for a 20 MB answer, 5,000 page faults saved.
    public func outputBuffer(capacity: Int) -> [UInt8] {
        if capacity >= FDWriter.reusedFrom, var b = spare.withLock({ $0.take() }),
           b.capacity >= capacity
        {
            // In place when the writer has let go of it (it has, once the write
            // returned); a new allocation otherwise, never a copy.
            b.removeAll(keepingCapacity: true)
            return b
        }
        return JSONSerializer.emptyBuffer(capacity: capacity)
    }

    public func write(message: [UInt8]) { queue.push(message) }

    public func flush() { queue.waitUntilDelivered() }

    /// Blocks while output is backed up (see init), or until the deadline;
    /// true when a message could be queued without blocking.
    public func waitUntilWritable(until deadline: MonotonicInstant?) -> Bool {
        queue.waitUntilNotFull(until: deadline)
    }

    /// Runs `body`; messages this thread writes meanwhile go out in one write
    /// when it returns (answers the reader thread produced for one read).
    public func batching(_ body: () -> Void) { queue.holding(body) }

    static func writeAll(fd: Int32, _ bytes: [UInt8]) -> Bool {
        var set = sigset_t()
        var old = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        // Engine threads block SIGPIPE for good; others only around the write
        // (two more system calls per write).
        let masked = !SIGPIPEBlock.isBlockedOnThisThread
        if masked { pthread_sigmask(SIG_BLOCK, &set, &old) }
        defer { if masked { pthread_sigmask(SIG_SETMASK, &old, nil) } }
        return bytes.withUnsafeBytes { buf -> Bool in
            guard let base = buf.baseAddress else { return true }
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, base + off, buf.count - off)
                if n > 0 {
                    off += n
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EPIPE {
                    // Consume the SIGPIPE raised for this thread while blocked.
                    var zero = timespec(tv_sec: 0, tv_nsec: 0)
                    _ = sigtimedwait(&set, nil, &zero)
                }
                return false
            }
            return true
        }
    }
}
