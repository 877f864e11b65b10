#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import NIOCore
internal import NIOPosix
import MCPCore

/// Keeps the promise of mcp.h that libmcp never changes how the host handles
/// SIGPIPE. On Linux, SwiftNIO sets SIGPIPE to SIG_IGN process-wide when it
/// creates its first socket. Instead, the event-loop threads (the only ones
/// that write to our sockets) block SIGPIPE, so a write to a closed peer
/// returns EPIPE there, and the host's disposition is put back after binding.
enum SIGPIPEGuard {
    static func blockOnEventLoops(_ group: MultiThreadedEventLoopGroup) {
        for loop in group.makeIterator() {
            try? loop.submit {
                SIGPIPEBlock.blockForThisThread()
                // The host's thread hooks run here too: before any callback
                // can run on this loop (nothing is bound yet).
                ThreadHooks.threadStarted()
            }.wait()
        }
    }

    /// Stops a group set up with `blockOnEventLoops`: the host's exit hook
    /// runs on each loop thread first. Never call it on one of those loops.
    static func shutDown(_ group: MultiThreadedEventLoopGroup) {
        for loop in group.makeIterator() {
            try? loop.submit { ThreadHooks.threadEnding() }.wait()
        }
        try? group.syncShutdownGracefully()
    }

    /// Runs `body` (which may create NIO's first socket) and restores the
    /// SIGPIPE disposition the process had before it.
    static func preservingDisposition<T>(_ body: () throws -> T) rethrows -> T {
        var before = sigaction()
        let saved = sigaction(SIGPIPE, nil, &before) == 0
        defer { if saved { _ = sigaction(SIGPIPE, &before, nil) } }
        return try body()
    }
}
