internal import NIOHTTP1

/// Cross-origin access for browser clients (the MCP Inspector, web apps):
/// which origins a browser may let read this listener's responses, and the
/// answers to their preflight requests.
///
/// It never lets a request in. The Origin check of OriginPolicy (the
/// DNS-rebinding defence, "allowed_origins") runs first on every request,
/// preflights included, and alone decides: an origin it refuses gets 403 and
/// no CORS header, whatever this list says. CORS only chooses, among the
/// origins that check admits, those whose pages may read the answers. So
/// "cors_allowed_origins" can narrow "allowed_origins", never widen it; a
/// named entry the Origin check would refuse is a configuration error (it
/// could never work), and "*" means every origin the check admits.
///
/// Entries have OriginPolicy's form ("scheme://name" any port,
/// "scheme://name:port" that one). No credentials mode: MCP clients send
/// `Authorization`, which needs only Allow-Headers, not cookies.
struct CORSPolicy: Sendable {
    let origins: OriginPolicy.AllowList

    /// Headers a browser may send beyond the CORS-safelisted ones.
    static let allowHeaders = "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID"
    /// Response headers a page may read beyond the safelisted ones.
    static let exposeHeaders = "Mcp-Session-Id"
    /// How long a browser may cache a preflight answer (browsers cap it lower).
    static let maxAgeSeconds = 86_400

    /// nil when the list is empty: no CORS at all (OPTIONS is then 405).
    init?(config: HTTPServerConfig) {
        guard !config.corsAllowedOrigins.isEmpty else { return nil }
        origins = OriginPolicy.AllowList(config.corsAllowedOrigins, hasScheme: true)
    }

    /// The first named entry that the Origin check would refuse, if any.
    static func unreachableEntry(_ config: HTTPServerConfig) -> String? {
        let admitted = OriginPolicy(config: config).origins
        return config.corsAllowedOrigins.first { $0 != "*" && !admitted.allows($0) }
    }

    /// Headers for the response to a request with these headers: none without
    /// an Origin; `Vary: Origin` for any (the answer depends on it); the
    /// Allow-Origin and Expose-Headers pair when the Origin is admitted by
    /// both `policy` and this list. The Origin is echoed only if it is
    /// visible ASCII (outbound headers are not validated; see the bootstrap).
    func responseHeaders(for request: HTTPHeaders, policy: OriginPolicy) -> HTTPHeaders? {
        guard let origin = request.first(name: "origin") else { return nil }
        guard origins.allows(origin), origin.utf8.allSatisfy({ (0x21...0x7E).contains($0) }),
              policy.check(request) == nil
        else { return HTTPHeaders([("Vary", "Origin")]) }
        return HTTPHeaders([("Access-Control-Allow-Origin", origin),
                            ("Access-Control-Expose-Headers", Self.exposeHeaders),
                            ("Vary", "Origin")])
    }

    /// The rest of a preflight answer (the connection adds Allow-Origin).
    static func preflightHeaders(methods: String) -> HTTPHeaders {
        HTTPHeaders([("Access-Control-Allow-Methods", methods),
                     ("Access-Control-Allow-Headers", allowHeaders),
                     ("Access-Control-Max-Age", String(maxAgeSeconds))])
    }
}
