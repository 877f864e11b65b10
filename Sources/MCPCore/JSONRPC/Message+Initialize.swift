extension Message {
    /// Whether a parsed message is an initialize request: the one request an
    /// HTTP transport must recognise, because it opens a session. A batch is
    /// never one (initialize must not be batched).
    public static func isInitializeRequest(_ value: JSONValue) -> Bool {
        guard case .object(let o) = value, o["method"] == .string("initialize"), let id = o["id"] else {
            return false
        }
        return RequestID(id) != nil
    }
}
