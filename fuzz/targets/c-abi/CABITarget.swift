// libFuzzer target: the C ABI (Sources/MCP, include/mcp.h) fed arbitrary
// text where a host passes JSON: options, definitions, messages. Input: a mode
// byte, then the text (NUL-terminated for the call).
//   0 mcp_server_new options      1 mcp_client_new options
//   2 a tool definition           3 a resource    4 a resource template
//   5 a prompt                    6, 7 messages (one per line) into a session
// Definitions go onto one server and are removed again when they were taken.
import CMCP
import MCPCore
import FuzzSupport

// Unchecked: an mcp_server_t may be used from any thread (mcp.h, "Threads: any").
nonisolated(unsafe) let server: OpaquePointer = {
    _ = mcp_set_log_hook({ _, _, _ in }, nil, 4, nil)  // the engine's own logs: dropped
    var s: OpaquePointer?
    guard mcp_server_new("fuzz", "1", #"{"page_size":2}"#, &s, nil) == MCP_OK, let s else {
        fatalError("fuzz set-up: mcp_server_new")
    }
    let echo: mcp_tool_fn = { _, call, args in
        let text = args.map { String(cString: $0) } ?? ""
        _ = mcp_call_return_text(call, text, text.utf8.count, nil, nil, nil)
    }
    guard mcp_server_add_tool_ex(s, #"{"name":"echo"}"#, echo, nil, nil, UInt32(MCP_TOOL_INLINE), nil) == MCP_OK else {
        fatalError("fuzz set-up: mcp_server_add_tool_ex")
    }
    return s
}()

let nothing: mcp_tool_fn = { _, _, _ in }
let noResource: mcp_resource_fn = { _, _, _, _ in }

/// The string member `key` of a definition the server took, to remove it again.
func member(_ key: String, of text: String) -> String? {
    (try? JSONParser.parse(text))?[key]?.stringValue
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCABI(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // What a C host passes: the text up to its first NUL.
    let text = String(decoding: bytes.dropFirst().prefix { $0 != 0 }, as: UTF8.self)
    switch bytes[0] & 7 {
    case 0:
        var s: OpaquePointer?
        if mcp_server_new("fuzz", "1", text, &s, nil) == MCP_OK { mcp_server_free(s) }
    case 1:
        var c: OpaquePointer?
        if mcp_client_new("fuzz", "1", text, &c, nil) == MCP_OK { mcp_client_free(c) }
    case 2:
        if mcp_server_add_tool_ex(server, text, nothing, nil, nil, UInt32(MCP_TOOL_INLINE), nil) == MCP_OK {
            guard let name = member("name", of: text), mcp_server_remove_tool(server, name, nil) == MCP_OK else {
                fatalError("a tool that was added cannot be removed: \(text)")
            }
        }
    case 3:
        if mcp_server_add_resource(server, text, noResource, nil, nil, nil) == MCP_OK {
            guard let uri = member("uri", of: text), mcp_server_remove_resource(server, uri, nil) == MCP_OK else {
                fatalError("a resource that was added cannot be removed: \(text)")
            }
        }
    case 4:
        if mcp_server_add_resource_template(server, text, noResource, nil, nil, nil) == MCP_OK {
            guard let t = member("uriTemplate", of: text), mcp_server_remove_resource_template(server, t, nil) == MCP_OK
            else { fatalError("a template that was added cannot be removed: \(text)") }
        }
    case 5:
        if mcp_server_add_prompt(server, text, { _, _, _ in }, nil, nil, nil) == MCP_OK {
            guard let name = member("name", of: text), mcp_server_remove_prompt(server, name, nil) == MCP_OK else {
                fatalError("a prompt that was added cannot be removed: \(text)")
            }
        }
    default:
        var session: OpaquePointer?
        guard mcp_server_session_new(server, { _, _, _ in }, nil, nil, &session, nil) == MCP_OK else {
            fatalError("mcp_server_session_new failed")
        }
        for line in lines(bytes) {
            Array(line).withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { _ = mcp_session_receive(session, $0.baseAddress, $0.count, nil) }
            }
        }
        mcp_session_free(session)
    }
    return 0
}

@main struct CABITarget {
    static func main() { runFuzzer(fuzzCABI) }
}
