import CMCP
import MCPCore

/// Reads the "auth" object of mcp_server_start_http's config_json into an
/// AuthConfig (documented under mcp_server_start_http in mcp.h).
enum AuthConfigReader {
    static func read(_ o: JSONObject) throws(ABIError) -> AuthConfig {
        var c = AuthConfig(resource: "", authorizationServers: [])
        var audiences: [String]?
        var metadataURL: String?
        try OptionsReader.read(object: o, noun: "auth key") { (r: inout OptionsReader) throws(ABIError) in
            guard let resource = try r.string("resource", nonEmpty: true) else {
                throw .invalidArgument("auth: \"resource\" (this server's canonical URL) is required")
            }
            c = AuthConfig(resource: resource, authorizationServers: try r.strings("authorization_servers") ?? [])
            c.scopesSupported = try r.strings("scopes_supported")
            c.requiredScopes = try r.strings("required_scopes") ?? []
            c.issuer = try r.string("issuer", nonEmpty: true)
            if let one = try r.checked("audience", "a string or an array of strings", { v -> [String]? in
                if let s = v.stringValue, !s.isEmpty { return [s] }
                guard let a = v.arrayValue else { return nil }
                let list = a.compactMap(\.stringValue).filter { !$0.isEmpty }
                return list.count == a.count && !list.isEmpty ? list : nil
            }) { audiences = one }
            c.jwksFile = try r.string("jwks_file", nonEmpty: true)
            c.jwksURL = try r.string("jwks_url", nonEmpty: true)
            c.jwksCAFile = try r.string("jwks_ca_file", nonEmpty: true)
            if let algs = try r.strings("algorithms") { c.algorithms = Set(algs) }
            c.clockSkewSeconds = Int64(try r.int("clock_skew_s", 0...600) ?? Int(c.clockSkewSeconds))
            c.maxTokenBytes = try r.int("max_token_bytes", 256...65536) ?? c.maxTokenBytes
            c.jwksRefetchMinIntervalMs = try r.int("jwks_refetch_min_interval_ms", 0...86_400_000) ?? c.jwksRefetchMinIntervalMs
            c.jwksCacheTtlMs = try r.int("jwks_cache_ttl_ms", 1000...(7 * 86_400_000)) ?? c.jwksCacheTtlMs
            c.jwksFetchTimeoutMs = try r.int("jwks_fetch_timeout_ms", 100...120_000) ?? c.jwksFetchTimeoutMs
            c.jwksMaxBytes = try r.int("jwks_max_bytes", 1024...(64 << 20)) ?? c.jwksMaxBytes
            c.verifierTimeoutMs = try r.int("verifier_timeout_ms", 100...600_000) ?? c.verifierTimeoutMs
            metadataURL = try r.string("resource_metadata_url", nonEmpty: true)
        }
        if let audiences { c.audiences = audiences }
        if let metadataURL { c.resourceMetadataURL = metadataURL }
        return c
    }
}
