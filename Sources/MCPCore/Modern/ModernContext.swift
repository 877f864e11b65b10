/// What a request of the stateless revision (2026-07-28) says about itself in
/// `params._meta`: its revision, the client's capabilities, identity and log
/// level for this one request. Nothing of it outlives the request; two
/// requests on one connection may carry different contexts and run at once.
public struct ModernContext: Sendable, Equatable {
    public static let protocolVersionKey = "io.modelcontextprotocol/protocolVersion"
    public static let clientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
    public static let clientInfoKey = "io.modelcontextprotocol/clientInfo"
    public static let logLevelKey = "io.modelcontextprotocol/logLevel"
    public static let serverInfoKey = "io.modelcontextprotocol/serverInfo"

    public var version: ProtocolVersion { storage.version }
    public var clientCapabilities: JSONObject { storage.clientCapabilities }
    /// Optional (a SHOULD for clients): empty when the request has none.
    public var clientInfo: JSONObject { storage.clientInfo }
    /// nil: the request asked for no log messages at all.
    public var logLevel: LoggingLevel? { storage.logLevel }
    /// The whole `_meta` (trace context, progressToken, the host's own keys).
    public var meta: JSONObject { storage.meta }

    /// The fields, immutable, in one box: a request's context is read (copied
    /// out of its lock) several times per call, and a copy of three objects
    /// and a level cost ~400 instructions of retains and releases; a box is one.
    private final class Storage: Sendable {
        let version: ProtocolVersion
        let clientCapabilities: JSONObject
        let clientInfo: JSONObject
        let logLevel: LoggingLevel?
        let meta: JSONObject

        init(version: ProtocolVersion, clientCapabilities: JSONObject, clientInfo: JSONObject,
             logLevel: LoggingLevel?, meta: JSONObject)
        {
            self.version = version
            self.clientCapabilities = clientCapabilities
            self.clientInfo = clientInfo
            self.logLevel = logLevel
            self.meta = meta
        }
    }

    private let storage: Storage

    public init(version: ProtocolVersion, clientCapabilities: JSONObject = JSONObject(),
                clientInfo: JSONObject = JSONObject(), logLevel: LoggingLevel? = nil, meta: JSONObject = JSONObject())
    {
        storage = Storage(version: version, clientCapabilities: clientCapabilities, clientInfo: clientInfo,
                          logLevel: logLevel, meta: meta)
    }

    public static func == (a: ModernContext, b: ModernContext) -> Bool {
        a.storage === b.storage
            || (a.version == b.version && a.clientCapabilities == b.clientCapabilities && a.clientInfo == b.clientInfo
                && a.logLevel == b.logLevel && a.meta == b.meta)
    }

    /// Whether `meta` claims the modern era (it names a protocol version),
    /// whatever else is right or wrong with it.
    public static func isModern(_ meta: JSONObject?) -> Bool {
        meta?[protocolVersionKey] != nil
    }

    /// Reads the envelope of a request known to be modern. Errors, in the
    /// order the spec's checks run: an unserved version (-32022) before
    /// missing or malformed fields (-32602).
    public static func parse(_ meta: JSONObject?) -> Result<ModernContext, JSONRPCError> {
        guard let meta else {
            return .failure(.invalidParams("The request has no params._meta; 2026-07-28 requests carry "
                + "\(protocolVersionKey) and \(clientCapabilitiesKey) there"))
        }
        guard let raw = meta[protocolVersionKey] else {
            return .failure(.invalidParams("params._meta lacks \(protocolVersionKey)"))
        }
        guard let text = raw.stringValue else {
            return .failure(.invalidParams("\(protocolVersionKey) must be a string"))
        }
        guard let version = ProtocolVersion(rawValue: text), version.isModern else {
            return .failure(.unsupportedProtocolVersion(requested: text))
        }
        guard let caps = meta[clientCapabilitiesKey] else {
            return .failure(.invalidParams("params._meta lacks \(clientCapabilitiesKey)"))
        }
        guard let capabilities = caps.objectValue else {
            return .failure(.invalidParams("\(clientCapabilitiesKey) must be an object"))
        }
        var info = JSONObject()
        if let i = meta[clientInfoKey] {
            guard let o = i.objectValue, o["name"]?.stringValue != nil, o["version"]?.stringValue != nil else {
                return .failure(.invalidParams("\(clientInfoKey) must be an object with string \"name\" and \"version\""))
            }
            info = o
        }
        var level: LoggingLevel?
        if let l = meta[logLevelKey] {
            guard let name = l.stringValue, let parsed = LoggingLevel(rawValue: name) else {
                return .failure(.invalidParams("\(logLevelKey) must be one of "
                    + LoggingLevel.allCases.map(\.rawValue).joined(separator: ", ")))
            }
            level = parsed
        }
        return .success(ModernContext(version: version, clientCapabilities: capabilities, clientInfo: info,
                                      logLevel: level, meta: meta))
    }
}
