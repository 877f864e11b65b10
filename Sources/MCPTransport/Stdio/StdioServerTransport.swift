import Glibc
import MCPCore
import MCPRuntime

public struct StdioOptions: Sendable {
    public var maxMessageBytes = 16 << 20
    public var drainTimeoutMs = 30_000
    public var redirectStdout = true
    /// Bytes of answers waiting for a client that does not read them; past
    /// it (or 4096 answers) requests are no longer read until it catches up.
    public var maxQueuedBytes = 16 << 20
    /// Requests read but not yet answered; past it reading pauses until one
    /// is answered (tools on worker threads run concurrently up to here).
    public var maxInFlight = 1024
    /// The largest answer buffer (1 MiB or more) kept after its write for the
    /// next answer to reuse; 0 keeps none. Held until the serve ends.
    public var keptBufferBytes = 64 << 20
    public init() {}
}

public enum TransportError: Error, Sendable {
    case io(String)
}

/// Serves one session over a pair of descriptors with newline-delimited
/// JSON-RPC. Reads block in poll()/read() on a thread of the caller's: the
/// descriptors are never made non-blocking, since that flag would leak into
/// the host's own stdin/stdout (it lives on the shared open file description).
public enum StdioServerTransport {
    /// Serves on the process's stdin/stdout. With `redirectStdout`, fd 1 points
    /// at stderr while serving, so stray prints cannot corrupt the protocol.
    public static func serveStdio(server: ServerCore, options: StdioOptions, stop: StopSignal) throws(TransportError) {
        guard options.redirectStdout else {
            return try serve(server: server, input: 0, output: 1, options: options, stop: stop)
        }
        fflush(nil)
        let protocolFD = dup(1)
        guard protocolFD >= 0 else { throw .io("dup(1) failed: \(String(cString: strerror(errno)))") }
        _ = fcntl(protocolFD, F_SETFD, FD_CLOEXEC)
        dup2(2, 1)
        defer {
            fflush(nil)
            dup2(protocolFD, 1)
            close(protocolFD)
        }
        try serve(server: server, input: 0, output: protocolFD, options: options, stop: stop)
    }

    public static func serve(server: ServerCore, input: Int32, output: Int32, options: StdioOptions,
                             stop: StopSignal) throws(TransportError)
    {
        // Blocked for the whole serve, so the writes made on this thread skip
        // masking it each time (restored on return).
        try SIGPIPEBlock.whileBlocked { () throws(TransportError) in
            try serveBlocked(server: server, input: input, output: output, options: options, stop: stop)
        }
    }

    private static func serveBlocked(server: ServerCore, input: Int32, output: Int32, options: StdioOptions,
                                     stop: StopSignal) throws(TransportError)
    {
        let writer = FDWriter(fd: output, maxPendingBytes: options.maxQueuedBytes,
                              keptBufferBytes: options.keptBufferBytes)
        let observer = server.observer
        let channel = ClosureChannel(spanTransport: .pipe, outputBuffer: writer.outputBuffer(capacity:)) { message in
            observer?.bytesSent(message.count + 1)
            writer.write(message: message)
        }
        let session = server.makeSession(defaultChannel: channel)
        observer?.streamOpened(.stdio)
        defer {
            session.close()
            writer.flush()
            observer?.streamClosed(.stdio)
        }
        var framer = LineFramer(maxLineBytes: options.maxMessageBytes)
        let handle: (LineFramer.Event) -> Void = { event in
            switch event {
            case .line(let bytes):
                observer?.bytesReceived(bytes.count + 1)
                session.receive(bytes)
            case .oversized:
                observer?.refused(cause: "413", method: nil, asRequest: true)
                EngineLog.warning("stdio", "Message larger than the \(options.maxMessageBytes)-byte limit; skipped",
                                  ["cause": .string("413")])
                session.rejectOversized(limit: options.maxMessageBytes)
            }
        }
        let chunkSize = 64 * 1024
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 1)
        defer { chunk.deallocate() }
        var fds = [pollfd(fd: input, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stop.readFD, events: Int16(POLLIN), revents: 0)]
        readLoop: while true {
            // A client that does not read its answers gets no more requests
            // read: answers made on worker threads would otherwise wait in
            // memory, and requests for them pile up in the worker queue,
            // without bound. (Inline answers block this thread anyway.) The
            // in-flight bound also covers the time before the output backs up,
            // when workers lag behind this thread.
            while !writer.waitUntilWritable(until: MonotonicInstant.now().adding(milliseconds: 100))
                || !session.waitForInFlight(below: options.maxInFlight,
                                            until: MonotonicInstant.now().adding(milliseconds: 100))
            {
                if writer.isBroken || stop.isTriggered { break readLoop }
            }
            fds[0].revents = 0
            fds[1].revents = 0
            let rc = poll(&fds, 2, -1)
            if rc < 0 {
                if errno == EINTR { continue }
                throw .io("poll failed: \(String(cString: strerror(errno)))")
            }
            if fds[1].revents != 0 { break readLoop }
            if fds[0].revents == 0 { continue }
            let n = read(input, chunk.baseAddress, chunkSize)
            if n > 0 {
                // Answers made on this thread (inline tools, errors, ping) for
                // the lines of one read leave in one write.
                writer.batching { framer.feed(UnsafeRawBufferPointer(rebasing: chunk[0..<n]), handle) }
            } else if n == 0 {
                break readLoop
            } else if errno == EINTR || errno == EAGAIN {
                continue
            } else {
                throw .io("read failed: \(String(cString: strerror(errno)))")
            }
            if writer.isBroken { break readLoop }
        }
        framer.finish(handle)
        // Listen streams never end on their own: the server ends them (each
        // gets its listen result) so the drain below does not wait for them.
        server.endListeners { $0 === session }
        // In-flight answers are written before returning (up to the timeout).
        _ = session.waitForInFlight(until: MonotonicInstant.now().adding(milliseconds: options.drainTimeoutMs))
    }
}
