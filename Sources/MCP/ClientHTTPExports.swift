import CMCP
import MCPCore
import MCPTransport

// mcp_client_connect_http: validate, convert, forward (the HTTP behaviour
// lives in MCPTransport/HTTPClient).

/// The options object of mcp_client_connect_http, checked.
private func httpOptions(_ json: JSONValue?, into options: inout HTTPClientOptions,
                         timing: inout RequestTiming) throws(ABIError)
{
    guard let json else { return }
    guard case .object(let o) = json else { throw .invalidArgument("options_json must be a JSON object") }
    for m in o.members {
        switch m.key {
        case "headers":
            guard let headers = m.value.objectValue else {
                throw .invalidArgument("option \"headers\" must be an object of strings")
            }
            for h in headers.members {
                guard let value = h.value.stringValue else {
                    throw .invalidArgument("header \"\(h.key)\" must have a string value")
                }
                do throws(HTTPHeaderField.Invalid) {
                    options.headers.append(try HTTPHeaderField(name: h.key, value: value))
                } catch {
                    throw .invalidArgument(error.description)
                }
            }
        case "timeout_ms":
            guard let i = m.value.intValue, i > 0, i <= 86_400_000 else {
                throw .invalidArgument("option \"timeout_ms\" must be an integer in 1...86400000")
            }
            timing = RequestTiming(timeoutMs: Int(i), maxTotalMs: Int(i))
        case "tls_ca_file":
            guard let path = m.value.stringValue, !path.isEmpty else {
                throw .invalidArgument("option \"tls_ca_file\" must be a file path")
            }
            options.tlsCAFile = path
        case "tls_verify":
            guard let b = m.value.boolValue else { throw .invalidArgument("option \"tls_verify\" must be a boolean") }
            options.tlsVerify = b
        case "transport":
            guard let mode = m.value.stringValue.flatMap(HTTPClientMode.init(rawValue:)) else {
                throw .invalidArgument("option \"transport\" must be \"auto\", \"streamable\" or \"legacy_sse\"")
            }
            options.mode = mode
        case "open_get_stream":
            guard let b = m.value.boolValue else {
                throw .invalidArgument("option \"open_get_stream\" must be a boolean")
            }
            options.openGetStream = b
        default:
            throw .invalidArgument("unknown option \"\(m.key)\"")
        }
    }
}

@c @implementation
public func mcp_client_connect_http(_ client: OpaquePointer?, _ url: UnsafePointer<CChar>?,
                                    _ optionsJSON: UnsafePointer<CChar>?,
                                    _ outResult: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                    _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outResult?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let text = try requiredString(url, "url")
        let target: HTTPURL
        do throws(HTTPURL.ParseError) {
            target = try HTTPURL(parsing: text)
        } catch {
            throw .invalidArgument(error.description)
        }
        var options = HTTPClientOptions()
        options.maxMessageBytes = h.maxMessageBytes
        var timing = h.baseOptions.timing
        try httpOptions(try optionalJSON(optionsJSON, "options_json"), into: &options, timing: &timing)

        try h.claimConnect()
        defer { h.releaseConnect() }

        let transport: HTTPClientTransport
        do throws(TransportError) {
            transport = try HTTPClientTransport(url: target, options: options)
        } catch {
            switch error { case .io(let m): throw ABIError(status: MCP_ERR_IO, message: m) }
        }
        let session = h.makeSession(timing: timing, output: transport.output)
        transport.start(session: session)
        switch try h.handshake(session) {
        case .success(let result):
            h.state.withLock { s in
                s.session = session
                s.http = transport
            }
            outResult?.pointee = hostString(JSONSerializer.string(.object(result)))
        case .failure(let f):
            session.close()
            let reason = transport.failure
            transport.close()
            switch f {
            case .peer(let e) where e.message.contains("does not support"):
                throw ABIError(status: MCP_ERR_UNSUPPORTED, message: e.message)
            case .closed where reason != nil:
                throw ABIError(status: MCP_ERR_IO, message: reason ?? "")
            case .timeout where reason != nil:
                throw ABIError(status: MCP_ERR_TIMEOUT, message: "initialize timed out: \(reason ?? "")")
            default:
                throw failureError(f)
            }
        }
    }
}
