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
