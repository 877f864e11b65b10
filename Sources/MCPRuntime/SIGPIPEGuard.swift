import Glibc

/// Keeps the promise of mcp.h that libmcp never changes how the host handles
/// SIGPIPE. On Linux, SwiftNIO sets SIGPIPE to SIG_IGN process-wide when it
/// creates its first socket. Instead, the event-loop threads (the only ones
/// that write to our sockets) block SIGPIPE (EngineEventLoops), so a write to
/// a closed peer returns EPIPE there, and the host's disposition is put back
/// after binding.
public enum SIGPIPEGuard {
    /// Runs `body` (which may create NIO's first socket) and restores the
    /// SIGPIPE disposition the process had before it.
    public static func preservingDisposition<T>(_ body: () throws -> T) rethrows -> T {
        var before = sigaction()
        let saved = sigaction(SIGPIPE, nil, &before) == 0
        defer { if saved { _ = sigaction(SIGPIPE, &before, nil) } }
        return try body()
    }
}
