internal import NIOCore
internal import NIOPosix
import MCPCore
import MCPRuntime

/// The event-loop threads of a listener or an HTTP client, set up as engine
/// threads: SIGPIPE blocked (see SIGPIPEGuard) and the host's thread hooks run
/// at their start and end (mcp_set_thread_hooks).
enum EngineEventLoops {
    /// A group whose threads are ready before anything is bound on them.
    static func make(threads: Int) -> MultiThreadedEventLoopGroup {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        for loop in group.makeIterator() {
            try? loop.submit {
                SIGPIPEBlock.blockForThisThread()
                ThreadHooks.threadStarted()
            }.wait()
        }
        return group
    }

    /// Stops a group from `make`: the host's exit hook runs on each loop
    /// thread first. Never call it on one of those loops.
    static func shutDown(_ group: MultiThreadedEventLoopGroup) {
        for loop in group.makeIterator() {
            try? loop.submit { ThreadHooks.threadEnding() }.wait()
        }
        try? group.syncShutdownGracefully()
    }
}
