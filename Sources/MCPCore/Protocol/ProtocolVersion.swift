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

    /// Written out rather than synthesized: the synthesized form matches
    /// through a generic string switch (~700 instructions a call, twice per
    /// 2026-07-28 request); all revisions are small strings, and equal small
    /// strings compare by their bits, so the likeliest (newest) goes first.
    public init?(rawValue: String) {
        guard rawValue.utf8.count == 10 else { return nil }
        for v in [ProtocolVersion.v2026_07_28, .v2025_11_25, .v2025_06_18, .v2025_03_26, .v2024_11_05]
            where v.rawValue == rawValue
        {
            self = v
            return
        }
        return nil
    }

    /// The cases in date order (a switch: `allCases.firstIndex` built an
    /// array on each comparison).
    private var order: Int {
        switch self {
        case .v2024_11_05: return 0
        case .v2025_03_26: return 1
        case .v2025_06_18: return 2
        case .v2025_11_25: return 3
        case .v2026_07_28: return 4
        }
    }

    public static func < (a: ProtocolVersion, b: ProtocolVersion) -> Bool { a.order < b.order }
}
