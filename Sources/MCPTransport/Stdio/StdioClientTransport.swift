import Glibc
import MCPCore
import MCPRuntime

/// Options of a stdio client connection.
public struct StdioClientOptions: Sendable {
    public var cwd: String?
    public var maxMessageBytes = 16 << 20
    /// How long each shutdown step waits (after closing stdin, after SIGTERM).
    public var closeGraceMs = 2000
    /// Where the child's stderr lines go (borrowed for the call, without the
    /// newline); nil: to this process's stderr.
    public var stderrLine: (@Sendable (UnsafeRawBufferPointer) -> Void)?
    public init() {}
}

/// Runs an MCP server as a child process and talks to it over its
/// stdin/stdout, one message a line. The child's stderr lines go to
/// `options.stderrLine` (they are logs, never errors, per the spec).
///
/// An answer longer than maxMessageBytes is skipped as it streams in; the
/// request it answered fails at once (transportLost), as over HTTP.
/// Threads: see ClientTransport; the receiver is called on a reader thread
/// of the transport's own.
public final class StdioClientTransport: ClientTransport {
    public var spanTransport: SpanTransport? { .pipe }
    public let process: ChildProcess
    private let writer: FDWriter
    private let readersDone = LockedState(0)
    private let closed = LockedState(false)
    private let options: StdioClientOptions

    public init(argv: [String], env: [String]?, options: StdioClientOptions) throws(TransportError) {
        process = try ChildProcess(argv: argv, env: env, cwd: options.cwd)
        writer = FDWriter(fd: process.stdinFD)
        self.options = options
    }

    public func send(_ message: [UInt8]) { writer.write(message: message) }

    /// The child's exit is not a transport failure: the session just closes.
    public var failure: String? { nil }

    /// Starts the reader threads; the receiver gets connectionEnded() once the
    /// server's stdout closes.
    public func start(_ receiver: any ClientTransportReceiver) {
        let out = process.stdoutFD, err = process.stderrFD, max = options.maxMessageBytes
        let stderrLine = options.stderrLine ?? Self.toOwnStderr
        WorkerPool.detach { [readersDone] in
            Self.readLines(fd: out, max: max, scansOversized: true) { event in
                switch event {
                case .line(let b): receiver.receive(b)
                case .oversized(let scan):
                    // An answer (no method) to a request still waiting: fail it now.
                    if let scan, !scan.hasMethod, let id = scan.id, receiver.isAwaiting(id) {
                        receiver.transportLost(id, reason: "The answer is larger than max_message_bytes (\(max))")
                    }
                }
            }
            readersDone.withLockAndNotify { $0 += 1 }
            receiver.connectionEnded()
        }
        WorkerPool.detach { [readersDone] in
            Self.readLines(fd: err, max: 64 * 1024, scansOversized: false) { event in
                if case .line(let b) = event { stderrLine(b) }
            }
            readersDone.withLockAndNotify { $0 += 1 }
        }
    }

    private static let toOwnStderr: @Sendable (UnsafeRawBufferPointer) -> Void = { line in
        var copy = Array(line)
        copy.append(0x0A)
        _ = copy.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    private static func readLines(fd: Int32, max: Int, scansOversized: Bool, _ deliver: (LineFramer.Event) -> Void) {
        var framer = LineFramer(maxLineBytes: max, scansOversized: scansOversized)
        let size = 64 * 1024
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 1)
        defer { buf.deallocate() }
        while true {
            let n = read(fd, buf.baseAddress, size)
            if n > 0 {
                framer.feed(UnsafeRawBufferPointer(rebasing: buf[0..<n]), deliver)
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        framer.finish(deliver)
    }

    /// Shuts the server down (stdin closed, wait, SIGTERM, SIGKILL) and waits
    /// for the readers. Idempotent.
    public func close() {
        let first = closed.withLock { c -> Bool in
            defer { c = true }
            return !c
        }
        guard first else { return }
        writer.flush()
        _ = process.terminate(graceMs: options.closeGraceMs)
        _ = readersDone.wait(until: MonotonicInstant.now().adding(milliseconds: 5000)) { $0 == 2 }
        Glibc.close(process.stdoutFD)
        Glibc.close(process.stderrFD)
    }
}
