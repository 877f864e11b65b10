import Testing
@testable import MCPCore
import MCPRuntime

/// The client's response cache (caching.mdx): freshness by ttlMs on a
/// clock the test drives, keys, bounds, invalidation; then in the request
/// path against a scripted modern server, counting what reaches it.
@Suite struct ResultCacheTests {
    final class Clock: Sendable {
        let ms = LockedState<UInt64>(1_000)
        func advance(_ d: UInt64) { ms.withLock { $0 += d } }
    }

    private func cache(_ clock: Clock, _ limits: ResultCache.Limits = .init()) -> ResultCache {
        ResultCache(limits: limits, now: { clock.ms.withLock { $0 } })
    }

    private func result(ttl: JSONValue?, scope: String = "public", _ extra: JSONObject = [:]) -> JSONValue {
        var o = extra
        o["tools"] = []
        if let ttl { o["ttlMs"] = ttl }
        o["cacheScope"] = .string(scope)
        return .object(o)
    }

    @Test func freshWhileTtlRunsThenStale() throws {
        let clock = Clock()
        let c = cache(clock)
        let key = try #require(ResultCache.key(method: "tools/list", params: nil))
        c.store(key, method: "tools/list", params: nil, result: result(ttl: 500))
        #expect(c.lookup(key) == result(ttl: 500))
        clock.advance(499)
        #expect(c.lookup(key) != nil)
        clock.advance(1)
        #expect(c.lookup(key) == nil, "now < t_received + ttlMs, and not a millisecond more")
        #expect(c.stats.entries == 0)
    }

    @Test func zeroNegativeOrAbsentTtlAndInterimResultsAreNotKept() throws {
        let c = cache(Clock())
        let key = try #require(ResultCache.key(method: "tools/list", params: nil))
        for r in [result(ttl: 0), result(ttl: -5), result(ttl: nil), result(ttl: "60000"),
                  result(ttl: 1000, ["resultType": "input_required"])] {
            c.store(key, method: "tools/list", params: nil, result: r)
            #expect(c.lookup(key) == nil)
        }
    }

    @Test func keysFollowMethodAndParamsButNotMetaAndRefuseRetries() {
        let a = ResultCache.key(method: "resources/read", params: ["uri": "file:///a", "_meta": ["traceparent": "x"]])
        #expect(a == ResultCache.key(method: "resources/read", params: ["uri": "file:///a"]))
        #expect(a != ResultCache.key(method: "resources/read", params: ["uri": "file:///b"]))
        #expect(ResultCache.key(method: "tools/list", params: ["cursor": "c1"]) != ResultCache.key(method: "tools/list", params: nil))
        #expect(ResultCache.key(method: "tools/list", params: ["a": 1, "b": 2]) == ResultCache.key(method: "tools/list", params: ["b": 2, "a": 1]))
        #expect(ResultCache.key(method: "tools/call", params: ["name": "x"]) == nil)
        #expect(ResultCache.key(method: "resources/read", params: ["uri": "u", "requestState": "s"]) == nil)
        #expect(ResultCache.key(method: "resources/read", params: ["uri": "u", "inputResponses": [:]]) == nil)
    }

    @Test func notificationsInvalidateWhatTheyConcern() throws {
        let c = cache(Clock())
        func put(_ method: String, _ params: JSONObject?) throws -> String {
            let k = try #require(ResultCache.key(method: method, params: params))
            c.store(k, method: method, params: params, result: result(ttl: 60_000))
            return k
        }
        let tools = try put("tools/list", nil), page2 = try put("tools/list", ["cursor": "2"])
        let prompts = try put("prompts/list", nil), templates = try put("resources/templates/list", nil)
        let a = try put("resources/read", ["uri": "file:///a"]), b = try put("resources/read", ["uri": "file:///b"])
        c.invalidate(notification: "notifications/tools/list_changed", params: [:])
        #expect(c.lookup(tools) == nil && c.lookup(page2) == nil && c.lookup(prompts) != nil)
        c.invalidate(notification: "notifications/resources/updated", params: ["uri": "file:///a"])
        #expect(c.lookup(a) == nil && c.lookup(b) != nil)
        c.invalidate(notification: "notifications/resources/list_changed", params: [:])
        #expect(c.lookup(templates) == nil && c.lookup(b) != nil)
        c.invalidate(notification: "notifications/message", params: [:])
        #expect(c.lookup(prompts) != nil)
    }

    @Test func boundedByEntriesAndBytesLeastRecentlyUsedFirst() throws {
        let c = cache(Clock(), .init(maxEntries: 2, maxBytes: 10_000))
        let keys = (0..<3).map { ResultCache.key(method: "resources/read", params: ["uri": .string("u\($0)")])! }
        c.store(keys[0], method: "resources/read", params: ["uri": "u0"], result: result(ttl: 60_000))
        c.store(keys[1], method: "resources/read", params: ["uri": "u1"], result: result(ttl: 60_000))
        _ = c.lookup(keys[0])  // u1 is now the least recently used
        c.store(keys[2], method: "resources/read", params: ["uri": "u2"], result: result(ttl: 60_000))
        #expect(c.lookup(keys[1]) == nil && c.lookup(keys[0]) != nil && c.lookup(keys[2]) != nil)
        let small = cache(Clock(), .init(maxEntries: 100, maxBytes: 200))
        let big = result(ttl: 60_000, ["blob": .string(String(repeating: "x", count: 500))])
        small.store(keys[0], method: "resources/read", params: nil, result: big)
        #expect(small.stats.entries == 0, "a result over the byte bound is not kept")
        for k in keys { small.store(k, method: "resources/read", params: nil, result: result(ttl: 60_000)) }
        #expect(small.stats.bytes <= 200 && small.stats.entries < 3)
    }

    @Test func privateEntriesCanBeDroppedAlone() throws {
        let c = cache(Clock())
        let pub = ResultCache.key(method: "tools/list", params: nil)!, priv = ResultCache.key(method: "prompts/list", params: nil)!
        c.store(pub, method: "tools/list", params: nil, result: result(ttl: 60_000, scope: "public"))
        c.store(priv, method: "prompts/list", params: nil, result: result(ttl: 60_000, scope: "private"))
        c.removeAll(scope: .private)
        #expect(c.lookup(pub) != nil && c.lookup(priv) == nil)
    }

    // MARK: in the request path

    @Test func sessionAnswersFreshRequestsWithoutTheServer() throws {
        let s = ClientEraTests.Scripted(cache: .init()) { method, _, n in
            switch method {
            case "server/discover": return .result(ClientEraTests.discovered)
            case "tools/list": return .result(["resultType": "complete", "tools": [["name": .string("t\(n)")]], "ttlMs": 60_000, "cacheScope": "public"])
            case "prompts/list": return .result(["resultType": "complete", "prompts": [], "ttlMs": 0, "cacheScope": "public"])
            default: return .error(.methodNotFound(method))
            }
        }
        _ = try s.connect().get()
        let first = try s.call("tools/list", [:]).get()
        #expect(try s.call("tools/list", ["_meta": ["traceparent": "t"]]).get() == first)
        #expect(s.sent("tools/list").count == 1, "the second list never reached the server")
        _ = try s.call("tools/list", ["cursor": "p2"]).get()
        #expect(s.sent("tools/list").count == 2, "another page is another key")
        s.client.handleNotification(method: "notifications/tools/list_changed", params: [:])
        #expect(try s.call("tools/list", [:]).get()["tools"]?.arrayValue?.first?["name"] == "t3")
        _ = try s.call("prompts/list", [:]).get()
        _ = try s.call("prompts/list", [:]).get()
        #expect(s.sent("prompts/list").count == 2, "ttlMs 0 is immediately stale")
        #expect(s.client.cache?.stats.stores == 3)
    }

    @Test func resultsOfRetriedRequestsAreNotKept() throws {
        var discovered = ClientEraTests.discovered.objectValue ?? [:]
        discovered["capabilities"] = ["resources": [:]]
        let s = ClientEraTests.Scripted(cache: .init()) { [discovered] method, params, _ in
            switch method {
            case "server/discover": return .result(.object(discovered))
            case "resources/read":
                if params["uri"] == "mrtr://x", params["requestState"] == nil {
                    return .result(["resultType": "input_required", "requestState": "s"])
                }
                return .result(["resultType": "complete", "contents": [], "ttlMs": 60_000, "cacheScope": "private"])
            default: return .error(.methodNotFound(method))
            }
        }
        _ = try s.connect().get()
        _ = try s.call("resources/read", ["uri": "mrtr://x"]).get()
        _ = try s.call("resources/read", ["uri": "mrtr://x"]).get()
        #expect(s.sent("resources/read").count == 4, "each read went through its retry again")
        _ = try s.call("resources/read", ["uri": "plain://y"]).get()
        _ = try s.call("resources/read", ["uri": "plain://y"]).get()
        #expect(s.sent("resources/read").count == 5, "a private read is reused by this client")
        s.client.handleNotification(method: "notifications/resources/updated", params: ["uri": "plain://y"])
        _ = try s.call("resources/read", ["uri": "plain://y"]).get()
        #expect(s.sent("resources/read").count == 6)
    }

    @Test func cacheIsOffByDefault() throws {
        let s = ClientEraTests.Scripted { method, _, _ in
            method == "server/discover" ? .result(ClientEraTests.discovered)
                : .result(["resultType": "complete", "tools": [], "ttlMs": 60_000, "cacheScope": "public"])
        }
        _ = try s.connect().get()
        _ = try s.call("tools/list", [:]).get()
        _ = try s.call("tools/list", [:]).get()
        #expect(s.sent("tools/list").count == 2)
        #expect(s.client.cache == nil)
    }
}
