import Testing
@testable import MCPCore

@Suite struct URITemplateTests {
    @Test func matchesLevelOneVariables() throws {
        let t = try URITemplate("test://template/{id}/data")
        #expect(t.variableNames == ["id"])
        let m = t.match("test://template/42/data")
        #expect(m?.count == 1 && m?[0].name == "id" && m?[0].value == "42")
        #expect(t.match("test://template//data") == nil)
        #expect(t.match("test://template/4/2/data") == nil)
        #expect(t.match("test://template/42/data/x") == nil)
    }

    @Test func backtracksWithinASegment() throws {
        let t = try URITemplate("file:///{name}.{ext}")
        let m = try #require(t.match("file:///archive.tar.gz"))
        #expect(m[0].value == "archive" && m[1].value == "tar.gz")
    }

    @Test func takesTheShortestValueThatLetsTheRestMatch() throws {
        let t = try URITemplate("x://{a}-{b}-{c}-{d}!")
        let m = try #require(t.match("x://1-2-3--4!"))
        #expect(m.map { $0.value } == ["1", "2", "3", "-4"])
        #expect(try URITemplate("{a}x{b}").match("axbxc")?.map { $0.value } == ["a", "bxc"])
        #expect(try URITemplate("").match("")?.isEmpty == true)
        #expect(try URITemplate("{a}").match("") == nil)
    }

    /// Found by fuzz/targets/uri-template: trying every split took time
    /// exponential in the variables (minutes for these 400 bytes, a worker
    /// held by one resources/read); the table is linear.
    @Test func aLongURIThatAlmostMatchesIsRefusedQuickly() throws {
        let t = try URITemplate("x://{a}-{b}-{c}-{d}!")
        #expect(t.match("x://" + String(repeating: "-", count: 400)) == nil)
        #expect(t.match("x://" + String(repeating: "-", count: 1 << 20)) == nil)
        #expect(t.match("x://" + String(repeating: "a-", count: 1 << 18) + "!")?.last?.value.utf8.count == (1 << 19) - 6)
    }

    @Test(arguments: ["a/{", "a/}", "a/{}", "a/{x}{y}", "a/{x+}", "a/{x}/{x}"])
    func refusesBadSyntax(_ text: String) {
        #expect(throws: URITemplate.SyntaxError.self) { try URITemplate(text) }
    }
}
