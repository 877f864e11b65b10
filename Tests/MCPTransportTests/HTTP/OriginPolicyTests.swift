import NIOHTTP1
import Testing
@testable import MCPTransport

@Suite struct OriginPolicyTests {
    @Test func defaultsAllowLoopbackAndRefuseRebinding() {
        let p = OriginPolicy(config: HTTPServerConfig())
        #expect(p.check(host: "127.0.0.1:8080", origin: nil) == nil)
        #expect(p.check(host: "localhost", origin: "http://localhost:3000") == nil)
        #expect(p.check(host: "[::1]:9", origin: "https://127.0.0.1") == nil)
        #expect(p.check(host: "LOCALHOST:1", origin: nil) == nil)
        #expect(p.check(host: "evil.example", origin: nil) != nil)
        #expect(p.check(host: "localhost.evil.example:80", origin: nil) != nil)
        #expect(p.check(host: "localhost:80", origin: "http://evil.example") != nil)
        #expect(p.check(host: "localhost:80", origin: "null") != nil)
        #expect(p.check(host: nil, origin: nil) != nil)
        #expect(p.check(host: "localhost:", origin: nil) != nil)
        #expect(p.check(host: "localhost:80x", origin: nil) != nil)
        #expect(p.check(host: "localhost:80:80", origin: nil) != nil)
        #expect(p.check(host: "localhost", origin: "http://localhost:3000/") != nil)
    }

    @Test func theBoundAddressIsAllowed() {
        var c = HTTPServerConfig()
        c.host = "10.1.2.3"
        #expect(OriginPolicy(config: c).check(host: "10.1.2.3:80", origin: nil) == nil)
        c.host = "::1"
        #expect(OriginPolicy(config: c).check(host: "[::1]:80", origin: nil) == nil)
    }

    @Test func wildcardBindWithoutAListChecksNoHost() {
        var c = HTTPServerConfig()
        c.host = "0.0.0.0"
        let p = OriginPolicy(config: c)
        #expect(p.check(host: "anything.example", origin: nil) == nil)
        #expect(p.check(host: "anything.example", origin: "http://evil.example") != nil)  // origins still checked
    }

    @Test func configuredEntriesWithAndWithoutPorts() {
        let p = OriginPolicy(hosts: ["mcp.example", "api.example:8443"], origins: ["https://app.example:444", "http://dev"])
        #expect(p.check(host: "mcp.example:1234", origin: nil) == nil)
        #expect(p.check(host: "api.example:8443", origin: nil) == nil)
        #expect(p.check(host: "api.example:8444", origin: nil) != nil)
        #expect(p.check(host: "mcp.example", origin: "https://app.example:444") == nil)
        #expect(p.check(host: "mcp.example", origin: "https://app.example") != nil)
        #expect(p.check(host: "mcp.example", origin: "http://dev:5173") == nil)
        #expect(OriginPolicy(hosts: ["*"], origins: ["*"]).check(host: "x", origin: "http://y") == nil)
    }

    @Test func wholeHeadsAreReadInOnePassWithoutCase() {
        let p = OriginPolicy(config: HTTPServerConfig())
        #expect(p.check(HTTPHeaders([("HOST", "localhost:1"), ("Content-Type", "application/json")])) == nil)
        #expect(p.check(HTTPHeaders([("host", "127.0.0.1:80"), ("ORIGIN", "http://localhost:3")])) == nil)
        #expect(p.check(HTTPHeaders([("Host", "evil.example")]))?.status == .forbidden)
        #expect(p.check(HTTPHeaders([("Accept", "*/*")]))?.reason == "Missing Host header")
        #expect(p.check(HTTPHeaders([("Hos", "localhost"), ("Hostx", "localhost")]))?.status == .forbidden)
        let twoHosts = p.check(HTTPHeaders([("Host", "localhost"), ("hOsT", "localhost")]))
        #expect(twoHosts?.status == .badRequest && twoHosts?.reason == "More than one Host header")
        let twoOrigins = p.check(HTTPHeaders([("Host", "localhost"), ("Origin", "http://localhost"),
                                              ("origin", "http://localhost")]))
        #expect(twoOrigins?.status == .badRequest && twoOrigins?.reason == "More than one Origin header")
    }

    @Test func anyPortNamesMatchWholeOrWithDigitsOnly() {
        let p = OriginPolicy(hosts: ["a.example", "b"], origins: [])
        #expect(p.check(host: "a.example", origin: nil) == nil)
        #expect(p.check(host: "A.Example:65535", origin: nil) == nil)
        #expect(p.check(host: "b:1", origin: nil) == nil)
        #expect(p.check(host: "a.exampl", origin: nil) != nil)
        #expect(p.check(host: "a.examplex", origin: nil) != nil)
        #expect(p.check(host: "a.example:", origin: nil) != nil)
        #expect(p.check(host: "b:1a", origin: nil) != nil)
        #expect(p.check(host: "bb:1", origin: nil) != nil)
        #expect(p.check(host: "", origin: nil) != nil)
    }

    @Test func splitsPortsButNotIPv6Addresses() {
        #expect(OriginPolicy.splitPort("[::1]:80", hasScheme: false) == ("[::1]", "80"))
        #expect(OriginPolicy.splitPort("[::1]", hasScheme: false) == ("[::1]", nil))
        #expect(OriginPolicy.splitPort("http://h:1", hasScheme: true) == ("http://h", "1"))
        #expect(OriginPolicy.splitPort("http://h", hasScheme: true) == ("http://h", nil))
    }
}
