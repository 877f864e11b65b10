/// What a `subscriptions/listen` request opts in to (SubscriptionFilter in
/// the 2026-07-28 schema), and which notifications that lets through. The
/// spec's rule is strict: a listener gets no notification type it did not
/// ask for, so anything not named here (progress, logs, a host's own
/// broadcast) never reaches a listen stream.
public struct SubscriptionFilter: Sendable, Equatable {
    public var toolsListChanged = false
    public var promptsListChanged = false
    public var resourcesListChanged = false
    /// URIs whose `notifications/resources/updated` the listener wants (each
    /// also covers the resources under it, as resources/subscribe did).
    public var resourceSubscriptions: [String] = []

    public static let subscriptionIDKey = "io.modelcontextprotocol/subscriptionId"

    public init(toolsListChanged: Bool = false, promptsListChanged: Bool = false, resourcesListChanged: Bool = false,
                resourceSubscriptions: [String] = [])
    {
        self.toolsListChanged = toolsListChanged
        self.promptsListChanged = promptsListChanged
        self.resourcesListChanged = resourcesListChanged
        self.resourceSubscriptions = resourceSubscriptions
    }

    /// Reads `params.notifications` of a listen request. The field is
    /// required; unknown members are ignored (a later revision may add
    /// types; they are simply not honoured, and the acknowledgement says so).
    public static func parse(_ params: JSONObject) -> Result<SubscriptionFilter, JSONRPCError> {
        guard let raw = params["notifications"] else {
            return .failure(.invalidParams("subscriptions/listen needs a \"notifications\" filter object"))
        }
        guard let o = raw.objectValue else {
            return .failure(.invalidParams("\"notifications\" must be an object"))
        }
        var f = SubscriptionFilter()
        let flags: [(String, WritableKeyPath<SubscriptionFilter, Bool>)] = [
            ("toolsListChanged", \.toolsListChanged),
            ("promptsListChanged", \.promptsListChanged),
            ("resourcesListChanged", \.resourcesListChanged),
        ]
        for (key, path) in flags {
            guard let v = o[key] else { continue }
            guard let b = v.boolValue else { return .failure(.invalidParams("\"notifications.\(key)\" must be a boolean")) }
            f[keyPath: path] = b
        }
        if let v = o["resourceSubscriptions"] {
            guard let items = v.arrayValue else {
                return .failure(.invalidParams("\"notifications.resourceSubscriptions\" must be an array of URI strings"))
            }
            var seen = Set<String>()
            for item in items {
                guard let uri = item.stringValue, !uri.isEmpty else {
                    return .failure(.invalidParams("\"notifications.resourceSubscriptions\" must hold non-empty URI strings"))
                }
                if seen.insert(uri).inserted { f.resourceSubscriptions.append(uri) }
            }
        }
        return .success(f)
    }

    /// The acknowledged filter: the subset honoured, which is everything
    /// asked for that this server knows (types asked false or not at all
    /// are omitted, as are unknown ones).
    public var acknowledged: JSONObject {
        var o = JSONObject()
        if toolsListChanged { o["toolsListChanged"] = true }
        if promptsListChanged { o["promptsListChanged"] = true }
        if resourcesListChanged { o["resourcesListChanged"] = true }
        if !resourceSubscriptions.isEmpty { o["resourceSubscriptions"] = .array(resourceSubscriptions.map { .string($0) }) }
        return o
    }

    /// Whether a notification passes this filter.
    public func admits(method: String, params: JSONValue?) -> Bool {
        switch method {
        case "notifications/tools/list_changed": return toolsListChanged
        case "notifications/prompts/list_changed": return promptsListChanged
        case "notifications/resources/list_changed": return resourcesListChanged
        case "notifications/resources/updated":
            guard let uri = params?["uri"]?.stringValue else { return false }
            return resourceSubscriptions.contains { Self.covers($0, uri) }
        default: return false
        }
    }

    /// Whether a subscription to `subscribed` covers an update of `uri`: the
    /// same resource or one under it (the spec lets an update name a
    /// sub-resource of the one subscribed to).
    public static func covers(_ subscribed: String, _ uri: String) -> Bool {
        subscribed == uri || uri.hasPrefix(subscribed.hasSuffix("/") ? subscribed : subscribed + "/")
    }

    /// `message` with the subscription's id in `params._meta` (every message
    /// on a listen stream carries it; on stdio it is how the client tells
    /// subscriptions apart).
    static func tag(_ message: Message, id: RequestID) -> Message {
        guard case .notification(let method, let params) = message else { return message }
        var p = params?.objectValue ?? JSONObject()
        var meta = p["_meta"]?.objectValue ?? JSONObject()
        meta[subscriptionIDKey] = id.json
        p["_meta"] = .object(meta)
        return .notification(method: method, params: .object(p))
    }
}
