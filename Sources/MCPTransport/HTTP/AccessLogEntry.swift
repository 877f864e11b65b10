internal import NIOHTTP1
import MCPRuntime

/// One access log line (HTTPServerConfig.accessLog): made when a request
/// starts, filled as its response goes out, logged at info when it ends.
struct AccessLogEntry {
    let method: String
    let uri: String
    let sessionID: String?
    let bytesIn: Int
    let started = MonotonicInstant.now()
    var status = 0
    var bytesOut = 0

    init(_ head: HTTPRequestHead, bodyBytes: Int) {
        method = head.method.rawValue
        uri = head.uri
        sessionID = head.headers.first(name: "mcp-session-id")
        bytesIn = bodyBytes
    }

    func log() {
        let ms = Double((MonotonicInstant.now().nanoseconds &- started.nanoseconds) / 1000) / 1000
        var fields: [(String, LogValue)] = [
            ("method", .string(method)), ("path", .string(uri)), ("status", .int(status)),
            ("duration_ms", .double(ms)), ("bytes_in", .int(bytesIn)), ("bytes_out", .int(bytesOut)),
        ]
        if let sessionID { fields.append(("session", .string(sessionID))) }
        guard EngineLog.enabled(.info) else { return }
        var record = LogRecord(level: .info, component: "http.access", message: "\(method) \(uri) \(status)")
        for (k, v) in fields { record.add(k, v) }
        EngineLog.deliver(.info, record)
    }
}
