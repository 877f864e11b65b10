import Testing
@testable import MCPTransport

@Suite struct LineFramerTests {
    private func frame(_ chunks: [String], max: Int = 16) -> [String] {
        var framer = LineFramer(maxLineBytes: max)
        var out: [String] = []
        let handle: (LineFramer.Event) -> Void = { e in
            switch e {
            case .line(let b): out.append(String(decoding: b, as: UTF8.self))
            case .oversized: out.append("<oversized>")
            }
        }
        for c in chunks {
            let bytes = Array(c.utf8)
            bytes.withUnsafeBytes { framer.feed($0, handle) }
        }
        framer.finish(handle)
        return out
    }

    @Test func splitsLinesAcrossChunks() {
        #expect(frame(["{\"a\"", ":1}\n{\"b\":2}\r\n", "\n  \n{\"c\"", ":3}"]) == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
    }

    @Test func discardsOversizedLinesAndGoesOn() {
        let long = String(repeating: "x", count: 40)
        #expect(frame(["a\n" + long + "\nb\n"]) == ["a", "<oversized>", "b"])
        #expect(frame(["a\n", String(long.prefix(10)), String(long.suffix(30)), "\nb\n"]) == ["a", "<oversized>", "b"])
        #expect(frame([long]) == ["<oversized>"])
    }
}

@Suite struct LineFramerScanTests {
    @Test func anOversizedLineSaysWhichRequestItAnswered() {
        var framer = LineFramer(maxLineBytes: 64, scansOversized: true)
        var seen: [String] = []
        let handle: (LineFramer.Event) -> Void = { e in
            switch e {
            case .line(let b): seen.append(String(decoding: b, as: UTF8.self))
            case .oversized(let scan): seen.append("<oversized id=\(scan?.id.map { "\($0)" } ?? "none")>")
            }
        }
        let long = String(repeating: "y", count: 200)
        // Split so the cap is crossed inside the buffered part of the line.
        let text = "{\"a\":1}\n{\"result\":{\"t\":\"" + long + "\"},\"id\":12}\n{\"b\":2}\n"
        let bytes = Array(text.utf8)
        for i in stride(from: 0, to: bytes.count, by: 30) {
            bytes[i..<min(bytes.count, i + 30)].withUnsafeBytes { framer.feed($0, handle) }
        }
        framer.finish(handle)
        #expect(seen == ["{\"a\":1}", "<oversized id=12>", "{\"b\":2}"])
    }
}
