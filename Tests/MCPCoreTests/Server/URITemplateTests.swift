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

    @Test(arguments: ["a/{", "a/}", "a/{}", "a/{x}{y}", "a/{x+}", "a/{x}/{x}"])
    func refusesBadSyntax(_ text: String) {
        #expect(throws: URITemplate.SyntaxError.self) { try URITemplate(text) }
    }
}
