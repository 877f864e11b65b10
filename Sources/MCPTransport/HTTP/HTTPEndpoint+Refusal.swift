internal import NIOHTTP1
import MCPCore

// Requests refused before they reach the routes: by the connection (the
// built-in listener) or by the exchange (the host's own web server), with the
// same statuses and texts either way.
extension HTTPEndpoint {
    /// Why a request is refused without reaching the routes.
    enum Refusal {
        case tooLarge
        case tooSlow
        /// The listener's buffer budget is spent (BufferBudget).
        case busy
        /// The request head is over max_header_bytes (host exchanges; the
        /// built-in listener's parser answers this itself).
        case headTooLarge
        /// Every connection slot is taken (host exchanges count as connections).
        case noConnection
    }

    /// Answers a refusal: 413, 408, 503 or 431 with a JSON-RPC error body.
    func refuse(_ h: HTTPRequestHead, _ why: Refusal, sink: ResponseSink) {
        var headers = Self.jsonHeaders
        let (status, code, message): (HTTPResponseStatus, Int64, String) = switch why {
        case .tooLarge:
            (.payloadTooLarge, ErrorCode.invalidRequest, "Request body larger than the \(config.maxBodyBytes)-byte limit")
        case .tooSlow:
            (.requestTimeout, ErrorCode.invalidRequest, "Request body not received within \(config.requestBodyTimeoutMs) ms")
        case .busy:
            (.serviceUnavailable, ErrorCode.internalError,
             "Server busy: request buffers are full (\(config.maxBufferedBytes)-byte budget); retry shortly")
        case .headTooLarge:
            (.requestHeaderFieldsTooLarge, ErrorCode.invalidRequest,
             "Request head larger than the \(config.maxHeaderBytes)-byte limit")
        case .noConnection:
            (.serviceUnavailable, ErrorCode.internalError,
             "Server busy: every one of its \(connections.maxConnections) connections is in use; retry shortly")
        }
        switch why {
        case .busy, .noConnection: headers.add(name: "Retry-After", value: "1")
        default: break
        }
        refusal(status, method: h.headers.first(name: "mcp-method"), message)
        sink.respond(status: status, headers: headers, body: Self.errorBody(code: code, message), version: h.version)
    }
}
