import Testing
@testable import MCPTransport

@Suite struct AcceptedTypesTests {
    @Test(arguments: [
        (nil, true, true),
        ("application/json, text/event-stream", true, true),
        ("Application/JSON;q=0.9", true, false),
        ("text/event-stream", false, true),
        ("*/*", true, true),
        ("text/html, image/png", false, false),
        ("application/*,text/*", true, true),
        ("application/json-seq, text/event-streams", false, false),
        ("application/jso", false, false),
        (" text/event-stream ; q=1 ,application/json", true, true),
    ] as [(String?, Bool, Bool)])
    func readsAcceptHeaders(header: String?, json: Bool, sse: Bool) {
        let a = AcceptedTypes(header)
        #expect(a.json == json && a.sse == sse)
    }

    @Test func contentTypeIgnoresParametersCaseAndSpaces() {
        #expect(MediaType.first(of: "Application/Json; charset=utf-8", is: "application/json"))
        #expect(MediaType.first(of: " application/json", is: "application/json"))
        #expect(MediaType.first(of: "application/json, text/plain", is: "application/json"))
        #expect(!MediaType.first(of: "application/jsonx", is: "application/json"))
        #expect(!MediaType.first(of: "application/jso", is: "application/json"))
        #expect(!MediaType.first(of: "", is: "application/json"))
        #expect(MediaType.first(of: "application/json\t;charset=utf-8", is: "application/json"))
        #expect(!MediaType.first(of: ",application/json", is: "application/json"))
    }

    @Test func listsSplitAtEveryComma() {
        var items: [String] = []
        MediaType.each(in: ",a, b,,c,") { items.append(String(decoding: $0, as: UTF8.self)) }
        #expect(items == ["", "a", " b", "", "c"])
        MediaType.each(in: "") { _ in items.append("never") }
        #expect(items.count == 5)
    }
}
