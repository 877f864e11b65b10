import Glibc
import MCPRuntime

/// A child process with pipes on its stdin, stdout and stderr, started with
/// posix_spawnp. Closing follows the MCP stdio shutdown rule: close its
/// stdin, wait, SIGTERM, wait, SIGKILL.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let stdinFD: Int32
    public let stdoutFD: Int32
    public let stderrFD: Int32
    private let reaped = LockedStateBox<Int32?>(nil)

    /// argv[0] is looked up on PATH; env nil inherits this process's environment.
    public init(argv: [String], env: [String]?, cwd: String?) throws(TransportError) {
        guard let first = argv.first, !first.isEmpty else { throw .io("The command is empty") }
        // posix_spawn has no portable chdir action; coreutils' env -C does it.
        // Resolve the program first: posix_spawn reports a missing program only
        // through the child's exit status on some systems (and under valgrind).
        guard Self.resolve(first) != nil else { throw .io("Cannot start \(first): no such executable") }
        let argv = cwd.map { ["env", "-C", $0] + argv } ?? argv
        let program = argv[0]
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw .io("pipe failed: \(String(cString: strerror(errno)))")
        }
        // Our ends must not leak into the child (or into later children).
        for fd in [inPipe[1], outPipe[0], errPipe[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // The child starts with default signal handling and an empty mask,
        // whatever the engine's threads block (SIGPIPE) or ignore.
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var child: pid_t = 0
        let rc: Int32
        if let env {
            let cEnv = env.map { strdup($0) } + [nil]
            defer { for p in cEnv { free(p) } }
            rc = posix_spawnp(&child, program, &actions, &attr, cArgs, cEnv)
        } else {
            rc = posix_spawnp(&child, program, &actions, &attr, cArgs, environ)
        }
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        guard rc == 0 else {
            for fd in [inPipe[1], outPipe[0], errPipe[0]] { close(fd) }
            throw .io("Cannot start \(program): \(String(cString: strerror(rc)))")
        }
        pid = child
        stdinFD = inPipe[1]
        stdoutFD = outPipe[0]
        stderrFD = errPipe[0]
    }

    /// The path of an executable as execvp would find it, or nil.
    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + program
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Non-blocking check; the exit status once the child is gone.
    public func poll() -> Int32? {
        if let s = reaped.get() { return s }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            reaped.set(status)
            return status
        }
        return nil
    }

    /// Waits up to `ms` for the child to exit.
    public func wait(ms: Int) -> Int32? {
        let deadline = MonotonicInstant.now().adding(milliseconds: ms)
        while true {
            if let s = poll() { return s }
            if MonotonicInstant.now() >= deadline { return nil }
            usleep(5_000)
        }
    }

    /// stdin closed -> wait -> SIGTERM -> wait -> SIGKILL. Returns the wait status.
    @discardableResult
    public func terminate(graceMs: Int) -> Int32 {
        close(stdinFD)
        if let s = wait(ms: graceMs) { return s }
        kill(pid, SIGTERM)
        if let s = wait(ms: graceMs) { return s }
        kill(pid, SIGKILL)
        return wait(ms: 10_000) ?? -1
    }
}

/// A tiny lock-protected box (MCPCore's LockedState under a simpler name here).
final class LockedStateBox<T: Sendable>: Sendable {
    private let state: LockedState<T>
    init(_ v: T) { state = LockedState(v) }
    func get() -> T { state.withLock { $0 } }
    func set(_ v: T) { state.withLock { $0 = v } }
}

import MCPCore
