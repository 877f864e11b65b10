/// Which protocol era a client speaks, and how it finds out: the
/// `era` client option.
///
/// - `auto`: probe with `server/discover` at the newest modern revision; a
///   DiscoverResult naming a modern revision (or an
///   UnsupportedProtocolVersion error naming one) makes the connection
///   modern; anything else that is not positive evidence of a modern server
///   (another error, a garbled answer, no answer within the probe timeout)
///   falls back to `initialize` (versioning.mdx, "Backward Compatibility").
/// - `legacy`: `initialize` only.
/// - `revision`: exactly that revision: a modern one probes with
///   `server/discover` and never falls back; a handshake one (2025-11-25 and
///   older) is offered in `initialize`.
public enum ClientEra: Sendable, Equatable {
    case auto
    case legacy
    case revision(String)

    /// Parses the option text: "auto", "legacy" or a revision this client speaks.
    public init?(option: String) {
        switch option {
        case "auto": self = .auto
        case "legacy": self = .legacy
        case _ where ModernProtocol.revisions.contains(option) || ProtocolVersion(rawValue: option) != nil:
            self = .revision(option)
        default: return nil
        }
    }
}

/// Names the modern (2026-07-28) protocol gives to what every request and
/// result carries, and the errors that prove a server modern. Kept here, not
/// in the server's files, so that the client reads them in one place.
public enum ModernProtocol {
    /// Modern revisions this client speaks, newest first.
    public static let revisions = ["2026-07-28"]
    public static var newest: String { revisions[0] }

    public static let protocolVersionKey = ModernContext.protocolVersionKey
    public static let clientInfoKey = ModernContext.clientInfoKey
    public static let clientCapabilitiesKey = ModernContext.clientCapabilitiesKey
    public static let logLevelKey = ModernContext.logLevelKey
    public static let serverInfoKey = ModernContext.serverInfoKey
    /// The tasks extension (SEP-2663), declared under clientCapabilities.extensions.
    public static let tasksExtension = "io.modelcontextprotocol/tasks"

    /// HeaderMismatch, MissingRequiredClientCapability, UnsupportedProtocolVersion:
    /// a server that answers with one of these speaks a modern revision.
    public static let headerMismatch: Int64 = -32020
    public static let missingRequiredClientCapability: Int64 = -32021
    public static let unsupportedProtocolVersion: Int64 = -32022

    static func isModernError(_ code: Int64) -> Bool {
        code == headerMismatch || code == missingRequiredClientCapability || code == unsupportedProtocolVersion
    }

    /// Methods the modern revision removed: refused locally rather than sent.
    static let removedMethods: Set<String> = [
        "initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe",
    ]

    /// Requests a server may answer with an InputRequiredResult (mrtr.mdx).
    static let inputRequiredMethods: Set<String> = ["tools/call", "prompts/get", "resources/read"]
}

/// What was agreed with the server, either way: the era, the revision and
/// what the server said about itself.
public struct NegotiatedServer: Sendable, Equatable {
    public enum Era: String, Sendable { case modern, legacy }
    public var era: Era
    public var protocolVersion: String
    public var capabilities: JSONObject
    public var serverInfo: JSONValue?
    public var instructions: String?
    /// Modern only: the revisions server/discover listed.
    public var supportedVersions: [String]
    /// The raw initialize result or DiscoverResult.
    public var raw: JSONObject

    /// The shape of an initialize result (protocolVersion, capabilities,
    /// serverInfo, instructions), whichever era: what connect hands the host.
    public var initializeShaped: JSONObject {
        if era == .legacy { return raw }
        var o = JSONObject()
        o["protocolVersion"] = .string(protocolVersion)
        o["capabilities"] = .object(capabilities)
        if let serverInfo { o["serverInfo"] = serverInfo }
        if let instructions { o["instructions"] = .string(instructions) }
        return o
    }

    /// Everything, with `era` and `supportedVersions`: mcp_client_get_era.
    public var json: JSONObject {
        var o = initializeShaped
        o["era"] = .string(era.rawValue)
        if era == .modern { o["supportedVersions"] = .array(supportedVersions.map { .string($0) }) }
        return o
    }
}
