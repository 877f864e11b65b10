/// Log severities of notifications/message, in RFC 5424 order (least severe first).
public enum LoggingLevel: String, Sendable, CaseIterable, Comparable {
    case debug, info, notice, warning, error, critical, alert, emergency

    private var order: Int { LoggingLevel.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: LoggingLevel, b: LoggingLevel) -> Bool { a.order < b.order }
}
