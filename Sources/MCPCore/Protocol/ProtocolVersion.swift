/// The MCP revisions the engine speaks, oldest first, so they compare by age.
public enum ProtocolVersion: String, Sendable, CaseIterable, Comparable {
    case v2024_11_05 = "2024-11-05"
    case v2025_03_26 = "2025-03-26"
    case v2025_06_18 = "2025-06-18"
    case v2025_11_25 = "2025-11-25"

    public static let latest: ProtocolVersion = .v2025_11_25

    /// Server-side negotiation: echo a version we support, else offer our newest.
    public static func negotiate(requested: String) -> ProtocolVersion {
        ProtocolVersion(rawValue: requested) ?? latest
    }

    private var order: Int { ProtocolVersion.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: ProtocolVersion, b: ProtocolVersion) -> Bool { a.order < b.order }
}
