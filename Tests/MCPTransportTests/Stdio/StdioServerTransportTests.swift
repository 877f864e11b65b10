#if canImport(Glibc)
import Glibc
#endif
import Testing
import MCPCore
@testable import MCPTransport
import MCPRuntime

/// Runs the stdio transport on real pipes, as a child process would see them.
@Suite struct StdioServerTransportTests {
    final class Pipes: Sendable {
        let toServer: (r: Int32, w: Int32)
        let fromServer: (r: Int32, w: Int32)
        init() {
            var a: [Int32] = [0, 0], b: [Int32] = [0, 0]
            _ = pipe(&a)
            _ = pipe(&b)
            toServer = (a[0], a[1])
            fromServer = (b[0], b[1])
        }
        func write(_ s: String) {
            let bytes = Array((s + "\n").utf8)
            _ = bytes.withUnsafeBytes { Glibc.write(toServer.w, $0.baseAddress, $0.count) }
        }
        func closeInput() { close(toServer.w) }
        /// Everything the server wrote until it closed its end.
        func readAll() -> [JSONValue] {
            var data: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buf.withUnsafeMutableBytes { read(fromServer.r, $0.baseAddress, 65536) }
                if n <= 0 { break }
                data += buf[0..<n]
            }
            return data.split(separator: 0x0A).compactMap { try? JSONParser.parse(Array($0)) }
        }
    }

    @Test func answersInFlightCallsAtEOFAndSkipsOversizedLines() throws {
        let pool = WorkerPool(maxThreads: 4)
        let server = ServerCore(options: ServerOptions(name: "s", version: "1"), executor: pool,
                                scheduler: Scheduler(executor: pool))
        try server.addTool(ToolEntry(definition: JSONObject(["name": "slow"])) { call, _ in
            usleep(200_000)
            try? call.respond(["content": [["type": "text", "text": "finished"]]])
        })
        let p = Pipes()
        let stop = try #require(StopSignal())
        var options = StdioOptions()
        options.maxMessageBytes = 1024
        let done = LockedState(false)
        let (inFD, outFD) = (p.toServer.r, p.fromServer.w)
        let fixed = options
        pool.execute {
            try? StdioServerTransport.serve(server: server, input: inFD, output: outFD, options: fixed, stop: stop)
            close(outFD)
            done.withLockAndNotify { $0 = true }
        }
        p.write(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#)
        p.write(String(repeating: "x", count: 5000))
        p.write("{bad json")
        p.write(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow"}}"#)
        p.closeInput()
        let out = p.readAll()
        #expect(done.wait(until: MonotonicInstant.now().adding(milliseconds: 5000)) { $0 })
        #expect(out.count == 4)
        #expect(out.contains { $0["id"] == 1 && $0["result"] != nil })
        #expect(out.contains { $0["error"]?["code"] == -32600 && $0["id"] == nil })
        #expect(out.contains { $0["error"]?["code"] == -32700 && $0["id"] == nil })
        #expect(out.last?["result"]?["content"]?.arrayValue?.first?["text"] == "finished")
        close(p.toServer.r)
        close(p.fromServer.r)
    }

    @Test func stopMakesServeReturn() throws {
        let pool = WorkerPool(maxThreads: 2)
        let server = ServerCore(options: ServerOptions(name: "s", version: "1"), executor: pool,
                                scheduler: Scheduler(executor: pool))
        let p = Pipes()
        let stop = try #require(StopSignal())
        let done = LockedState(false)
        let (inFD, outFD) = (p.toServer.r, p.fromServer.w)
        pool.execute {
            try? StdioServerTransport.serve(server: server, input: inFD, output: outFD, options: StdioOptions(), stop: stop)
            done.withLockAndNotify { $0 = true }
        }
        usleep(50_000)
        #expect(!done.withLock { $0 })
        stop.trigger()
        #expect(done.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0 })
        #expect(fcntl(inFD, F_GETFL) & O_NONBLOCK == 0, "the input descriptor stays blocking")
        for fd in [p.toServer.r, p.toServer.w, p.fromServer.r, p.fromServer.w] { close(fd) }
    }
}
