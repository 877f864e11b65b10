import Testing
@testable import MCPCore
import MCPRuntime

/// The sealed requestState of MRTR: what it binds and what it refuses.
@Suite struct RequestStateCodecTests {
    private func options(_ keys: [String], ttlMs: Int = 60_000, maxBytes: Int = 4096) -> RequestStateOptions {
        var o = RequestStateOptions()
        o.keys = keys.map { Array($0.utf8) }
        o.ttlMs = ttlMs
        o.maxBytes = maxBytes
        return o
    }

    private func payload(_ codec: RequestStateCodec, name: String = "t", args: JSONValue? = nil) -> RequestStatePayload {
        RequestStatePayload(method: "tools/call", name: name, argumentsDigest: RequestStateCodec.digest(of: args),
                            expiresAtMs: codec.expiry(),
                            answers: JSONObject(["a": ["action": "accept", "content": ["name": "Ann"]]]),
                            openKeys: ["b"], hostState: "host-1")
    }

    private func refusal(_ body: () throws(JSONRPCError) -> Void) -> JSONRPCError? {
        do { try body() } catch { return error }
        return nil
    }

    @Test func sealedStateOpensToTheSamePayload() throws {
        let codec = RequestStateCodec(options: options(["0123456789abcdef-key-one"]))
        let p = payload(codec)
        let sealed = try #require(codec.seal(p))
        #expect(!sealed.contains("=") && !sealed.contains("+") && !sealed.contains("/"))
        let opened = try codec.open(sealed, method: "tools/call", name: "t", argumentsDigest: p.argumentsDigest)
        #expect(opened == p)
    }

    @Test func anAlteredStateIsRefused() throws {
        let codec = RequestStateCodec(options: options(["0123456789abcdef-key-one"]))
        let p = payload(codec)
        let sealed = try #require(codec.seal(p))
        let digest = p.argumentsDigest
        for forged in [sealed + "-TAMPERED", "x" + sealed.dropFirst(), String(sealed.dropLast(2)) + "AA", "", ".", "a.b.c",
                       String(sealed.filter { $0 != "." })]
        {
            let e = refusal { () throws(JSONRPCError) in _ = try codec.open(forged, method: "tools/call", name: "t", argumentsDigest: digest) }
            #expect(e?.code == ErrorCode.invalidParams, "\(forged)")
        }
        // A payload re-encoded by the client (its own answers, its own host state) fails the MAC.
        let parts = sealed.split(separator: ".")
        let other = try #require(RequestStateCodec(options: options(["another-key-0123456789"])).seal(p))
        let spliced = String(parts[0]) + "." + String(other.split(separator: ".")[1])
        let e = refusal { () throws(JSONRPCError) in _ = try codec.open(spliced, method: "tools/call", name: "t", argumentsDigest: digest) }
        #expect(e?.message.contains("integrity") == true)
    }

    @Test func anExpiredStateIsRefused() throws {
        let now = LockedState<Int64>(1_000_000)
        let codec = RequestStateCodec(options: options(["0123456789abcdef-key-one"], ttlMs: 5000), clock: { now.withLock { $0 } })
        let p = payload(codec)
        let sealed = try #require(codec.seal(p))
        now.withLock { $0 += 4999 }
        _ = try codec.open(sealed, method: "tools/call", name: "t", argumentsDigest: p.argumentsDigest)
        now.withLock { $0 += 1 }
        let e = refusal { () throws(JSONRPCError) in _ = try codec.open(sealed, method: "tools/call", name: "t", argumentsDigest: p.argumentsDigest) }
        #expect(e?.code == ErrorCode.invalidParams)
        #expect(e?.message.contains("expired") == true)
    }

    @Test func aStateBelongsToOneMethodNameAndArguments() throws {
        let codec = RequestStateCodec(options: options(["0123456789abcdef-key-one"]))
        let args: JSONValue = ["x": 1, "y": ["b": true, "a": "s"]]
        let p = payload(codec, args: args)
        let sealed = try #require(codec.seal(p))
        // The same arguments in another member order are the same arguments.
        let reordered: JSONValue = ["y": ["a": "s", "b": true], "x": 1]
        #expect(RequestStateCodec.digest(of: reordered) == p.argumentsDigest)
        _ = try codec.open(sealed, method: "tools/call", name: "t", argumentsDigest: RequestStateCodec.digest(of: reordered))
        let d = p.argumentsDigest
        for (m, n, digest) in [("tools/call", "other", d), ("prompts/get", "t", d),
                               ("tools/call", "t", RequestStateCodec.digest(of: ["x": 2]))]
        {
            let e = refusal { () throws(JSONRPCError) in _ = try codec.open(sealed, method: m, name: n, argumentsDigest: digest) }
            #expect(e?.code == ErrorCode.invalidParams, "\(m) \(n)")
            #expect(e?.message.contains("belongs to") == true)
        }
    }

    @Test func rotationKeepsTheOldKeyForVerification() throws {
        let old = RequestStateCodec(options: options(["old-key-0123456789abcdef"]))
        let rotated = RequestStateCodec(options: options(["new-key-0123456789abcdef", "old-key-0123456789abcdef"]))
        let dropped = RequestStateCodec(options: options(["new-key-0123456789abcdef"]))
        let p = payload(old)
        let byOld = try #require(old.seal(p))
        _ = try rotated.open(byOld, method: "tools/call", name: "t", argumentsDigest: p.argumentsDigest)
        // The rotated codec seals with the new key, which the old node does not hold.
        let byNew = try #require(rotated.seal(p))
        _ = try dropped.open(byNew, method: "tools/call", name: "t", argumentsDigest: p.argumentsDigest)
        let e = refusal { () throws(JSONRPCError) in _ = try old.open(byNew, method: "tools/call", name: "t", argumentsDigest: p.argumentsDigest) }
        #expect(e?.code == ErrorCode.invalidParams)
        let e2 = refusal { () throws(JSONRPCError) in _ = try dropped.open(byOld, method: "tools/call", name: "t", argumentsDigest: p.argumentsDigest) }
        #expect(e2?.code == ErrorCode.invalidParams)
    }

    @Test func randomKeysDifferPerCodec() throws {
        let a = RequestStateCodec(options: RequestStateOptions())
        let b = RequestStateCodec(options: RequestStateOptions())
        let p = payload(a)
        let sealed = try #require(a.seal(p))
        _ = try a.open(sealed, method: "tools/call", name: "t", argumentsDigest: p.argumentsDigest)
        #expect(refusal { () throws(JSONRPCError) in _ = try b.open(sealed, method: "tools/call", name: "t", argumentsDigest: p.argumentsDigest) } != nil)
    }

    @Test func sizeIsBoundedBothWays() throws {
        let codec = RequestStateCodec(options: options(["0123456789abcdef-key-one"], maxBytes: 1024))
        var p = payload(codec)
        p.hostState = String(repeating: "x", count: 2000)
        #expect(codec.seal(p) == nil)
        let e = refusal { () throws(JSONRPCError) in
            _ = try codec.open(String(repeating: "A", count: 1025) + ".AA", method: "tools/call", name: "t", argumentsDigest: "")
        }
        #expect(e?.message.contains("larger") == true)
    }

    @Test func base64URLRoundTrips() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(Base64URL.decode(Array(Base64URL.encode(bytes).utf8)) == bytes)
        }
        #expect(Base64URL.encode(Array("hello".utf8)) == "aGVsbG8")
        #expect(Base64URL.decode(Array("a".utf8)) == nil)
        #expect(Base64URL.decode(Array("a=b".utf8)) == nil)
    }
}
