import CMCP
import MCPCore
import MCPTransport

// mcp_client_connect_http: validate, convert, forward (the HTTP behaviour
// lives in MCPTransport/HTTPClient).

/// The options object of mcp_client_connect_http, checked.
private func httpOptions(_ json: UnsafePointer<CChar>?, into options: inout HTTPClientOptions,
                         timing: inout RequestTiming, oauth: inout OAuthClientConfig?) throws(ABIError)
{
    try OptionsReader.read(json, argument: "options_json") { (r: inout OptionsReader) throws(ABIError) in
        if let headers = try r.checked("headers", "an object of strings", { $0.objectValue }) {
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
        }
        try readConnectTiming(&r, into: &timing)
        options.tlsCAFile = try r.checked("tls_ca_file", "a file path") { v in
            v.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        } ?? options.tlsCAFile
        options.tlsVerify = try r.bool("tls_verify") ?? options.tlsVerify
        options.mode = try r.choice("transport", "\"auto\", \"streamable\" or \"legacy_sse\"",
                                    HTTPClientMode.init(rawValue:)) ?? options.mode
        options.openGetStream = try r.bool("open_get_stream") ?? options.openGetStream
        options.maxIdleConnections = try r.int("max_idle_connections", 0...4096) ?? options.maxIdleConnections  // 1.4
        if let o = try r.object("oauth") { oauth = try readOAuthOptions(o) }  // 1.5
    }
    if oauth != nil, options.headers.contains(where: { $0.name.lowercased() == "authorization" }) {
        throw .invalidArgument("option \"headers\" must not set Authorization when \"oauth\" is given")
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
        var oauth: OAuthClientConfig?
        try httpOptions(optionsJSON, into: &options, timing: &timing, oauth: &oauth)
        if let oauth {
            options.oauth = OAuthClient(config: oauth, host: ClientOAuthHost(handle: h, authorizeTimeoutMs: oauth.authorizeTimeoutMs),
                                        serverURL: text)
        }

        let result = try h.connect(timing: timing, mirrorsToolHeaders: true) { () throws(ABIError) -> any ClientTransport in
            do throws(TransportError) {
                return try HTTPClientTransport(url: target, options: options)
            } catch {
                switch error { case .io(let m): throw ABIError(status: MCP_ERR_IO, message: m) }
            }
        }
        outResult?.pointee = hostString(JSONSerializer.string(.object(result)))
    }
}
