// libFuzzer target: the HTTP server connection fed raw bytes
// (Sources/MCPTransport/HTTP): the pipeline a real connection gets
// (HTTPServerTransport.configureConnection: NIO's HTTP/1.1 parser, the
// WebSocket upgrader, the endpoint) on an EmbeddedChannel, with the engine
// inline. Input: a configuration byte, then the bytes of the connection,
// possibly several pipelined requests, cut into writes at each 0xFF 0xFE.
import MCPCore
import MCPRuntime
import FuzzSupport
import NIOCore
import NIOEmbedded
@testable import MCPTransport

let core: ServerCore = {
    let executor = InlineExecutor()
    let core = ServerCore(options: ServerOptions(name: "fuzz", version: "1"), executor: executor,
                          scheduler: StillClock())
    do {
        try core.addTool(ToolEntry(definition: ["name": "echo"]) { call, args in
            try? call.progress(1, total: 2, message: nil)
            try? call.respond(["content": [["type": "text", "text": args["text"] ?? "?"]]])
        })
        try core.addTool(ToolEntry(definition: ["name": "silent"]) { _, _ in })
    } catch {
        fatalError("fuzz set-up: \(error)")
    }
    return core
}()

let cut: [UInt8] = [0xFF, 0xFE]

func makeEndpoint(_ mode: UInt8) -> HTTPEndpoint {
    var config = HTTPServerConfig()
    config.jsonResponse = mode & 1 != 0
    config.stateless = mode & 2 != 0
    config.enableGetStream = mode & 4 == 0
    if mode & 8 != 0 {
        config.maxBodyBytes = 64
        config.maxHeaderBytes = 256
    }
    if mode & 16 != 0 { config.allowedOrigins = ["http://ok.example"] }
    if mode & 32 != 0 { config.corsAllowedOrigins = ["*"] }
    return HTTPEndpoint(config: config, core: core)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPServer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let endpoint = makeEndpoint(bytes[0])
    let channel = EmbeddedChannel()
    do {
        try HTTPServerTransport.configureConnection(channel.pipeline.syncOperations, endpoint: endpoint, tls: nil)
    } catch {
        fatalError("fuzz set-up: \(error)")
    }
    var rest = bytes[1...]
    while !rest.isEmpty {
        let piece = rest.firstRange(of: cut).map { rest[..<$0.lowerBound] } ?? rest
        rest = rest.dropFirst(piece.count + (piece.count < rest.count ? cut.count : 0))
        do { try channel.writeInbound(ByteBuffer(bytes: piece)) } catch { break }
        channel.embeddedEventLoop.run()
        while (try? channel.readOutbound(as: IOData.self)) != nil {}
    }
    // acceptAlreadyClosed: a connection the server closed itself (a refusal's
    // lingering close, a WebSocket close) must still have the tasks left on
    // the embedded loop cancelled. finish() throws alreadyClosed before it
    // cancels them, and a left task (the 2 s lingering close, which a real
    // event loop runs) and the channel hold each other: not freed.
    _ = try? channel.finish(acceptAlreadyClosed: true)
    channel.embeddedEventLoop.run()
    // What HTTPServerTransport.stop does last: the sessions end (the table and
    // the sessions' streams hold each other until then).
    for s in endpoint.sessions.removeAll() { s.close() }
    core.closeAllSessions()
    return 0
}

@main struct HTTPServerTarget {
    static func main() { runFuzzer(fuzzHTTPServer) }
}
