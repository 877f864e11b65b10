import Glibc
import MCPCore
import MCPRuntime

/// Options of a stdio client connection.
public struct StdioClientOptions: Sendable {
    public var cwd: String?
    public var maxMessageBytes = 16 << 20
    /// How long each shutdown step waits (after closing stdin, after SIGTERM).
    public var closeGraceMs = 2000
    public init() {}
}

/// Runs an MCP server as a child process and connects a ClientSession to its
/// stdin/stdout. The child's stderr lines go to `stderrLine` (they are logs,
/// never errors, per the spec).
public final class StdioClientTransport: Sendable {
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

    /// Where outgoing messages go (give it to the ClientSession).
    public var output: @Sendable ([UInt8]) -> Void {
        let w = writer
        return { w.write(message: $0) }
    }

    /// Starts the reader threads; `onEnd` runs once the server's stdout closes.
    public func start(session: ClientSession, stderrLine: @escaping @Sendable (UnsafeRawBufferPointer) -> Void,
                      onEnd: @escaping @Sendable () -> Void)
    {
        let out = process.stdoutFD, err = process.stderrFD, max = options.maxMessageBytes
        WorkerPool.detach { [readersDone] in
            Self.readLines(fd: out, max: max) { session.receive($0) }
            readersDone.withLockAndNotify { $0 += 1 }
            session.close()
            onEnd()
        }
        WorkerPool.detach { [readersDone] in
            Self.readLines(fd: err, max: 64 * 1024, stderrLine)
            readersDone.withLockAndNotify { $0 += 1 }
        }
    }

    private static func readLines(fd: Int32, max: Int, _ handle: (UnsafeRawBufferPointer) -> Void) {
        var framer = LineFramer(maxLineBytes: max)
        let size = 64 * 1024
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 1)
        defer { buf.deallocate() }
        let deliver: (LineFramer.Event) -> Void = { e in
            if case .line(let b) = e { handle(b) }
        }
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
    /// for the readers. Returns the child's wait status. Idempotent.
    @discardableResult
    public func close() -> Int32 {
        let first = closed.withLock { c -> Bool in
            defer { c = true }
            return !c
        }
        guard first else { return process.poll() ?? -1 }
        writer.flush()
        let status = process.terminate(graceMs: options.closeGraceMs)
        _ = readersDone.wait(until: MonotonicInstant.now().adding(milliseconds: 5000)) { $0 == 2 }
        Glibc.close(process.stdoutFD)
        Glibc.close(process.stderrFD)
        return status
    }
}
