import Testing
@testable import MCPTransport

@Suite struct SSEParserTests {
    /// Feeds the chunks in order and returns the events, with data as text.
    private func parse(_ chunks: [String], max: Int = 1 << 20) -> (events: [SSEEvent], parser: SSEParser) {
        var parser = SSEParser(maxEventBytes: max)
        var events: [SSEEvent] = []
        for c in chunks {
            try? parser.feed(Array(c.utf8)) { events.append($0) }
        }
        return (events, parser)
    }

    private func texts(_ events: [SSEEvent]) -> [String] {
        events.map { String(decoding: $0.data, as: UTF8.self) }
    }

    @Test func fieldsOfOneEvent() {
        let (events, parser) = parse(["event: endpoint\nid: 7\ndata: /messages?s=1\n\n"])
        #expect(events == [SSEEvent(type: "endpoint", data: Array("/messages?s=1".utf8), lastEventID: "7")])
        #expect(parser.lastEventID == "7")
    }

    @Test func typeDefaultsToMessageAndResetsAfterEachEvent() {
        let (events, _) = parse(["event: a\ndata: 1\n\ndata: 2\n\n"])
        #expect(events.map(\.type) == ["a", "message"])
    }

    @Test func multiLineDataIsJoinedWithNewlines() {
        let (events, _) = parse(["data: {\"a\":\ndata:  1}\ndata\n\n"])
        // One space after the colon is dropped, a second one is data; a bare
        // "data" line adds an empty line.
        #expect(texts(events) == ["{\"a\":\n 1}\n"])
    }

    @Test func commentsAndUnknownFieldsAreIgnored() {
        let (events, _) = parse([": keep-alive\n\n", "foo: bar\ndata: x\n: note\n\n"])
        #expect(texts(events) == ["x"])
    }

    @Test func retryTakesOnlyDigits() {
        var (_, parser) = parse(["retry: 500\n\n"])
        #expect(parser.retryMs == 500)
        try? parser.feed(Array("retry: 5s\nretry: -1\nretry:\n\n".utf8)) { _ in }
        #expect(parser.retryMs == 500)
        try? parser.feed(Array("retry:0\n\n".utf8)) { _ in }
        #expect(parser.retryMs == 0)
    }

    @Test func primingEventPublishesItsIdWithEmptyData() {
        // What MCP servers send first: an id, the retry, and empty data.
        let (events, parser) = parse(["id: event-1\nretry: 500\ndata: \n\n"])
        #expect(events == [SSEEvent(type: "message", data: [], lastEventID: "event-1")])
        #expect(parser.lastEventID == "event-1")
        #expect(parser.retryMs == 500)
    }

    @Test func idPersistsAcrossEventsAndEmptyIdClearsIt() {
        let (events, parser) = parse(["id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"])
        #expect(events.map(\.lastEventID) == ["1", "1", nil])
        #expect(parser.lastEventID == nil)
    }

    @Test func idWithNULIsIgnored() {
        let (events, _) = parse(["id: 1\n\nid: a\u{0}b\ndata: x\n\n"])
        #expect(events.map(\.lastEventID) == ["1"])
    }

    @Test func idWithoutBlankLineIsNotPublished() {
        let (events, parser) = parse(["id: 1\ndata: x\n\nid: 2\ndata: y\n"])
        #expect(events.count == 1)
        #expect(parser.lastEventID == "1")
    }

    @Test func eventWithoutDataIsNotDispatchedButSetsTheId() {
        let (events, parser) = parse(["event: ping\nid: 9\n\n"])
        #expect(events.isEmpty)
        #expect(parser.lastEventID == "9")
    }

    @Test func crlfCrAndLfLineEndsAcrossChunks() {
        let (events, _) = parse(["data: a\r", "\n\r", "\ndata: b\rdata: c\r\r", "data: d\n", "\n"])
        #expect(texts(events) == ["a", "b\nc", "d"])
    }

    @Test func byteAtATime() {
        let text = "id: 3\r\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\"}\r\n\r\n"
        let (events, _) = parse(text.map { String($0) })
        #expect(texts(events) == ["{\"jsonrpc\":\"2.0\"}"])
        #expect(events.first?.lastEventID == "3")
    }

    @Test func leadingBOMIsDropped() {
        var events: [SSEEvent] = []
        var whole = SSEParser()
        try? whole.feed([0xEF, 0xBB, 0xBF] + Array("data: x\n\n".utf8)) { events.append($0) }
        var split = SSEParser()
        try? split.feed([0xEF]) { events.append($0) }
        try? split.feed([0xBB, 0xBF] + Array("data: y\n\n".utf8)) { events.append($0) }
        #expect(texts(events) == ["x", "y"])
        // Only at the very start: later it is part of the line (here an unknown field).
        var later = SSEParser()
        try? later.feed(Array("data: z\n".utf8) + [0xEF, 0xBB, 0xBF] + Array("data: w\n\n".utf8)) { events.append($0) }
        #expect(texts(events) == ["x", "y", "z"])
    }

    @Test func incompleteEventAtTheEndIsDiscarded() {
        var (events, parser) = parse(["data: whole\n\ndata: half"])
        parser.finish()
        #expect(texts(events) == ["whole"])
        try? parser.feed(Array("\n\n".utf8)) { events.append($0) }
        #expect(texts(events) == ["whole"])
    }

    /// The failure a feed ends with, if any.
    private func failure(_ parser: inout SSEParser, _ text: String) -> SSEParser.Failure? {
        do {
            try parser.feed(Array(text.utf8)) { _ in }
            return nil
        } catch {
            return error
        }
    }

    @Test func oversizedLineOrEventFails() {
        var line = SSEParser(maxEventBytes: 16)
        #expect(failure(&line, "data: 0123456789abcdef\n\n") == .tooLarge(limit: 16))
        var event = SSEParser(maxEventBytes: 16)
        // Each line fits; their data together (9 + 9 bytes with the newlines) does not.
        #expect(failure(&event, "data: 01234567\n") == nil)
        #expect(failure(&event, "data: 01234567\n\n") == .tooLarge(limit: 16))
        // A stream that failed stays failed.
        #expect(failure(&event, "data: a\n\n") == .tooLarge(limit: 16))
        var fits = SSEParser(maxEventBytes: 16)
        #expect(failure(&fits, "data: 01234567\n\n") == nil)
    }
}
