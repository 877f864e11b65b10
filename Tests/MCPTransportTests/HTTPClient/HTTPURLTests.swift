import MCPCore
import Testing
@testable import MCPTransport

@Suite struct HTTPURLTests {
    @Test func parsesTheFormsAnEndpointUses() throws {
        let a = try HTTPURL(parsing: "http://127.0.0.1:8080/mcp")
        #expect(a == HTTPURL(secure: false, host: "127.0.0.1", port: 8080, target: "/mcp"))
        #expect(a.hostHeader == "127.0.0.1:8080")
        let b = try HTTPURL(parsing: "HTTPS://Example.com?x=1#frag")
        #expect(b == HTTPURL(secure: true, host: "Example.com", port: 443, target: "/?x=1"))
        #expect(b.hostHeader == "Example.com")
        let c = try HTTPURL(parsing: "http://[::1]:9000/a/b?c=d")
        #expect(c.host == "::1")
        #expect(c.hostHeader == "[::1]:9000")
        #expect(c.target == "/a/b?c=d")
        #expect(c.description == "http://[::1]:9000/a/b?c=d")
    }

    @Test func refusesWhatIsNotAnHTTPURL() {
        for bad in ["ftp://x/", "http://", "http://:80/", "http://u:p@host/", "http://h:0/", "http://h:99999/",
                    "http://h:8x/", "http://h/a b", "http://[::1/", "localhost:8080/mcp"]
        {
            #expect(throws: HTTPURL.ParseError.self, "\(bad)") { try HTTPURL(parsing: bad) }
        }
    }

    @Test func resolvesEndpointReferences() throws {
        let base = try HTTPURL(parsing: "http://127.0.0.1:8000/sse")
        #expect(try base.resolving("/messages/?session_id=abc").target == "/messages/?session_id=abc")
        #expect(try base.resolving("messages?s=1").target == "/messages?s=1")
        #expect(try base.resolving("?s=2").target == "/sse?s=2")
        let deep = try HTTPURL(parsing: "http://h/a/b/sse")
        #expect(try deep.resolving("../m?x").target == "/a/m?x")
        #expect(try deep.resolving("./m").target == "/a/b/m")
        #expect(try deep.resolving("//other:81/p").origin == HTTPURL.Origin(secure: false, host: "other", port: 81))
        #expect(try deep.resolving("https://h/p").secure)
        #expect(try deep.resolving("/p#frag").target == "/p")
    }

    @Test func removesDotSegments() {
        #expect(HTTPURL.removeDotSegments("/a/b/c/./../../g") == "/a/g")
        #expect(HTTPURL.removeDotSegments("/../x") == "/x")
        #expect(HTTPURL.removeDotSegments("/a/..") == "/")
    }
}

@Suite struct HTTPHeaderFieldTests {
    @Test func acceptsOrdinaryHeaders() throws {
        let h = try HTTPHeaderField(name: "Authorization", value: "Bearer abc.def")
        #expect(h.name == "Authorization")
        _ = try HTTPHeaderField(name: "X-Custom_1", value: "")
    }

    @Test func refusesInjectionAndReservedNames() {
        #expect(throws: HTTPHeaderField.Invalid.self) { try HTTPHeaderField(name: "X", value: "a\r\nEvil: 1") }
        #expect(throws: HTTPHeaderField.Invalid.self) { try HTTPHeaderField(name: "Bad Name", value: "v") }
        #expect(throws: HTTPHeaderField.Invalid.self) { try HTTPHeaderField(name: "", value: "v") }
        for name in ["Host", "content-type", "Mcp-Session-Id", "MCP-Protocol-Version", "Last-Event-ID", "Accept"] {
            #expect(throws: HTTPHeaderField.Invalid.self, "\(name)") { try HTTPHeaderField(name: name, value: "v") }
        }
    }
}

@Suite struct OutgoingEnvelopeTests {
    private func peek(_ text: String) -> OutgoingEnvelope { OutgoingEnvelope.peek(Array(text.utf8)) }

    @Test func findsTheMessagesTheTransportCaresAbout() {
        #expect(peek(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#)
            == OutgoingEnvelope(kind: .initialize, requestID: .int(1)))
        #expect(peek(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            == OutgoingEnvelope(kind: .initialized, requestID: nil))
        #expect(peek(#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{}}"#)
            == OutgoingEnvelope(kind: .other, requestID: .string("x")))
        #expect(peek(#"{"jsonrpc":"2.0","id":3,"result":{}}"#) == OutgoingEnvelope(kind: .other, requestID: nil))
        #expect(peek("not json") == OutgoingEnvelope(kind: .other, requestID: nil))
    }
}
