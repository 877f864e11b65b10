// libFuzzer target: JSON-RPC messages into a server session, in memory
// (Sources/MCPCore/Server and Modern), in both eras and through every method.
//
// Input: the first byte picks how the session starts, the rest is one message
// per line, each handed to ServerSession.receive as a transport would.
//   mode 0: 2025-11-25, initialize and notifications/initialized already sent
//   mode 1: a fresh connection; the first message decides the era
//   mode 2: a modern (2026-07-28) session, as the HTTP transport makes them
//   mode 3: a stateless 2025-11-25 session (HTTP stateless mode)
// The server has a tool of each kind, a resource, a template, a prompt and a
// completion handler, so every method reaches its handler. The literal @STATE@
// in a line is replaced by the last requestState the server issued, so a seed
// can take a 2026-07-28 call through a second MRTR round.
@testable import MCPCore
import MCPRuntime
import FuzzSupport

/// One server for the whole run; each input gets its own session.
let server: ServerCore = {
    var options = ServerOptions(name: "fuzz", version: "1.0")
    options.instructions = "fuzz"
    options.pageSize = 2  // lists of more than two items page, so cursors are used
    options.requestState.keys = [Array(repeating: 7, count: 32)]
    let executor = InlineExecutor()
    let core = ServerCore(options: options, executor: executor, scheduler: StillClock())
    func tool(_ definition: JSONObject, _ handler: @escaping ToolHandler) {
        do { try core.addTool(ToolEntry(definition: definition, handler: handler)) } catch {
            fatalError("fuzz set-up: \(error)")
        }
    }
    tool(["name": "echo", "inputSchema": ["type": "object", "properties": ["text": ["type": "string"]]],
          "outputSchema": ["type": "object", "properties": ["got": ["type": "string"]]]]) { call, args in
        try? call.respond(["structuredContent": ["got": args["text"] ?? .string("")]])
    }
    tool(["name": "ask"]) { call, args in
        // Elicitation, then sampling: two rounds in a 2026-07-28 call.
        do {
            try call.request(method: "elicitation/create", params: [
                "message": "name?", "requestedSchema": ["type": "object", "properties": ["n": ["type": "string"]]],
            ], key: "name", timing: RequestTiming()) { outcome in
                guard case .success = outcome else { try? call.fail(.internalError("no answer")); return }
                try? call.request(method: "roots/list", params: nil, timing: RequestTiming()) { outcome in
                    switch outcome {
                    case .success(let v): try? call.respond(["content": [["type": "text", "text": .string(JSONSerializer.string(v))]]])
                    case .failure: try? call.fail(.internalError("no roots"))
                    }
                }
            }
        } catch CallFailure.inputRequired {
            return  // a 2026-07-28 call: the engine answers with an InputRequiredResult
        } catch {
            try? call.fail(.internalError("\(error)"))
        }
    }
    tool(["name": "slow", "execution": ["taskSupport": "optional"]]) { call, _ in
        try? call.progress(0.5, total: 1, message: "half")
        try? call.log(level: .info, logger: "fuzz", data: "working")
        try? call.respond(["content": [["type": "text", "text": "done"]]])
    }
    tool(["name": "silent"]) { _, _ in }  // never answers: cancellation and close reach it
    tool(["name": "t3"]) { call, _ in try? call.respond(["content": []]) }
    do {
        try core.addResource(ResourceEntry(definition: ["uri": "test://a", "name": "a"]) { call, uri, _ in
            try? call.respond(["contents": [["uri": .string(uri), "text": "A"]]])
        })
        try core.addTemplate(TemplateEntry(definition: ["uriTemplate": "test://items/{id}", "name": "item"]) {
            call, uri, _ in try? call.respond(["contents": [["uri": .string(uri), "text": "item"]]])
        })
        try core.addPrompt(PromptEntry(definition: ["name": "p", "arguments": [["name": "a", "required": true]]]) {
            call, args in
            try? call.respond(["messages": [["role": "user", "content": ["type": "text", "text": args["a"] ?? "?"]]]])
        })
    } catch {
        fatalError("fuzz set-up: \(error)")
    }
    core.setCompletionHandler { call, _, _, value, _ in
        try? call.respond(["completion": ["values": [.string(value)], "hasMore": false]])
    }
    return core
}()

/// What the server sent, and the last requestState in it.
final class Outbox: @unchecked Sendable {  // touched by the fuzzing thread only (inline executor)
    var lastState: [UInt8]?
    func take(_ bytes: [UInt8]) {
        guard let v = try? JSONParser.parse(bytes) else { fatalError("the server sent invalid JSON") }
        if let s = v["result"]?["requestState"]?.stringValue { lastState = Array(s.utf8) }
    }
}

let placeholder = Array("@STATE@".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerSession(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let outbox = Outbox()
    let channel = ClosureChannel { outbox.take($0) }
    let session: ServerSession
    switch bytes[0] & 3 {
    case 0:
        session = server.makeSession(defaultChannel: channel)
        session.receive(JSONValue.object(["jsonrpc": "2.0", "id": 0, "method": "initialize", "params": [
            "protocolVersion": "2025-11-25", "clientInfo": ["name": "fuzz", "version": "1"],
            "capabilities": ["elicitation": [:], "roots": [:], "sampling": [:]],
        ]]))
        session.receive(JSONValue.object(["jsonrpc": "2.0", "method": "notifications/initialized"]))
    case 1: session = server.makeSession(defaultChannel: channel)
    case 2: session = server.makeModernSession(defaultChannel: channel)
    default: session = server.makeStatelessSession(defaultChannel: channel, version: .v2025_11_25)
    }
    for line in lines(bytes) {
        var message = Array(line)
        if let state = outbox.lastState, let r = message.firstRange(of: placeholder) {
            message.replaceSubrange(r, with: state)
        }
        message.withUnsafeBytes { _ = session.receive($0) }
    }
    session.close()
    return 0
}

@main struct ServerSessionTarget {
    static func main() { runFuzzer(fuzzServerSession) }
}
