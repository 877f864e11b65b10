internal import NIOHTTP1
import MCPCore
import MCPRuntime

// Refusals as the metrics and the engine log see them. Every refusal the
// listener answers comes through here: counted by cause (its status code),
// and logged, limits as warnings, other client errors (404, 405, ...) at
// debug; at most one record a second per cause, with the number of refusals
// it stands for ("suppressed": those since the last record), since a flood
// is refused thousands of times a second and the metrics count each one.
extension HTTPEndpoint {
    /// Statuses that mean a limit turned an MCP message away: they also count
    /// as requests with outcome "refused".
    private static let limitStatuses: Set<UInt> = [408, 413, 429, 431, 503]

    func refusal(_ status: HTTPResponseStatus, method: String?, _ message: String) {
        let limit = Self.limitStatuses.contains(status.code)
        refusal(cause: String(status.code), method: method, asRequest: limit, message, level: limit ? .warning : .debug)
    }

    func refusal(cause: String, method: String?, asRequest: Bool, _ message: String,
                 level: EngineLog.Level = .warning)
    {
        core.observer?.refused(cause: cause, method: method, asRequest: asRequest)
        guard EngineLog.enabled(level), let suppressed = refusalLog.admit(cause) else { return }
        if suppressed > 0 {
            EngineLog.log(level, "http", message, ["cause": .string(cause), "suppressed": .int(suppressed)])
        } else {
            EngineLog.log(level, "http", message, ["cause": .string(cause)])
        }
    }
}
