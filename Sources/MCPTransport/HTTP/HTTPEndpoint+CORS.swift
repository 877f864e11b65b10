internal import NIOHTTP1
import MCPCore

// CORS preflights, for listeners with "cors_allowed_origins" (CORSPolicy). The
// Origin check has already run: a refused origin got 403 before this.
extension HTTPEndpoint {
    /// OPTIONS on an endpoint path when CORS is on. A preflight (Origin and
    /// Access-Control-Request-Method) from an origin CORS admits gets 204 with
    /// the methods and headers it may use; the connection adds
    /// Access-Control-Allow-Origin to it, as to every response for that
    /// origin. A preflight from another origin gets 403 with the reason; an
    /// OPTIONS that is no preflight, 405 as any other method.
    func preflight(_ request: HTTPRequest, sink: ResponseSink, cors: CORSPolicy, methods: String) {
        guard let origin = request.header("origin"), request.header("access-control-request-method") != nil else {
            return fail(sink, request, .methodNotAllowed, ErrorCode.invalidRequest, "Method not allowed",
                        extra: [("Allow", methods)])
        }
        guard cors.origins.allows(origin) else {
            return fail(sink, request, .forbidden, ErrorCode.invalidRequest,
                        "Origin not allowed for cross-origin access (cors_allowed_origins): \(origin)")
        }
        respond(sink, request, .noContent, headers: CORSPolicy.preflightHeaders(methods: methods))
    }
}
