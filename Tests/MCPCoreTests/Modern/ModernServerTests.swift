import Testing
@testable import MCPCore
import MCPRuntime

/// The modern `_meta` envelope of a 2026-07-28 request.
func envelope(caps: JSONObject = JSONObject(), logLevel: String? = nil, version: String = "2026-07-28",
              extra: JSONObject = JSONObject()) -> JSONValue
{
    var m: JSONObject = [
        "io.modelcontextprotocol/protocolVersion": .string(version),
        "io.modelcontextprotocol/clientCapabilities": .object(caps),
        "io.modelcontextprotocol/clientInfo": ["name": "t", "version": "1"],
    ]
    if let logLevel { m["io.modelcontextprotocol/logLevel"] = .string(logLevel) }
    for member in extra.members { m[member.key] = member.value }
    return .object(m)
}

func modernParams(_ params: JSONObject = JSONObject(), caps: JSONObject = JSONObject(), logLevel: String? = nil)
    -> JSONValue
{
    var p = params
    p["_meta"] = envelope(caps: caps, logLevel: logLevel)
    return .object(p)
}

@Suite struct ModernServerTests {
    func harness(_ configure: (inout ServerOptions) -> Void = { _ in }) -> SessionHarness {
        var options = ServerOptions(name: "test", version: "1.0")
        options.instructions = "Be nice"
        configure(&options)
        let executor = InlineExecutor()
        return SessionHarness(server: ServerCore(options: options, executor: executor, scheduler: Scheduler(executor: executor)))
    }

    @Test func discoverNamesVersionsCapabilitiesAndIdentity() throws {
        let h = harness {
            $0.extensions = ["io.modelcontextprotocol/ui": ["mimeTypes": ["text/html;profile=mcp-app"]]]
            $0.declaredCapabilities = [.tools, .resources]
        }
        let r = try #require(h.request(1, "server/discover", modernParams())?["result"])
        #expect(r["supportedVersions"] == ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"])
        #expect(r["resultType"] == "complete")
        #expect(r["_meta"]?["io.modelcontextprotocol/serverInfo"]?["name"] == "test")
        #expect(r["instructions"] == "Be nice")
        #expect(r["capabilities"]?["tools"]?["listChanged"] == true, "subscriptions/listen delivers list changes")
        #expect(r["capabilities"]?["resources"]?["subscribe"] == true)
        #expect(r["capabilities"]?["extensions"]?["io.modelcontextprotocol/ui"]?["mimeTypes"] == ["text/html;profile=mcp-app"])
        #expect(r["ttlMs"] == 0 && r["cacheScope"] == "private")
        #expect(h.session.isModern, "server/discover first makes the connection modern")
    }

    @Test func discoverCarriesAllOfServerInfoAndOtherResultsItsNameAndVersion() throws {
        let h = harness {
            $0.info["title"] = "Test server"
            $0.info["description"] = "For the tests"
        }
        let d = try #require(h.request(1, "server/discover", modernParams())?["result"])
        #expect(d["_meta"]?["io.modelcontextprotocol/serverInfo"]?["title"] == "Test server")
        #expect(d["_meta"]?["io.modelcontextprotocol/serverInfo"]?["description"] == "For the tests")
        let listed = try #require(h.request(2, "tools/list", modernParams())?["result"])
        #expect(listed["_meta"]?["io.modelcontextprotocol/serverInfo"] == ["name": "test", "version": "1.0"])
    }

    @Test func theFirstRequestDecidesTheEra() throws {
        let legacy = harness()
        legacy.initialize()
        let refused = legacy.request(1, "tools/list", modernParams())
        #expect(refused?["error"]?["code"] == -32600, "an initialized connection does not serve modern requests")
        #expect(legacy.request(2, "tools/list")?["result"]?["tools"] == [])

        let modern = harness()
        #expect(modern.request(1, "tools/list", modernParams())?["result"]?["resultType"] == "complete")
        #expect(modern.request(2, "tools/list")?["error"]?["code"] == -32602, "a modern connection needs the envelope")
        #expect(modern.request(3, "initialize", ["protocolVersion": "2025-11-25", "capabilities": [:],
                                                 "clientInfo": ["name": "t", "version": "1"]])?["error"]?["code"] == -32602)

        let undecided = harness()
        _ = undecided.request(1, "tools/list")  // before initialize: decides nothing
        undecided.initialize()
        #expect(!undecided.session.isModern)
    }

    @Test func envelopeErrorsInTheSpecsOrder() throws {
        let h = harness()
        func code(_ id: Int64, _ meta: JSONValue?) -> JSONValue? {
            var p = JSONObject()
            if let meta { p["_meta"] = meta }
            return h.request(id, "server/discover", .object(p))?["error"]?["code"]
        }
        #expect(code(1, envelope(version: "v999.0.0")) == -32022)
        let unsupported = h.request(2, "tools/list", .object(["_meta": envelope(version: "2025-11-25")]))
        #expect(unsupported?["error"]?["data"]?["requested"] == "2025-11-25")
        #expect(unsupported?["error"]?["data"]?["supported"]?.arrayValue?.first == "2026-07-28")
        #expect(code(3, nil) == -32602)
        #expect(code(4, ["io.modelcontextprotocol/protocolVersion": "2026-07-28"]) == -32602, "capabilities are required")
        #expect(code(5, ["io.modelcontextprotocol/protocolVersion": 7, "io.modelcontextprotocol/clientCapabilities": [:]]) == -32602)
        #expect(code(6, envelope(logLevel: "loud")) == -32602, "an unknown log level")
        #expect(code(7, ["io.modelcontextprotocol/protocolVersion": "2026-07-28",
                         "io.modelcontextprotocol/clientCapabilities": [:]]) == nil, "clientInfo is optional")
    }

    @Test(arguments: ["ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe", "initialize",
                      "tasks/list", "unknown/method"])
    func removedMethodsAreNotFound(_ method: String) throws {
        let h = harness()
        let r = try #require(h.request(9, method, modernParams(["uri": "test://x", "level": "info"])))
        #expect(r["error"]?["code"] == -32601)
        #expect(r["id"] == 9)
    }

    @Test func resultsAreStampedAndCacheHintsApplied() throws {
        let h = harness { $0.cacheDefault = CacheHint(ttlMs: 5000, scope: .public) }
        try h.server.addTool(ToolEntry(definition: ["name": "b"]) { call, _ in try? call.respond(textResult("b")) })
        try h.server.addTool(ToolEntry(definition: ["name": "a", "ttlMs": 100]) { call, _ in try? call.respond(textResult("a")) })
        try h.server.addResource(ResourceEntry(definition: ["uri": "test://private", "name": "p", "cacheScope": "private"]) {
            call, uri, _ in try? call.respond(["contents": [["uri": .string(uri), "text": "secret"]]])
        })
        try h.server.addResource(ResourceEntry(definition: ["uri": "test://plain", "name": "q"]) {
            call, uri, _ in try? call.respond(["contents": [["uri": .string(uri), "text": "x"]]])
        })
        let tools = try #require(h.request(1, "tools/list", modernParams())?["result"])
        #expect(tools["tools"]?.arrayValue?.map { $0["name"] } == ["b", "a"], "registration order, every time")
        #expect(tools["tools"]?.arrayValue?.last?["ttlMs"] == nil, "hint keys are not part of the definition sent")
        #expect(tools["ttlMs"] == 100 && tools["cacheScope"] == "public")
        let resources = try #require(h.request(2, "resources/list", modernParams())?["result"])
        #expect(resources["ttlMs"] == 5000 && resources["cacheScope"] == "private")
        let read = try #require(h.request(3, "resources/read", modernParams(["uri": "test://private"]))?["result"])
        #expect(read["cacheScope"] == "private" && read["ttlMs"] == 5000 && read["resultType"] == "complete")
        #expect(read["_meta"]?["io.modelcontextprotocol/serverInfo"]?["version"] == "1.0")
        let plain = try #require(h.request(4, "resources/read", modernParams(["uri": "test://plain"]))?["result"])
        #expect(plain["cacheScope"] == "public")
        for (id, method) in [(5, "prompts/list"), (6, "resources/templates/list")] {
            let r = try #require(h.request(Int64(id), method, modernParams())?["result"])
            #expect(r["ttlMs"] == 5000 && r["resultType"] == "complete")
        }
        let call = try #require(h.request(7, "tools/call", modernParams(["name": "a"]))?["result"])
        #expect(call["resultType"] == "complete" && call["ttlMs"] == nil, "a tool result is not cacheable")
        #expect(call["_meta"]?["io.modelcontextprotocol/serverInfo"]?["name"] == "test")
    }

    @Test func resourceNotFoundIsInvalidParamsAtTheModernRevision() throws {
        let h = harness()
        try h.server.addResource(ResourceEntry(definition: ["uri": "test://gone", "name": "g"]) { call, _, _ in
            try? call.fail(JSONRPCError(code: ErrorCode.resourceNotFound, message: "gone"))
        })
        #expect(h.request(1, "resources/read", modernParams(["uri": "test://nope"]))?["error"]?["code"] == -32602)
        #expect(h.request(2, "resources/read", modernParams(["uri": "test://gone"]))?["error"]?["code"] == -32602)
        let legacy = harness()
        try legacy.server.addResource(ResourceEntry(definition: ["uri": "test://gone", "name": "g"]) { call, _, _ in
            try? call.fail(JSONRPCError(code: ErrorCode.resourceNotFound, message: "gone"))
        })
        legacy.initialize()
        #expect(legacy.request(1, "resources/read", ["uri": "test://nope"])?["error"]?["code"] == -32002)
        #expect(legacy.request(2, "resources/read", ["uri": "test://gone"])?["error"]?["code"] == -32002)
    }

    @Test func logsOnlyAtTheRequestsOwnLevel() throws {
        let h = harness()
        try h.server.addTool(ToolEntry(definition: ["name": "log"]) { call, _ in
            try? call.log(level: .debug, logger: nil, data: "debug")
            try? call.log(level: .warning, logger: nil, data: "warning")
            try? call.respond(textResult("done"))
        })
        _ = h.request(1, "tools/call", modernParams(["name": "log"]))
        _ = h.request(2, "tools/call", modernParams(["name": "log"], logLevel: "info"))
        _ = h.request(3, "tools/call", modernParams(["name": "log"], logLevel: "debug"))
        let logs = h.messages.filter { $0["method"] == "notifications/message" }.map { $0["params"]?["data"] }
        #expect(logs == ["warning", "debug", "warning"], "none without a level, the request's own level otherwise")
    }

    @Test func callsSeeTheirOwnContext() throws {
        let h = harness()
        let seen = LockedState<[(ProtocolVersion, JSONObject, String?)]>([])
        try h.server.addTool(ToolEntry(definition: ["name": "ctx"]) { call, _ in
            seen.withLock { $0.append((call.protocolVersion, call.clientCapabilities, call.meta?["traceparent"]?.stringValue)) }
            try? call.respond(textResult("ok"))
        })
        var p = JSONObject(["name": "ctx"])
        p["_meta"] = envelope(caps: ["sampling": [:]],
                              extra: ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"])
        _ = h.request(1, "tools/call", .object(p))
        _ = h.request(2, "tools/call", modernParams(["name": "ctx"], caps: ["roots": [:]]))
        let s = seen.withLock { $0 }
        #expect(s.count == 2)
        #expect(s[0].0 == .v2026_07_28 && s[0].1["sampling"] != nil && s[0].2?.hasPrefix("00-0af7") == true)
        #expect(s[1].1["sampling"] == nil && s[1].1["roots"] != nil, "capabilities are per request, not per connection")
    }

    @Test func serverToClientRequestsNeedTheDeclaredCapability() throws {
        let h = harness()
        let failures = LockedState<[CallFailure]>([])
        try h.server.addTool(ToolEntry(definition: ["name": "ask"]) { call, _ in
            do throws(CallFailure) {
                try call.request(method: "sampling/createMessage",
                                 params: ["messages": [], "maxTokens": 5], timing: RequestTiming()) { _ in }
            } catch {
                failures.withLock { $0.append(error) }
                try? call.respond(["content": [["type": "text", "text": "no"]], "isError": true])
            }
        })
        let missing = try #require(h.request(1, "tools/call", modernParams(["name": "ask"]))?["error"])
        #expect(missing["code"] == -32021)
        #expect(missing["data"]?["requiredCapabilities"] == ["sampling": [:]])
        let declared = try #require(h.request(2, "tools/call", modernParams(["name": "ask"], caps: ["sampling": [:]])))
        // Declared: no live request, an input request instead (MRTR): the handler
        // is told to stop (inputRequired) and the client is asked for it.
        #expect(declared["result"]?["resultType"] == "input_required")
        #expect(declared["result"]?["inputRequests"]?["sample_1"]?["method"] == "sampling/createMessage")
        let f = failures.withLock { $0 }
        #expect(f.count == 2 && f.last == .inputRequired)
        if case .unsupported = f.first {} else { Issue.record("the undeclared request should be refused: \(f)") }
        #expect(!h.messages.contains { $0["method"] == "sampling/createMessage" })
    }

    @Test func headerParametersAreCollectedAndChecked() throws {
        let schema: JSONObject = ["type": "object", "properties": [
            "region": ["type": "string", "x-mcp-header": "Region"],
            "n": ["type": "integer", "x-mcp-header": "N"],
            "nested": ["type": "object", "properties": ["flag": ["type": "boolean", "x-mcp-header": "Flag"]]],
        ]]
        let tool = try ToolEntry(definition: ["name": "t", "inputSchema": .object(schema)]) { _, _ in }
        #expect(tool.headerParameters.map(\.name) == ["Region", "N", "Flag"])
        #expect(tool.headerParameters.last?.path == ["nested", "flag"])
        for bad: JSONObject in [
            ["type": "object", "properties": ["x": ["type": "number", "x-mcp-header": "X"]]],
            ["type": "object", "properties": ["x": ["type": "string", "x-mcp-header": "Bad Name"]]],
            ["type": "object", "properties": ["x": ["type": "array", "items": ["type": "string", "x-mcp-header": "X"]]]],
            ["type": "object", "properties": ["a": ["type": "string", "x-mcp-header": "X"], "b": ["type": "string", "x-mcp-header": "x"]]],
        ] {
            #expect(throws: DefinitionError.self) { try ToolEntry(definition: ["name": "t", "inputSchema": .object(bad)]) { _, _ in } }
        }
        let h = harness()
        try h.server.addTool(tool)
        func check(_ headers: [String: String], _ args: JSONObject) -> Int64? {
            let params: JSONObject = ["name": "t", "arguments": .object(args), "_meta": envelope()]
            let lower = Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), $0.value) })
            return HeaderCheck.validate(method: "tools/call", params: params, server: h.server) { lower[$0] }?.code
        }
        let base = ["Mcp-Method": "tools/call", "Mcp-Name": "t", "MCP-Protocol-Version": "2026-07-28"]
        #expect(check(base, [:]) == nil, "no argument, no header expected")
        #expect(check(base, ["region": "eu"]) == -32020, "the header is missing")
        #expect(check(base.merging(["Mcp-Param-Region": "eu"]) { $1 }, ["region": "eu"]) == nil)
        #expect(check(base.merging(["Mcp-Param-Region": "us"]) { $1 }, ["region": "eu"]) == -32020)
        #expect(check(base.merging(["Mcp-Param-Region": "=?base64?SGVsbG8sIOS4lueVjA==?="]) { $1 }, ["region": "Hello, 世界"]) == nil)
        #expect(check(base.merging(["Mcp-Param-N": "42"]) { $1 }, ["n": 42.0]) == nil, "integers compare as numbers")
        #expect(check(base.merging(["Mcp-Param-Flag": "true"]) { $1 }, ["nested": ["flag": true]]) == nil)
        #expect(check(base.merging(["Mcp-Name": "  t  "]) { $1 }, [:]) == nil, "blanks around a value are not part of it")
        #expect(check(base.merging(["Mcp-Name": "u"]) { $1 }, [:]) == -32020)
        #expect(check(base.merging(["Mcp-Method": "TOOLS/CALL"]) { $1 }, [:]) == -32020, "values are case-sensitive")
        #expect(check(base.filter { $0.key != "MCP-Protocol-Version" }, [:]) == -32020)
    }
}
