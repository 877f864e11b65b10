import Glibc

/// A self-pipe that wakes a thread blocked in poll(), so serving can be
/// stopped from another thread without touching the host's descriptors.
public final class StopSignal: Sendable {
    let readFD: Int32
    let writeFD: Int32

    public init?() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)  // our own pipe, not the host's
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    /// Whether `trigger` was called (the pipe holds its byte; nothing is consumed).
    var isTriggered: Bool {
        var p = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    public func trigger() {
        var b: UInt8 = 1
        _ = write(writeFD, &b, 1)
    }
}
