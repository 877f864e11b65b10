/// The server's side of the stateless revision (2026-07-28): which era a
/// request belongs to, the modern method table, server/discover, and the
/// stamp every modern result carries. The 2025 era's table is in
/// ServerSession+Methods.swift; both serve the same features.
extension ServerSession {
    /// How a request is to be served.
    enum Routing {
        case legacy
        case modern
        case refused(JSONRPCError)
    }

    /// Decides (and for an undecided connection records) the era of a request.
    func era(of request: InboundRequest) -> Routing {
        let claimsModern = ModernContext.isModern(request.meta)
        return state.withLock { s -> Routing in
            switch s.era {
            case .modern:
                return .modern
            case .legacy:
                guard claimsModern else { return .legacy }
                return .refused(.invalidRequest("This connection speaks the 2025 era (initialize); a request of "
                    + "revision 2026-07-28 needs a connection that starts with one (stdio) or Streamable HTTP"))
            case .undecided:
                // A request with the modern _meta (server/discover among them)
                // decides for the modern era. A server/discover without it is
                // malformed for that era: answered as in the 2025 era (-32601,
                // so probing 2025 clients fall back at once), it decides nothing,
                // as NOTES.md wants of a malformed first message. initialize
                // decides once it succeeds.
                guard claimsModern else { return .legacy }
                s.era = .modern
                return .modern
            }
        }
    }

    /// ping is a 2025-era method; the stateless revision removed it.
    func answersPing(meta: JSONObject?) -> Bool {
        !ModernContext.isModern(meta) && !isModern
    }

    /// Methods of the 2026-07-28 table. Everything else, including the
    /// methods that revision removed (initialize, ping, logging/setLevel,
    /// resources/subscribe and unsubscribe) is -32601.
    func handleModern(_ request: InboundRequest, params: JSONObject) {
        let context: ModernContext
        switch ModernContext.parse(request.meta) {
        case .success(let c): context = c
        case .failure(let e): return reply(request, .failure(e))
        }
        request.attach(context)
        let version = context.version
        switch request.method {
        case "server/discover": reply(request, .success(.object(discover())), cache: server.options.cacheDefault)
        case "tools/list": replyList(request, .tools, params, version)
        case "resources/list": replyList(request, .resources, params, version)
        case "resources/templates/list": replyList(request, .templates, params, version)
        case "prompts/list": replyList(request, .prompts, params, version)
        case "tools/call": callTool(request, params: params)
        case "resources/read": readResource(request, params: params)
        case "prompts/get": getPrompt(request, params: params)
        case "completion/complete": complete(request, params: params)
        case "subscriptions/listen": listen(request, params: params)
        case "tasks/get", "tasks/update", "tasks/cancel": handleModernTaskRequest(request, params: params, context: context)
        default: reply(request, .failure(.methodNotFound(request.method)))
        }
    }

    private func replyList(_ request: InboundRequest, _ kind: FeatureList, _ params: JSONObject,
                           _ version: ProtocolVersion)
    {
        switch list(kind, params, version: version) {
        case .success(let (result, hint)): reply(request, .success(result), cache: hint)
        case .failure(let e): reply(request, .failure(e))
        }
    }

    /// DiscoverResult: the revisions served (newest first), the capabilities
    /// at the stateless revision, instructions. The list-change and
    /// subscribe capabilities are those subscriptions/listen honours.
    func discover() -> JSONObject {
        var result = JSONObject()
        result["supportedVersions"] = .array(ProtocolVersion.supportedNewestFirst.map { .string($0.rawValue) })
        result["capabilities"] = .object(server.capabilities(for: .modern))
        if let i = server.options.instructions { result["instructions"] = .string(i) }
        return result
    }


    /// What every 2026-07-28 result carries: `resultType` "complete", the
    /// server's identity in `_meta` (beside whatever `_meta` the result has),
    /// and for cacheable results the caching hints.
    /// (`fullIdentity`: all of serverInfo, for server/discover; else its
    /// name and version.)
    func stampModern(_ result: JSONObject, cache: CacheHint?, fullIdentity: Bool = false) -> JSONObject {
        var o = result
        o.reserve(o.count + 2)
        o["resultType"] = "complete"
        if !fullIdentity, o["_meta"] == nil {
            o.appendAbsent("_meta", server.modernMetaStamp)
            cache?.apply(to: &o)
            return o
        }
        var meta = o["_meta"]?.objectValue ?? JSONObject()
        meta[ModernContext.serverInfoKey] = fullIdentity ? server.modernServerInfo : server.modernServerIdentity
        o["_meta"] = .object(meta)
        cache?.apply(to: &o)
        return o
    }
}
