import Testing
@testable import MCPCore
import MCPRuntime

/// Era negotiation, the modern request envelope and the MRTR loop of
/// ClientSession, against a scripted server in memory.
@Suite struct ClientEraTests {
    /// A server that answers each request with what `script` returns
    /// (a result, or an error), recording every message.
    final class Scripted: Sendable {
        enum Answer: Sendable {
            case result(JSONValue)
            case error(JSONRPCError)
            case silence
        }

        let client: ClientSession
        let received = LockedState<[JSONObject]>([])

        init(era: ClientEra = .auto, maxInputRounds: Int = 10, discoverTimeoutMs: Int = 2000,
             cache: ResultCache.Limits? = nil, script: @escaping @Sendable (String, JSONObject, Int) -> Answer)
        {
            let pool = WorkerPool(maxThreads: 4)
            var options = ClientOptions(name: "cli", version: "1")
            options.era = era
            options.maxInputRounds = maxInputRounds
            options.discoverTimeoutMs = discoverTimeoutMs
            options.cache = cache
            options.capabilities = ["elicitation": ["form": [:]]]
            let box = LockedState<ClientSession?>(nil)
            let received = self.received
            client = ClientSession(options: options, executor: pool, scheduler: Scheduler(executor: pool)) { bytes in
                guard case .object(let m)? = try? JSONParser.parse(bytes) else { return }
                let n = received.withLock { r -> Int in
                    r.append(m)
                    return r.filter { $0["method"] == m["method"] }.count
                }
                guard let id = m["id"], let method = m["method"]?.stringValue else { return }
                let reply: JSONValue
                switch script(method, m["params"]?.objectValue ?? JSONObject(), n) {
                case .silence: return
                case .result(let r): reply = ["jsonrpc": "2.0", "id": id, "result": r]
                case .error(let e): reply = ["jsonrpc": "2.0", "id": id, "error": e.json]
                }
                pool.execute {
                    let bytes = Array(JSONSerializer.string(reply).utf8)
                    bytes.withUnsafeBytes { b in box.withLock { $0 }?.receive(b) }
                }
            }
            box.withLock { $0 = client }
        }

        func connect() -> Result<JSONObject, RequestFailure> { wait { done in self.client.connect { done($0) } } }

        func call(_ method: String, _ params: JSONObject) -> Result<JSONValue, RequestFailure> {
            wait { done in
                do { try self.client.request(method: method, params: params) { done($0) } } catch {
                    done(.failure(.unsupported("\(error)")))
                }
            }
        }

        func wait<T: Sendable>(_ start: (@escaping @Sendable (T) -> Void) -> Void) -> T {
            let box = LockedState<(Bool, T?)>((false, nil))
            start { v in box.withLockAndNotify { $0 = (true, v) } }
            _ = box.wait(until: MonotonicInstant.now().adding(milliseconds: 10_000)) { $0.0 }
            return box.withLock { $0.1 }!
        }

        func sent(_ method: String) -> [JSONObject] { received.withLock { $0.filter { $0["method"] == .string(method) } } }
    }

    static let discovered: JSONValue = [
        "resultType": "complete", "supportedVersions": ["2026-07-28"], "capabilities": ["tools": [:], "prompts": [:]],
        "_meta": [ModernProtocol.serverInfoKey: ["name": "modern", "version": "9"]],
    ]
    static let initialized: JSONValue = [
        "protocolVersion": "2025-11-25", "capabilities": ["tools": [:]], "serverInfo": ["name": "old", "version": "1"],
    ]

    @Test func autoAdoptsAModernServerAndStampsEveryRequest() throws {
        let s = Scripted { method, _, _ in
            switch method {
            case "server/discover": return .result(Self.discovered)
            case "tools/call": return .result(["content": []])  // no resultType: complete
            default: return .error(.methodNotFound(method))
            }
        }
        let info = try s.connect().get()
        #expect(info["protocolVersion"] == "2026-07-28")
        #expect(info["serverInfo"]?["name"] == "modern")
        #expect(s.client.negotiated?.era == .modern)
        #expect(s.sent("initialize").isEmpty)
        _ = try s.call("tools/call", ["name": "x", "_meta": ["traceparent": "00-abc-def-01"]]).get()
        let meta = s.sent("tools/call")[0]["params"]?["_meta"]
        #expect(meta?[ModernProtocol.protocolVersionKey] == "2026-07-28")
        #expect(meta?[ModernProtocol.clientInfoKey]?["name"] == "cli")
        #expect(meta?[ModernProtocol.clientCapabilitiesKey]?["elicitation"] != nil)
        #expect(meta?["traceparent"] == "00-abc-def-01")
        // The revision removed ping: refused here, never sent.
        #expect(throws: CallFailure.self) { try s.client.request(method: "ping", params: nil) { _ in } }
    }

    @Test func autoFallsBackOnAnythingButModernEvidence() throws {
        let answers: [Scripted.Answer] = [
            .error(.methodNotFound("server/discover")), .error(.invalidParams("not initialized")),
            .result(["hello": "world"]), .result(["supportedVersions": ["2025-11-25"]]), .silence,
        ]
        for a in answers {
            let s = Scripted(discoverTimeoutMs: 200) { method, _, _ in
                method == "server/discover" ? a : .result(Self.initialized)
            }
            let info = try s.connect().get()
            #expect(info["protocolVersion"] == "2025-11-25")
            #expect(s.client.negotiated?.era == .legacy)
            #expect(s.sent("initialize").count == 1)
            #expect(s.sent("notifications/cancelled").isEmpty, "the probe is never cancelled")
        }
    }

    @Test func unsupportedVersionErrorIsModernEvidence() throws {
        // As the conformance suite's request-metadata scenario does: refuse
        // the first request with -32022, then serve.
        let s = Scripted { method, _, n in
            if method == "server/discover" && n == 1 {
                return .error(JSONRPCError(code: -32022, message: "Unsupported protocol version",
                                           data: ["supported": ["2026-07-28"], "requested": "2026-07-28"]))
            }
            return method == "server/discover" ? .result(Self.discovered) : .result(Self.initialized)
        }
        #expect(try s.connect().get()["protocolVersion"] == "2026-07-28")
        #expect(s.sent("server/discover").count == 2 && s.sent("initialize").isEmpty)
        let fixed = Scripted(era: .revision("2026-07-28")) { _, _, _ in .error(.methodNotFound("x")) }
        guard case .failure(.unsupported) = fixed.connect() else { Issue.record("a fixed modern era never falls back"); return }
        #expect(fixed.sent("initialize").isEmpty)
    }

    @Test func legacyEraNeverProbes() throws {
        let s = Scripted(era: .legacy) { _, _, _ in .result(Self.initialized) }
        _ = try s.connect().get()
        #expect(s.sent("server/discover").isEmpty && s.sent("initialize").count == 1)
    }

    static func elicit(_ key: String, state: String?) -> JSONValue {
        var r: JSONObject = [
            "resultType": "input_required",
            "inputRequests": [key: ["method": "elicitation/create", "params": [
                "message": "?", "requestedSchema": ["type": "object", "properties": [
                    "name": ["type": "string"], "mood": ["type": "string", "default": "calm"]]]]]],
        ]
        if let state { r["requestState"] = .string(state) }
        return .object(r)
    }

    @Test func inputRequiredRoundsAreAnsweredByTheHostHandlers() throws {
        let s = Scripted { method, params, n in
            if method == "server/discover" { return .result(Self.discovered) }
            switch n {
            case 1: return .result(Self.elicit("first", state: "s1"))
            case 2: return .result(Self.elicit("second", state: nil))
            default: return .result(["resultType": "complete", "content": [["type": "text", "text": "done"]]])
            }
        }
        s.client.setRequestHandler(method: "elicitation/create") { call, _, _ in
            try? call.respond(["action": "accept", "content": ["name": "Ada"]])
        }
        _ = try s.connect().get()
        let r = try s.call("tools/call", ["name": "t", "arguments": ["a": 1]]).get()
        #expect(r["content"]?.arrayValue?.first?["text"] == "done")
        let calls = s.sent("tools/call")
        #expect(calls.count == 3)
        #expect(Set(calls.compactMap { $0["id"].map { JSONSerializer.string($0) } }).count == 3, "every round has a new id")
        let second = calls[1]["params"]?.objectValue
        #expect(second?["requestState"] == "s1", "echoed exactly")
        #expect(second?["inputResponses"]?["first"]?["content"] == ["name": "Ada", "mood": "calm"], "schema default applied")
        #expect(second?["arguments"] == ["a": 1])
        #expect(calls[2]["params"]?["requestState"] == nil, "no state sent, none echoed")
        #expect(calls[2]["params"]?["inputResponses"]?["second"] != nil)
    }

    @Test func roundsAreBoundedAndBadResultsFail() throws {
        let s = Scripted(maxInputRounds: 3) { method, params, _ in
            switch method {
            case "server/discover": return .result(Self.discovered)
            case "tools/call" where params["name"] == "odd": return .result(["resultType": "later"])
            case "tools/list": return .result(Self.elicit("x", state: "s"))
            case "prompts/get": return .result(["resultType": "input_required", "requestState": 7])
            default: return .result(Self.elicit("x", state: "s"))
            }
        }
        s.client.setRequestHandler(method: "elicitation/create") { call, _, _ in try? call.respond(["action": "decline"]) }
        _ = try s.connect().get()
        guard case .failure(.limit(let m)) = s.call("tools/call", ["name": "forever"]) else {
            Issue.record("an endless server must hit max_input_rounds"); return
        }
        #expect(m.contains("3 rounds"))
        #expect(s.sent("tools/call").count == 4)
        for (method, name) in [("tools/call", "odd"), ("tools/list", ""), ("prompts/get", "p")] {
            guard case .failure(.peer(let e)) = s.call(method, ["name": .string(name)]) else {
                Issue.record("\(method) should fail"); continue
            }
            #expect(e.code == ErrorCode.internalError)
        }
    }

    @Test func hostDrivesRoundsWhenAskedTo() throws {
        let s = Scripted(maxInputRounds: 0) { method, _, _ in
            method == "server/discover" ? .result(Self.discovered) : .result(Self.elicit("x", state: "s"))
        }
        _ = try s.connect().get()
        #expect(try s.call("tools/call", ["name": "t"]).get()["resultType"] == "input_required")
    }

    @Test func toolHeaderRules() {
        func check(_ schema: JSONValue) -> String? {
            do throws(ToolHeaders.Invalid) { _ = try ToolHeaders.parameters(of: schema); return nil } catch {
                return error.description
            }
        }
        let good: JSONValue = ["type": "object", "properties": [
            "region": ["type": "string", "x-mcp-header": "Region"],
            "n": ["type": "integer", "x-mcp-header": "N"],
            "nested": ["type": "object", "properties": ["flag": ["type": "boolean", "x-mcp-header": "Flag"]]],
            "d": ["type": "string", "default": ["x-mcp-header": "not a schema"]],
        ]]
        let params = try? ToolHeaders.parameters(of: good)
        #expect(params?.count == 3)
        let h = ToolHeaders.headers(for: params ?? [], arguments: ["region": "us-west1", "n": 42, "nested": ["flag": true]])
        #expect(h.map { "\($0.name): \($0.value)" } == ["Mcp-Param-Region: us-west1", "Mcp-Param-N: 42", "Mcp-Param-Flag: true"])
        #expect(ToolHeaders.headers(for: params ?? [], arguments: ["region": nil]).isEmpty)
        for bad: JSONValue in [
            ["properties": ["a": ["type": "string", "x-mcp-header": ""]]],
            ["properties": ["a": ["type": "string", "x-mcp-header": "Has Space"]]],
            ["properties": ["a": ["type": "string", "x-mcp-header": "Colon:"]]],
            ["properties": ["a": ["type": "string", "x-mcp-header": "Ünï"]]],
            ["properties": ["a": ["type": "number", "x-mcp-header": "A"]]],
            ["properties": ["a": ["type": "object", "x-mcp-header": "A"]]],
            ["properties": ["a": ["type": "string", "x-mcp-header": "A"], "b": ["type": "string", "x-mcp-header": "a"]]],
            ["properties": ["a": ["type": "array", "items": ["type": "string", "x-mcp-header": "A"]]]],
            ["properties": ["a": ["oneOf": [["type": "string", "x-mcp-header": "A"]]]]],
        ] {
            #expect(check(bad) != nil, "\(JSONSerializer.string(bad))")
        }
        #expect(ToolHeaders.encode("us-west1") == "us-west1")
        #expect(ToolHeaders.encode("a b") == "a b")
        #expect(ToolHeaders.encode("") == "")
        #expect(ToolHeaders.encode("Hello, 世界") == "=?base64?SGVsbG8sIOS4lueVjA==?=")
        #expect(ToolHeaders.encode(" padded ") == "=?base64?IHBhZGRlZCA=?=")
        #expect(ToolHeaders.encode("line1\nline2") == "=?base64?bGluZTEKbGluZTI=?=")
        #expect(ToolHeaders.encode("=?base64?literal?=") == "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=")
        #expect(ToolHeaders.encode("a\tb").hasPrefix("=?base64?"))
    }
}
