import Testing
@testable import MCPCore

/// The one pagination engine every binding goes through (mcp_client_list).
@Suite struct ListPagerTests {
    private func page(_ items: [JSONValue], _ cursor: JSONValue? = nil, key: String = "tools") -> JSONValue {
        var o = JSONObject()
        o[key] = .array(items)
        if let cursor { o["nextCursor"] = cursor }
        return .object(o)
    }

    @Test func followsCursorsToTheEnd() throws {
        var p = try ListPager(method: "tools/list")
        #expect(p.nextParams == nil)
        #expect(try p.take(page(["a"], "c1")))
        #expect(p.nextParams == JSONObject(["cursor": "c1"]))
        #expect(try p.take(page(["b", "c"], "c2")))
        #expect(try !p.take(page(["d"])))
        #expect(p.items == ["a", "b", "c", "d"])
    }

    @Test func nullOrEmptyCursorEnds() throws {
        var p = try ListPager(method: "prompts/list")
        #expect(try !p.take(page(["x"], .null, key: "prompts")))
        var q = try ListPager(method: "prompts/list")
        #expect(try !q.take(page(["x"], "", key: "prompts")))
        #expect(q.items == ["x"])
    }

    @Test func emptyPageWithACursorIsFollowed() throws {
        var p = try ListPager(method: "resources/templates/list")
        #expect(try p.take(page([], "next", key: "resourceTemplates")))
        #expect(try p.take(.object(JSONObject(["nextCursor": "more"]))))
        #expect(try !p.take(page(["t"], key: "resourceTemplates")))
        #expect(p.items == ["t"])
    }

    @Test func theSameCursorForeverStops() throws {
        var p = try ListPager(method: "tools/list")
        #expect(try p.take(page(["a"], "same")))
        #expect(throws: ListFailure.self) { try p.take(page(["a"], "same")) }
        // A longer cycle is caught too.
        var q = try ListPager(method: "tools/list")
        #expect(try q.take(page([], "one")))
        #expect(try q.take(page([], "two")))
        #expect(throws: ListFailure.endless("tools/list: the server gave cursor \"one\" again after 3 pages")) {
            try q.take(page([], "one"))
        }
    }

    @Test func pageCountIsBounded() throws {
        var p = try ListPager(method: "tasks/list", maxPages: 3)
        #expect(try p.take(page([], "1", key: "tasks")))
        #expect(try p.take(page([], "2", key: "tasks")))
        #expect(throws: ListFailure.endless("tasks/list: more than 3 pages")) { try p.take(page([], "3", key: "tasks")) }
    }

    @Test func malformedPagesAreRefused() throws {
        var p = try ListPager(method: "tools/list")
        #expect(throws: ListFailure.self) { try p.take("not an object") }
        #expect(throws: ListFailure.self) { try p.take(.object(JSONObject(["tools": "x"]))) }
        #expect(throws: ListFailure.self) { try p.take(page([], 5)) }
        #expect(throws: ListFailure.unknownMethod("tools/call")) { try ListPager(method: "tools/call") }
    }
}

@Suite struct ClientCapabilitiesTests {
    @Test func handlersImplyCapabilitiesAndTheHostsOwnWin() {
        let none = ClientCapabilities.derive(handling: [String](), declared: JSONObject())
        #expect(none.members.isEmpty)
        let caps = ClientCapabilities.derive(handling: ["roots/list", "sampling/createMessage"],
                                            declared: ["roots": ["listChanged": false], "experimental": [:]])
        #expect(caps["sampling"] == [:])
        #expect(caps["roots"] == ["listChanged": false])
        #expect(caps["experimental"] == [:])
        #expect(caps["elicitation"] == nil)
        #expect(ClientCapabilities.derive(handling: ["elicitation/create"], declared: JSONObject())["elicitation"]
            == ["form": [:], "url": [:]])
        #expect(ClientCapabilities.handles("roots/list"))
        #expect(!ClientCapabilities.handles("tools/call"))
    }
}

@Suite struct EnvelopeScannerTests {
    private func scan(_ text: String, pieces: Int = 1) -> EnvelopeScanner {
        var s = EnvelopeScanner()
        let bytes = Array(text.utf8)
        let size = max(1, bytes.count / pieces)
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + size)
            bytes[i..<end].withUnsafeBytes { s.feed($0) }
            i = end
        }
        return s
    }

    @Test func findsTheIdWhereverItIs() {
        let big = String(repeating: "x", count: 5000)
        #expect(scan(#"{"jsonrpc":"2.0","id":7,"result":{"t":"\#(big)"}}"#).id == .int(7))
        // The TypeScript SDK writes the result first.
        #expect(scan(#"{"result":{"id":1,"a":["id",{"id":2}],"s":"\"id\":3"},"jsonrpc":"2.0","id":"r-9"}"#, pieces: 7).id
            == .string("r-9"))
        #expect(scan(#"{ "id" : 42 , "error" : {"code":-1,"message":"\#(big)"} }"#, pieces: 100).id == .int(42))
        #expect(scan(#"{"id":"a\"b","result":{}}"#).id == .string("a\"b"))
    }

    @Test func tellsRequestsFromAnswers() {
        let r = scan(#"{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{}}"#)
        #expect(r.hasMethod && r.id == .int(1))
        #expect(!scan(#"{"id":1,"result":{"method":"x"}}"#).hasMethod)
    }

    @Test func findsNothingInWhatIsNotAnAnswer() {
        #expect(scan(#"{"id":null,"result":{}}"#).id == nil)
        #expect(scan(#"{"id":{"x":1},"result":{}}"#).id == nil)
        #expect(scan(#"[1,2,{"id":3}]"#).id == nil)
        #expect(scan("garbage \"id\": 5").id == nil)
    }
}
