internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOHTTP1
import MCPCore

/// One request handed in by the host's web server, and its response on the
/// way back. The host adds headers and body, then starts it; the request then
/// goes through HTTPEndpoint.handle exactly as one read from a socket, and its
/// response parts come back through HostExchangeWriter into the outbox the
/// host reads. Cancelling (the host's client went away) ends the response as
/// a closed connection would: its call is cancelled, a session stream detaches.
///
/// @unchecked Sendable: the request fields are touched with `lock` held and
/// only before start; `writer` only on `eventLoop`.
public final class HostExchange: @unchecked Sendable {
    public enum Failure: Error, Sendable {
        case invalid(String)
        case state(String)
    }

    private let endpoint: HTTPEndpoint
    let eventLoop: EventLoop
    private let outbox: HostOutbox
    private let lock = NIOLock()
    private var head: HTTPRequestHead
    private let remoteAddress: String?
    private var body: ByteBuffer?
    private var bodyCharged = 0
    private var headBytes: Int
    private var refusal: HTTPEndpoint.Refusal?
    private var started = false
    /// Loop-bound: made when the request reaches the loop.
    private var writer: HostExchangeWriter?

    init(endpoint: HTTPEndpoint, eventLoop: EventLoop, method: String, target: String, remoteAddress: String?) {
        self.endpoint = endpoint
        self.eventLoop = eventLoop
        self.remoteAddress = remoteAddress
        outbox = HostOutbox(highWater: endpoint.config.maxQueuedBytes)
        head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target)
        headBytes = method.utf8.count + target.utf8.count + 12
    }

    /// A request header; several with one name are kept in order.
    public func addHeader(name: String, value: String) throws(Failure) {
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
            throw .invalid("header name \"\(name)\" is not an HTTP token")
        }
        guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
            throw .invalid("the value of header \"\(name)\" holds CR, LF or NUL")
        }
        let late = lock.withLock { () -> Bool in
            if started { return true }
            head.headers.add(name: name, value: value)
            headBytes += name.utf8.count + value.utf8.count + 4
            if headBytes > endpoint.config.maxHeaderBytes, refusal == nil { refusal = .headTooLarge }
            return false
        }
        if late { throw .state("headers come before mcp_http_exchange_start") }
    }

    /// Request body bytes, appended. Past max_body_bytes, or with the buffer
    /// budget spent, the body is dropped and the exchange answers 413 or 503.
    public func addBody(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
        let late = lock.withLock { () -> Bool in
            if started { return true }
            guard refusal == nil, !bytes.isEmpty else { return false }
            let have = body?.readableBytes ?? 0
            if have + bytes.count > endpoint.config.maxBodyBytes {
                refusal = .tooLarge
                dropBody()
                return false
            }
            endpoint.core.observer?.bytesReceived(bytes.count)
            guard endpoint.budget.charge(bytes.count) else {
                refusal = .busy
                dropBody()
                return false
            }
            bodyCharged += bytes.count
            if body == nil { body = ByteBuffer() }
            body?.writeBytes(bytes)
            return false
        }
        if late { throw .state("the body comes before mcp_http_exchange_start") }
    }

    private func dropBody() {
        body = nil
        endpoint.budget.release(bodyCharged)
        bodyCharged = 0
    }

    /// The request is complete: the endpoint takes it. `wake` runs when parts
    /// arrive after a read found none (it must not block: it is called on
    /// the event loop; the C layer hands it to a worker).
    public func start(wake: (@Sendable () -> Void)?) throws(Failure) {
        let again = lock.withLock { () -> Bool in
            defer { started = true }
            return started
        }
        if again { throw .state("the exchange was already started (or freed)") }
        let loop = eventLoop
        outbox.setCallbacks(wake: wake, resume: { [weak self] in
            guard let me = self else { return }
            loop.execute { me.writer?.current?.drain() }
        })
        eventLoop.execute { self.begin() }
    }

    /// Whether start (or cancel) came: the response may be read.
    public var isStarted: Bool { lock.withLock { started } }

    /// The next response part (HostOutbox.take).
    public func next(timeoutMs: Int) -> HostResponsePart? { outbox.take(timeoutMs: timeoutMs) }

    /// The host is done with the exchange: after the end, or because its
    /// client went away (then the response is cut, as a closed connection).
    public func cancel() {
        outbox.cancel()
        let begun = lock.withLock { () -> Bool in
            if !started {
                started = true
                dropBody()
                return false
            }
            return true
        }
        if begun { eventLoop.execute { self.writer?.hostGone() } }
    }

    // MARK: event loop side

    private func begin() {
        let (h, request, charged, refused) = lock.withLock {
            (head, body ?? ByteBuffer(), bodyCharged, refusal)
        }
        if outbox.isCancelled {
            endpoint.budget.release(charged)
            return
        }
        let w = HostExchangeWriter(endpoint: endpoint, outbox: outbox, eventLoop: eventLoop, head: h,
                                   bodyBytes: request.readableBytes)
        writer = w
        let sink = w.open(h)
        if let why = refused ?? (w.isRegistered ? nil : HTTPEndpoint.Refusal.noConnection) {
            endpoint.refuse(h, why, sink: sink)
        } else {
            endpoint.handle(HTTPRequest(head: h, body: request, remoteAddress: remoteAddress), sink: sink)
        }
        endpoint.budget.release(charged)
        lock.withLock {
            body = nil
            bodyCharged = 0
        }
    }
}
