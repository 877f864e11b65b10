import CMCP
import MCPCore
import MCPRuntime

// mcp_client_subscribe / mcp_client_unsubscribe: the subscription facet of
// mcp_client_t (ABI 1.3), kept beside ClientExports.swift for size.

@c @implementation
public func mcp_client_subscribe(_ client: OpaquePointer?, _ filterJSON: UnsafePointer<CChar>?, _ fn: mcp_notification_fn?,
                                 _ userData: UnsafeMutableRawPointer?, _ freeFn: mcp_free_fn?,
                                 _ outSubscriptionID: UnsafeMutablePointer<Int64>?,
                                 _ outAckJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                 _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outSubscriptionID?.pointee = 0
    outAckJSON?.pointee = nil
    // Until the subscription is in place the host keeps its user_data (any
    // failure returns with free_fn not run).
    var cb: HostCallback<mcp_notification_fn>?
    let status = withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        guard let fn else { throw .invalidArgument("fn must not be NULL") }
        guard case .object(let o)? = try optionalJSON(filterJSON, "filter_json") else {
            throw .invalidArgument("filter_json must be a JSON object")
        }
        let filter: SubscriptionFilter
        do throws(SubscriptionFilter.Invalid) { filter = try SubscriptionFilter(json: o) } catch {
            throw .invalidArgument("filter_json: \(error.description)")
        }
        let session = try h.session()
        let callback = HostCallback(fn: fn, userData: userData, free: freeFn)
        cb = callback
        // `acked` apart from the outcome: waiting on `outcome != nil` read the
        // optional's tag from spare bits of a payload the case had not
        // written, which valgrind reports (memcheck_test_client).
        let box = LockedState<(acked: Bool, outcome: Result<(RequestID, SubscriptionFilter), RequestFailure>?)>(
            (false, nil))
        // Set when this call fails after all: the host hears nothing more.
        let abandoned = LockedState(false)
        let sub: ClientSubscription
        do throws(CallFailure) {
            sub = try session.subscribe(filter, handler: { method, params in
                guard !abandoned.withLock({ $0 }) else { return }
                withJSONText(.object(params)) { callback.fn(callback.userData, method, $0) }
            }, acknowledged: { outcome in
                box.withLockAndNotify { $0 = (true, outcome) }
            }, ended: { reason in
                guard !abandoned.withLock({ $0 }) else { return }
                let end: JSONObject = ["reason": .string(reason)]
                withJSONText(.object(end)) { callback.fn(callback.userData, nil, $0) }
            })
        } catch { throw ABIError(error) }
        let deadline = MonotonicInstant.now().adding(milliseconds: h.baseOptions.timing.timeoutMs)
        _ = box.wait(until: deadline) { $0.acked }
        let outcome = box.withLock { $0.outcome }
        if outcome == nil {
            abandoned.withLock { $0 = true }
            session.unsubscribe(sub)
        }
        switch outcome {
        case .success(let (id, honored))?:
            guard case .int(let n) = id else { throw ABIError(status: MCP_ERR_INTERNAL, message: "A subscription id that is not an integer") }
            outSubscriptionID?.pointee = n
            outAckJSON?.pointee = hostString(JSONSerializer.string(.object(honored.json)))
        case .failure(let f)?:
            throw failureError(f)
        case nil:
            throw ABIError(status: MCP_ERR_TIMEOUT, message: "The server did not acknowledge the subscription in time")
        }
    }
    if status != MCP_OK { cb?.disarm() }
    return status
}

@c @implementation
public func mcp_client_unsubscribe(_ client: OpaquePointer?, _ subscriptionID: Int64,
                                   _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        h.state.withLock { $0.session }?.unsubscribe(.int(subscriptionID))
    }
}
