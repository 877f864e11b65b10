import CMCP
import MCPCore
import MCPRuntime

// mcp_set_trace_hook and mcp_call_traceparent: request spans to one
// process-wide host hook, and the span a host callback runs under.

/// A C function pointer and the host's pointer: plain values, safe to share
/// across threads (the host promised the hook may run on the delivery thread).
private struct TraceHook: @unchecked Sendable {
    let fn: mcp_trace_fn
    let userData: UnsafeMutableRawPointer?
}

@c @implementation
public func mcp_set_trace_hook(_ fn: mcp_trace_fn?, _ userData: UnsafeMutableRawPointer?, _ queueLimit: Int32,
                               _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        guard queueLimit >= 0 else { throw .invalidArgument("queue_limit \(queueLimit) is negative") }
        let limit = queueLimit == 0 ? Tracing.defaultQueueLimit : Int(queueLimit)
        guard let fn else { return Tracing.setHook(nil, queueLimit: limit) }
        let hook = TraceHook(fn: fn, userData: userData)
        Tracing.setHook({ span in
            JSONSerializer.string(span.json).withCString { hook.fn(hook.userData, $0) }
        }, queueLimit: limit)
    }
}

@c @implementation
public func mcp_call_traceparent(_ call: OpaquePointer?, _ outTraceparent: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                 _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outTraceparent?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        guard let outTraceparent else { throw .invalidArgument("out_traceparent must not be NULL") }
        guard call != nil else { throw .invalidArgument("call must not be NULL") }
        guard let c = CallTable.lookup(call) else { throw .state("The call handle is not live (already answered?)") }
        guard let tp = c.traceParent else { return }
        outTraceparent.pointee = hostString(tp)
    }
}
