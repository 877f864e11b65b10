// libFuzzer target: a client session fed server messages
// (Sources/MCPCore/Client). Input: a mode byte, then one server message per
// line. The client connects (mode & 3: 0 legacy initialize, 1 the 2026-07-28
// revision, 2 auto, 3 2025-03-26), and after each line makes its next request
// of a fixed list, so responses with ids 1, 2, 3, ... reach each kind of
// pending request. Server-to-client requests are answered by handlers.
@testable import MCPCore
import MCPRuntime
import FuzzSupport

let requests: [(String, JSONObject?)] = [
    ("tools/list", nil), ("tools/call", ["name": "echo", "arguments": ["text": "hi"]]),
    ("resources/list", nil), ("resources/read", ["uri": "test://a"]), ("resources/templates/list", nil),
    ("prompts/list", nil), ("prompts/get", ["name": "p", "arguments": ["a": "x"]]),
    ("completion/complete", ["ref": ["type": "ref/prompt", "name": "p"], "argument": ["name": "a", "value": "x"]]),
    ("resources/subscribe", ["uri": "test://a"]), ("logging/setLevel", ["level": "debug"]), ("ping", nil),
    ("tools/call", ["name": "ask"]),
]

let clock = StillClock()
let executor = InlineExecutor()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientSession(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var options = ClientOptions(name: "fuzz", version: "1")
    options.capabilities = ["sampling": [:], "elicitation": [:], "roots": ["listChanged": true]]
    options.era = [ClientEra.legacy, .revision("2026-07-28"), .auto, .revision("2025-03-26")][Int(bytes[0] & 3)]
    options.maxInputRounds = Int(bytes[0] >> 2 & 3)
    options.cache = bytes[0] & 16 != 0 ? ResultCache.Limits() : nil
    let client = ClientSession(options: options, executor: executor, scheduler: clock) { out in
        if (try? JSONParser.parse(out)) == nil { fatalError("the client sent invalid JSON") }
    }
    for method in ["sampling/createMessage", "elicitation/create", "roots/list"] {
        client.setRequestHandler(method: method) { call, _, _ in
            try? call.respond(method == "roots/list" ? ["roots": []] : ["action": "accept", "content": [:]])
        }
    }
    client.setNotificationHandler { _, _ in }
    client.connect { _ in }
    var next = 0
    for line in lines(bytes) {
        line.withUnsafeBytes { client.receive($0) }
        let (method, params) = requests[next % requests.count]
        next += 1
        _ = try? client.request(method: method, params: params) { _ in }
    }
    client.close()
    return 0
}

@main struct ClientSessionTarget {
    static func main() { runFuzzer(fuzzClientSession) }
}
