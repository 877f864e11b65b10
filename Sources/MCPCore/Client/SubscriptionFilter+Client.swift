/// The client's side of SubscriptionFilter (the server's type, in Modern/):
/// the host's filter read strictly, its wire form, and the exact-URI match
/// the client applies at the 2025 era, where it selects from the
/// notifications the server sends anyway after `resources/subscribe`.
extension SubscriptionFilter {
    /// Why a filter is refused.
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Reads the wire form; unknown members are refused (a typo would
    /// otherwise subscribe to nothing, silently), as is an empty filter.
    public init(json o: JSONObject) throws(Invalid) {
        self.init()
        for m in o.members {
            switch (m.key, m.value) {
            case ("toolsListChanged", .bool(let b)): toolsListChanged = b
            case ("promptsListChanged", .bool(let b)): promptsListChanged = b
            case ("resourcesListChanged", .bool(let b)): resourcesListChanged = b
            case ("resourceSubscriptions", .array(let a)):
                for v in a {
                    guard case .string(let uri) = v, !uri.isEmpty else {
                        throw Invalid(description: "resourceSubscriptions must hold non-empty URI strings")
                    }
                    if !resourceSubscriptions.contains(uri) { resourceSubscriptions.append(uri) }
                }
            case ("toolsListChanged", _), ("promptsListChanged", _), ("resourcesListChanged", _):
                throw Invalid(description: "\(m.key) must be a boolean")
            case ("resourceSubscriptions", _):
                throw Invalid(description: "resourceSubscriptions must be an array of URI strings")
            default:
                throw Invalid(description: "unknown filter member \"\(m.key.prefix(100))\" (toolsListChanged, promptsListChanged, resourcesListChanged, resourceSubscriptions)")
            }
        }
        guard !isEmpty else { throw Invalid(description: "the filter asks for no notification at all") }
    }

    public var isEmpty: Bool {
        !toolsListChanged && !promptsListChanged && !resourcesListChanged && resourceSubscriptions.isEmpty
    }

    /// The wire form (only what is asked for): the same object a server
    /// acknowledges with.
    public var json: JSONObject { acknowledged }

    /// Whether a notification is one this filter asked for.
    public func admits(_ method: String, _ params: JSONObject) -> Bool {
        switch method {
        case "notifications/tools/list_changed": return toolsListChanged
        case "notifications/prompts/list_changed": return promptsListChanged
        case "notifications/resources/list_changed": return resourcesListChanged
        case "notifications/resources/updated":
            guard let uri = params["uri"]?.stringValue else { return false }
            return resourceSubscriptions.contains(uri)
        default: return false
        }
    }
}
