import NIOHTTP1
import Testing
@testable import MCPTransport

@Suite struct CORSPolicyTests {
    static func config(cors: [String], origins: [String]? = nil) -> HTTPServerConfig {
        var c = HTTPServerConfig()
        c.corsAllowedOrigins = cors
        c.allowedOrigins = origins
        return c
    }

    static func request(_ origin: String?, host: String = "127.0.0.1:9") -> HTTPHeaders {
        var h = HTTPHeaders([("Host", host)])
        if let origin { h.add(name: "Origin", value: origin) }
        return h
    }

    @Test func anEmptyListIsNoCORS() {
        #expect(CORSPolicy(config: Self.config(cors: [])) == nil)
    }

    @Test func listedOriginsGetTheirOriginEchoed() throws {
        let c = Self.config(cors: ["http://localhost:6274"])
        let cors = try #require(CORSPolicy(config: c))
        let policy = OriginPolicy(config: c)
        let ok = try #require(cors.responseHeaders(for: Self.request("http://localhost:6274"), policy: policy))
        #expect(ok.first(name: "Access-Control-Allow-Origin") == "http://localhost:6274")
        #expect(ok.first(name: "Access-Control-Expose-Headers") == "Mcp-Session-Id")
        #expect(ok.first(name: "Vary") == "Origin")
        // Admitted by the Origin check, not listed for CORS: only Vary.
        let other = try #require(cors.responseHeaders(for: Self.request("http://localhost:5173"), policy: policy))
        #expect(other.first(name: "Access-Control-Allow-Origin") == nil && other.first(name: "Vary") == "Origin")
        #expect(cors.responseHeaders(for: Self.request(nil), policy: policy) == nil)
    }

    @Test func theOriginCheckStaysTheGate() throws {
        let c = Self.config(cors: ["*"])
        let cors = try #require(CORSPolicy(config: c))
        let policy = OriginPolicy(config: c)
        func allowOrigin(_ origin: String, host: String = "127.0.0.1:9") -> String? {
            cors.responseHeaders(for: Self.request(origin, host: host), policy: policy)?
                .first(name: "Access-Control-Allow-Origin")
        }
        #expect(allowOrigin("https://127.0.0.1:3000") == "https://127.0.0.1:3000")
        #expect(allowOrigin("http://evil.example") == nil)
        #expect(allowOrigin("null") == nil)
        #expect(allowOrigin("http://localhost:1", host: "evil.example") == nil)
    }

    @Test func onlyVisibleASCIIIsEchoed() throws {
        let c = Self.config(cors: ["*"], origins: ["*"])
        let cors = try #require(CORSPolicy(config: c))
        let h = cors.responseHeaders(for: Self.request("http://a b"), policy: OriginPolicy(config: c))
        #expect(h?.first(name: "Access-Control-Allow-Origin") == nil)
    }

    @Test func aNamedOriginTheOriginCheckRefusesIsReported() {
        #expect(CORSPolicy.unreachableEntry(Self.config(cors: ["http://localhost:6274", "*"])) == nil)
        #expect(CORSPolicy.unreachableEntry(Self.config(cors: ["https://app.example"])) == "https://app.example")
        #expect(CORSPolicy.unreachableEntry(Self.config(cors: ["https://app.example"],
                                                        origins: ["https://app.example"])) == nil)
        // Any port for CORS, one port for the Origin check: could not work on the others.
        #expect(CORSPolicy.unreachableEntry(Self.config(cors: ["https://app.example"],
                                                        origins: ["https://app.example:8443"])) != nil)
        #expect(CORSPolicy.unreachableEntry(Self.config(cors: ["https://app.example"], origins: ["*"])) == nil)
    }
}
