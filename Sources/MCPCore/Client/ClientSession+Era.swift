/// Connecting: which era the server speaks (the `era` option), settled
/// before anything else is sent.
extension ClientSession {
    /// Settles the era as `options.era` says, then completes with the
    /// initialize-shaped description of the server (see NegotiatedServer).
    public func connect(completion: @escaping @Sendable (Result<JSONObject, RequestFailure>) -> Void) {
        switch options.era {
        case .legacy:
            initialize(completion: completion)
        case .revision(let r) where ModernProtocol.revisions.contains(r):
            discover(revision: r, fallBack: false, reprobed: false, completion: completion)
        case .revision(let r):
            guard let v = ProtocolVersion(rawValue: r) else {
                return completion(.failure(.unsupported("This client does not speak protocol version \(r)")))
            }
            initialize(offering: v, completion: completion)
        case .auto:
            discover(revision: ModernProtocol.newest, fallBack: true, reprobed: false, completion: completion)
        }
    }

    /// The `_meta` every modern request carries: revision, client identity and
    /// capabilities, and the log level when the host set one. Keys the host
    /// put in `_meta` itself win (a traceparent, or a per-call log level).
    func modernMeta(revision: String, over host: JSONObject?) -> JSONObject {
        var meta = JSONObject()
        meta[ModernProtocol.protocolVersionKey] = .string(revision)
        meta[ModernProtocol.clientInfoKey] = .object(options.info)
        var capabilities = options.capabilities
        if options.followsTasks {
            var ext = capabilities["extensions"]?.objectValue ?? JSONObject()
            ext[ModernProtocol.tasksExtension] = ext[ModernProtocol.tasksExtension] ?? .object(JSONObject())
            capabilities["extensions"] = .object(ext)
        }
        meta[ModernProtocol.clientCapabilitiesKey] = .object(capabilities)
        if let level = options.logLevel { meta[ModernProtocol.logLevelKey] = .string(level.rawValue) }
        for m in host?.members ?? [] where m.key != ModernProtocol.protocolVersionKey { meta[m.key] = m.value }
        return meta
    }

    /// One server/discover probe. Positive evidence of a modern server (a
    /// DiscoverResult naming a revision we speak, or a modern error) keeps the
    /// client modern; anything else falls back to initialize when `fallBack`.
    private func discover(revision: String, fallBack: Bool, reprobed: Bool,
                          completion: @escaping @Sendable (Result<JSONObject, RequestFailure>) -> Void)
    {
        let params = JSONObject(["_meta": .object(modernMeta(revision: revision, over: nil))])
        let ms = min(options.discoverTimeoutMs, options.timing.timeoutMs)
        let timing = RequestTiming(timeoutMs: ms, maxTotalMs: ms, resetOnProgress: false)
        let legacy: @Sendable (String) -> Void = { [weak self] why in
            guard let self else { return completion(.failure(.closed)) }
            guard fallBack else {
                return completion(.failure(.unsupported("The server did not answer server/discover as a \(revision) server: \(why)")))
            }
            self.initialize { [weak self] outcome in
                // A modern server that was slow to answer the probe (it came
                // after the timeout) refuses initialize naming its revision:
                // probe once more, without falling back again.
                if case .failure(.peer(let e)) = outcome, e.code == ModernProtocol.unsupportedProtocolVersion, !reprobed,
                   let supported = e.data?["supported"]?.arrayValue?.compactMap(\.stringValue),
                   let other = ModernProtocol.revisions.first(where: supported.contains), let self
                {
                    return self.discover(revision: other, fallBack: false, reprobed: true, completion: completion)
                }
                completion(outcome)
            }
        }
        // Not cancellable: a legacy server must not meet notifications/cancelled
        // for a request it never understood, before its initialize.
        peer.request(method: "server/discover", params: params, timing: timing, cancellable: false) { [weak self] outcome in
            guard let self else { return completion(.failure(.closed)) }
            switch outcome {
            case .success(let value):
                switch Self.readDiscover(value) {
                case .failure(let why): legacy(why.text)
                case .success(let found):
                    guard let chosen = ModernProtocol.revisions.first(where: found.supported.contains) else {
                        return legacy("it supports only \(found.supported.joined(separator: ", "))")
                    }
                    let n = NegotiatedServer(era: .modern, protocolVersion: chosen, capabilities: found.capabilities,
                                             serverInfo: found.serverInfo, instructions: found.instructions,
                                             supportedVersions: found.supported, raw: found.raw)
                    self.state.withLock { s in
                        s.negotiated = n
                        s.serverCapabilities = n.capabilities
                    }
                    completion(.success(n.initializeShaped))
                }
            case .failure(.peer(let e)) where e.code == ModernProtocol.unsupportedProtocolVersion:
                // A modern server that wants another revision: retry once at
                // one we share; only a server naming no revision we speak at
                // all goes to initialize (if it names handshake ones).
                let supported = e.data?["supported"]?.arrayValue?.compactMap(\.stringValue) ?? []
                if !reprobed, let other = ModernProtocol.revisions.first(where: supported.contains) {
                    return self.discover(revision: other, fallBack: fallBack, reprobed: true, completion: completion)
                }
                if fallBack, supported.contains(where: { ProtocolVersion(rawValue: $0) != nil }) {
                    return self.initialize(completion: completion)
                }
                completion(.failure(.unsupported(
                    "The server supports protocol versions \(supported.isEmpty ? "(none listed)" : supported.joined(separator: ", ")), none of which this client can use")))
            case .failure(.peer(let e)) where ModernProtocol.isModernError(e.code):
                // Modern, but it refuses the probe itself: falling back would
                // only hide the reason.
                completion(.failure(.peer(e)))
            case .failure(.peer(let e)):
                legacy("it answered error \(e.code): \(e.message)")
            case .failure(.timeout):
                legacy("no answer within \(ms) ms")
            case .failure(let f):
                completion(.failure(f))
            }
        }
    }

    struct Discovered {
        var supported: [String]
        var capabilities: JSONObject
        var serverInfo: JSONValue?
        var instructions: String?
        var raw: JSONObject
    }

    /// A DiscoverResult, checked; a failure says what was wrong with it.
    static func readDiscover(_ value: JSONValue) -> Result<Discovered, DiscoverError> {
        guard case .object(let r) = value else { return .failure(DiscoverError("the result is not an object")) }
        if let t = r["resultType"], t != .string("complete") {
            return .failure(DiscoverError("its resultType is \(JSONSerializer.string(t))"))
        }
        guard let list = r["supportedVersions"]?.arrayValue else {
            return .failure(DiscoverError("the result has no supportedVersions list"))
        }
        let supported = list.compactMap(\.stringValue)
        guard supported.count == list.count else { return .failure(DiscoverError("supportedVersions holds a non-string")) }
        var caps = JSONObject()
        switch r["capabilities"] {
        case .object(let o)?: caps = o
        case nil, .null?: break
        default: return .failure(DiscoverError("capabilities is not an object"))
        }
        // serverInfo belongs in _meta; some servers put it beside the fields.
        let info = r["_meta"]?[ModernProtocol.serverInfoKey] ?? r["serverInfo"]
        return .success(Discovered(supported: supported, capabilities: caps, serverInfo: info,
                                   instructions: r["instructions"]?.stringValue, raw: r))
    }

    struct DiscoverError: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }
}
