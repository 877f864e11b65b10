// libFuzzer target: what a client can hand back to the server opaquely, the
// pagination cursor (Sources/MCPCore/Server/Cursor.swift) and the MRTR
// requestState (Sources/MCPCore/Server/MRTR/RequestStateCodec.swift).
// Forged input must be refused (nil / -32602), never trusted or crashed on;
// what the codecs issue must open to what they sealed.
@testable import MCPCore
import Crypto
import FuzzSupport

let cursors = CursorCodec()
let key: [UInt8] = Array(repeating: 7, count: 32)
let states: RequestStateCodec = {
    var o = RequestStateOptions()
    o.keys = [key]
    o.maxBytes = 4096
    return RequestStateCodec(options: o)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCursor(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)

    // Cursors: arbitrary text is refused; one we issue comes back as it was.
    if cursors.decode(text, list: "tools") != nil { fatalError("a forged cursor was accepted: \(text)") }
    let fields = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
    let itemKey = String(decoding: fields.last ?? [], as: UTF8.self)
    let position = CursorCodec.Position(list: "tools", index: size, key: itemKey)
    if cursors.decode(cursors.encode(position), list: "tools") != position { fatalError("a cursor did not round-trip") }
    if cursors.decode(cursors.encode(position), list: "prompts") != nil { fatalError("a cursor crossed lists") }

    // requestState: base64url both ways, then arbitrary text, then arbitrary
    // payloads signed with the server's key (the parse after the MAC check).
    if Base64URL.decode(Array(Base64URL.encode(bytes).utf8)) != bytes { fatalError("base64url did not round-trip") }
    _ = Base64URL.decode(bytes)
    _ = try? states.open(text, method: "tools/call", name: "ask", argumentsDigest: "d")
    let body = Base64URL.encode(bytes)
    let mac = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: key))
    let signed = body + "." + Base64URL.encode(Array(mac))
    _ = try? states.open(signed, method: "tools/call", name: "ask", argumentsDigest: "d")
    return 0
}

@main struct CursorTarget {
    static func main() { runFuzzer(fuzzCursor) }
}
