internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
import MCPRuntime

/// What the admin listener serves, supplied by whoever owns the server.
public struct AdminSource: Sendable {
    /// The Prometheus text exposition of the server's metrics.
    public var metrics: @Sendable () -> String
    /// Why the server is not ready (empty: ready), beyond what the listener
    /// itself knows (not listening, draining): a worker queue over its limit.
    public var notReady: @Sendable () -> [String]

    public init(metrics: @escaping @Sendable () -> String, notReady: @escaping @Sendable () -> [String]) {
        self.metrics = metrics
        self.notReady = notReady
    }
}

/// The admin listener: a small HTTP/1.1 server on its own address, apart from
/// the public MCP endpoint, for operators and load balancers.
///   GET /metrics  Prometheus text format 0.0.4
///   GET /healthz  200 {"status":"alive"} while the process serves at all
///   GET /readyz   200 {"status":"ready"}, or 503 {"status":"not ready","reasons":[...]}
/// It runs on the HTTP listener's event loops; every answer is computed on
/// the loop (a scrape reads /proc and renders text: well under a millisecond).
enum AdminListener {
    static func bind(group: EventLoopGroup, address: AdminAddress,
                     route: @escaping @Sendable (String) -> AdminResponse) throws -> Channel
    {
        try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(AdminHandler(route: route))
                }
            }
            .bind(host: address.host, port: address.port).wait()
    }
}

struct AdminResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: String

    static func json(_ status: HTTPResponseStatus, _ body: String) -> AdminResponse {
        AdminResponse(status: status, contentType: "application/json", body: body)
    }
}

/// Answers each request of one admin connection; GET and HEAD only.
private final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let route: @Sendable (String) -> AdminResponse
    private var head: HTTPRequestHead?

    init(route: @escaping @Sendable (String) -> AdminResponse) {
        self.route = route
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let h = head else { return }
            head = nil
            let response: AdminResponse
            if h.method == .GET || h.method == .HEAD {
                let path = h.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                response = route(String(path))
            } else {
                response = .json(.methodNotAllowed, #"{"error":"method not allowed: use GET"}"#)
            }
            var headers = HTTPHeaders([("Content-Type", response.contentType),
                                       ("Content-Length", String(response.body.utf8.count)),
                                       ("Cache-Control", "no-store")])
            if response.status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
            if !h.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: response.status,
                                                                 headers: headers))), promise: nil)
            if h.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: response.body)))),
                              promise: nil)
            }
            let keep = h.isKeepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keep { channel.close(promise: nil) }
            }
        }
    }
}
