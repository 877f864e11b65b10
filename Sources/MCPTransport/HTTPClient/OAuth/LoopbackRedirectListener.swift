import Glibc
import MCPCore
import MCPRuntime

/// Receives the browser's redirect at http://127.0.0.1:<port><path> for a
/// command-line host (RFC 8252 section 7.3): a plain blocking socket on its
/// own thread, alive for one authorization. It answers the first request
/// to the path with a short page, and anything else with 404.
final class LoopbackRedirectListener: Sendable {
    let port: Int
    let path: String
    private let fd: Int32
    /// stopped: no more serving; running: the thread has the socket (and closes it).
    private let state = LockedState((stopped: false, running: false))

    /// Binds 127.0.0.1:`port` (0: any free port).
    init(port: Int, path: String) throws(OAuthError) {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw OAuthError("Cannot open the redirect listener's socket") }
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(s, 8) == 0 else {
            close(s)
            throw OAuthError("Cannot listen on 127.0.0.1:\(port) for the authorization redirect")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) }
        }
        fd = s
        self.port = Int(UInt16(bigEndian: addr.sin_port))
        self.path = path
    }

    var redirectURI: String { "http://127.0.0.1:\(port)\(path)" }

    /// Serves until the redirect arrives (given to `received` as the full
    /// URL) or stop() is called, on a thread of `pool`.
    func run(on pool: WorkerPool, received: @escaping @Sendable (String) -> Void) {
        state.withLock { $0.running = true }
        pool.execute { [self] in
            defer {
                close(fd)
                state.withLockAndNotify { $0.running = false }
            }
            while !state.withLock({ $0.stopped }) {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 200) > 0 else { continue }
                let c = accept(fd, nil, nil)
                if c < 0 { continue }
                if let target = serve(c) {
                    received("http://127.0.0.1:\(port)" + target)
                    return
                }
            }
        }
    }

    /// Reads one request; answers it; returns its target when it is the redirect.
    private func serve(_ c: Int32) -> String? {
        defer { close(c) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 8192)
        var got: [UInt8] = []
        while got.count < 16384, !got.contains(0x0A) {
            let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress, 8192, 0) }
            if n <= 0 { break }
            got += buf[0..<n]
        }
        let line = String(decoding: got.prefix(while: { $0 != 0x0D && $0 != 0x0A }), as: UTF8.self)
        let parts = line.split(separator: " ")
        let ok = parts.count >= 2 && parts[0] == "GET"
            && parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0] == path
        let body = ok ? "<html><body><p>Authorization received. You can close this window.</p></body></html>"
            : "Not found"
        let head = "HTTP/1.1 \(ok ? "200 OK" : "404 Not Found")\r\nContent-Type: text/html; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        let out = Array((head + body).utf8)
        _ = out.withUnsafeBytes { send(c, $0.baseAddress, out.count, Int32(MSG_NOSIGNAL)) }
        return ok ? String(parts[1]) : nil
    }

    /// Stops serving and closes the socket before returning, so that the
    /// next authorization can listen on the same port (the one registered).
    func stop() {
        let running = state.withLock { s -> Bool? in
            if s.stopped { return nil }
            s.stopped = true
            return s.running
        }
        switch running {
        case nil: return
        case false?: close(fd)
        case true?:
            // Wakes the poll at once; the serving thread closes the socket.
            shutdown(fd, Int32(SHUT_RDWR))
            _ = state.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { !$0.running }
        }
    }
}
