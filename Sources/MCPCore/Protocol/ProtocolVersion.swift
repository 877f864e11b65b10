/// The MCP revisions the engine speaks, oldest first, so they compare by age.
public enum ProtocolVersion: String, Sendable, CaseIterable, Comparable {
    case v2024_11_05 = "2024-11-05"
    case v2025_03_26 = "2025-03-26"
    case v2025_06_18 = "2025-06-18"
    case v2025_11_25 = "2025-11-25"
    /// The stateless revision: no initialize, each request carries its
    /// version, capabilities and client info in `_meta`.
    case v2026_07_28 = "2026-07-28"

    /// The newest revision `initialize` negotiates (the 2025 era's last).
    /// Kept as the handshake's ceiling: a 2025 client offered a revision it
    /// cannot speak would fail, so the modern revision is never negotiated.
    public static let latest: ProtocolVersion = .v2025_11_25
    /// The newest revision served per request (the modern era).
    public static let modern: ProtocolVersion = .v2026_07_28

    /// Revisions served per request with the `_meta` envelope.
    public static let modernVersions: [ProtocolVersion] = [.v2026_07_28]
    /// Every revision this engine serves, newest first: what server/discover
    /// and UnsupportedProtocolVersion errors list.
    public static let supportedNewestFirst: [ProtocolVersion] = allCases.reversed()

    /// Whether this revision is of the stateless era (per-request `_meta`).
    public var isModern: Bool { self >= .v2026_07_28 }

    /// Server-side negotiation: echo a handshake version we support, else
    /// offer our newest handshake version (never a modern one).
    public static func negotiate(requested: String) -> ProtocolVersion {
        guard let v = ProtocolVersion(rawValue: requested), !v.isModern else { return latest }
        return v
    }

    private var order: Int { ProtocolVersion.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: ProtocolVersion, b: ProtocolVersion) -> Bool { a.order < b.order }
}
