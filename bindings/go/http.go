package mcp

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strconv"
	"time"
)

// HTTPOptions configure the HTTP listener (Streamable HTTP, legacy HTTP+SSE
// and WebSocket on one port). Zero values mean the engine's defaults, given
// in brackets.
type HTTPOptions struct {
	Path          string // the Streamable HTTP endpoint ["/mcp"]
	SSEPath       string // legacy HTTP+SSE stream endpoint ["/sse"]
	MessagesPath  string // legacy HTTP+SSE POST endpoint ["/messages"]
	WebSocketPath string // WebSocket endpoint, subprotocol "mcp" ["/ws"]
	// JSONResponse answers POSTs with a JSON body when the call sends nothing
	// before its result [SSE].
	JSONResponse bool
	// Stateless serves without sessions, every request self-contained.
	Stateless bool
	// DisableGetStream refuses the standalone GET SSE stream (405).
	DisableGetStream   bool
	MaxBodyBytes       int64         // request body cap; larger gets 413 [16 MiB]
	MaxHeaderBytes     int           // request head cap; larger gets 431 [16 KiB]
	MaxSessions        int           // beyond it initialize gets 503 [10000]
	SessionIdleTimeout time.Duration // idle sessions expire [30 min]
	MaxQueuedMessages  int           // per-stream outgoing queue bound [1024]
	MaxQueuedBytes     int64         // per-stream outgoing queue bound in bytes [32 MiB] (library 1.2)
	// MaxBufferedBytes bounds the request bodies all connections together hold
	// before the engine takes them; past it a request gets 503 [256 MiB] (1.2).
	MaxBufferedBytes int64
	// RequestBodyTimeout: a body not complete this long after its head gets
	// 408, however steadily it trickles in [60 s] (1.2).
	RequestBodyTimeout time.Duration
	// MaxConnections bounds open connections; past it the oldest idle one is
	// shed [0: the open-file limit less an eighth] (1.2).
	MaxConnections int
	// ConnectionIdleTimeout closes a connection idle this long, and one whose
	// client reads none of an open response this long [60 s].
	ConnectionIdleTimeout time.Duration
	EventStoreMaxEvents   int           // events kept per session for resumption [1024]
	SSERetry              time.Duration // the SSE retry field [1 s]
	// SSEKeepalive is how long an open SSE stream may stay silent before it
	// gets a comment line, so proxies do not cut it as idle [15 s]; negative
	// sends none.
	SSEKeepalive   time.Duration
	AllowedHosts   []string // Host header values accepted [loopback names, bound address]
	AllowedOrigins []string // Origin header values accepted [localhost origins]
	// CORSAllowedOrigins are the origins whose browser pages may read the
	// answers (CORS, e.g. for the MCP Inspector) [none]. They only narrow
	// AllowedOrigins: each must pass it too; "*" means every origin it passes.
	CORSAllowedOrigins []string
	TLSCertFile        string // PEM; with TLSKeyFile, serve HTTPS
	TLSKeyFile         string
	IOThreads          int // event-loop threads [1]
	// Admin is "host:port" of an admin listener apart from the MCP endpoint:
	// GET /metrics (see Server.Metrics), /healthz, /readyz [none] (1.3).
	Admin string
	// AccessLog sends one info log record per HTTP response to the engine's
	// log hook [false] (1.3).
	AccessLog bool
	// ShutdownTimeout bounds how long ServeHTTP waits, once ctx is done, for
	// requests in flight before closing connections [5 s].
	ShutdownTimeout time.Duration
	// OnListen, if set, is called by ServeHTTP with the bound port once the
	// listener accepts connections (useful with port 0).
	OnListen func(port int)
	// Auth makes the listener an OAuth 2.1 resource server: every request
	// needs a valid bearer token, and handlers see its principal through
	// Call.Principal [none] (library 1.4).
	Auth *AuthOptions
	// Store is where 2025-era sessions, stream events and tasks are kept:
	// "memory:", "sqlite:PATH" (survives restarts) or, library 1.6,
	// "postgres://USER:PASSWORD@HOST:PORT/DATABASE" (a fleet's shared store;
	// see mcp.h, "store") ["memory:"] (library 1.5).
	Store string
	// FleetLease and FleetPoll tune several processes sharing a "sqlite:"
	// Store (deploy/fleet.md): a process whose lease is this old is dead to
	// the others [5 s]; how often each looks for what the others stored
	// [50 ms]. Zero: the engine's defaults (library 1.6).
	FleetLease time.Duration
	FleetPoll  time.Duration
	// ReusePort sets SO_REUSEPORT, so several processes can listen on one
	// port (a restart without a gap; or more processes than one's open-file
	// limit allows connections) [false] (library 1.4).
	ReusePort bool
	// ListenBacklog is the listen(2) backlog, capped by net.core.somaxconn
	// [4096] (library 1.6).
	ListenBacklog int
	// AcceptBatch is how many connections one event-loop turn accepts [4];
	// AcceptRate paces accepting to that many new connections a second, so a
	// burst of them does not stall the calls of open ones [0: unpaced]
	// (library 1.6).
	AcceptBatch, AcceptRate int
}

// AuthOptions are the "auth" object of the listener (mcp.h, "Authorization"):
// the protected resource metadata it publishes and how tokens are checked.
type AuthOptions struct {
	Resource             string   `json:"resource"`               // this server's canonical URL
	AuthorizationServers []string `json:"authorization_servers"`  // issuer URLs, at least one
	Issuer               string   `json:"issuer,omitempty"`       // the "iss" JWTs must carry
	Audience             []string `json:"audience,omitempty"`     // "aud" must contain one [Resource]
	JWKSFile             string   `json:"jwks_file,omitempty"`    // the issuer's public keys, as a file
	JWKSURL              string   `json:"jwks_url,omitempty"`     // ... or a URL
	JWKSCAFile           string   `json:"jwks_ca_file,omitempty"` // PEM CAs for an https JWKSURL [system] (1.6)
	ScopesSupported      []string `json:"scopes_supported,omitempty"`
	RequiredScopes       []string `json:"required_scopes,omitempty"` // every request needs these
	ClockSkewSeconds     int      `json:"clock_skew_s,omitempty"`    // tolerance on exp, nbf [60]
	MaxTokenBytes        int      `json:"max_token_bytes,omitempty"` // [8192]
	// VerifierTimeoutMs: a TokenVerifier that has not answered by then
	// refuses the token [10000].
	VerifierTimeoutMs int `json:"verifier_timeout_ms,omitempty"`
}

// httpConfig builds config_json from addr ("host:port"; empty host means the
// engine's default 127.0.0.1, port 0 picks a free port) and opts.
func httpConfig(addr string, o *HTTPOptions) (string, error) {
	if o == nil {
		o = &HTTPOptions{}
	}
	w := map[string]interface{}{}
	if addr != "" {
		host, portText, err := net.SplitHostPort(addr)
		if err != nil {
			return "", fmt.Errorf("address %q: %v", addr, err)
		}
		if host != "" {
			w["host"] = host
		}
		if portText != "" {
			port, err := strconv.Atoi(portText)
			if err != nil || port < 0 || port > 65535 {
				return "", fmt.Errorf("address %q: port must be a number 0..65535", addr)
			}
			w["port"] = port
		}
	}
	set := func(key string, v interface{}, zero bool) {
		if !zero {
			w[key] = v
		}
	}
	set("path", o.Path, o.Path == "")
	set("sse_path", o.SSEPath, o.SSEPath == "")
	set("messages_path", o.MessagesPath, o.MessagesPath == "")
	set("websocket_path", o.WebSocketPath, o.WebSocketPath == "")
	set("json_response", true, !o.JSONResponse)
	set("stateless", true, !o.Stateless)
	set("enable_get_stream", false, !o.DisableGetStream)
	set("max_body_bytes", o.MaxBodyBytes, o.MaxBodyBytes == 0)
	set("max_header_bytes", o.MaxHeaderBytes, o.MaxHeaderBytes == 0)
	set("max_sessions", o.MaxSessions, o.MaxSessions == 0)
	set("session_idle_timeout_ms", o.SessionIdleTimeout.Milliseconds(), o.SessionIdleTimeout == 0)
	set("max_queued_messages", o.MaxQueuedMessages, o.MaxQueuedMessages == 0)
	set("max_queued_bytes", o.MaxQueuedBytes, o.MaxQueuedBytes == 0)
	set("max_buffered_bytes", o.MaxBufferedBytes, o.MaxBufferedBytes == 0)
	set("request_body_timeout_ms", o.RequestBodyTimeout.Milliseconds(), o.RequestBodyTimeout == 0)
	set("max_connections", o.MaxConnections, o.MaxConnections == 0)
	set("connection_idle_timeout_ms", o.ConnectionIdleTimeout.Milliseconds(), o.ConnectionIdleTimeout == 0)
	set("admin", o.Admin, o.Admin == "")
	set("access_log", true, !o.AccessLog)
	set("event_store_max_events", o.EventStoreMaxEvents, o.EventStoreMaxEvents == 0)
	set("store", o.Store, o.Store == "")
	set("fleet_lease_ms", o.FleetLease.Milliseconds(), o.FleetLease == 0)
	set("fleet_poll_ms", o.FleetPoll.Milliseconds(), o.FleetPoll == 0)
	set("reuse_port", true, !o.ReusePort)
	set("listen_backlog", o.ListenBacklog, o.ListenBacklog == 0)
	set("accept_batch", o.AcceptBatch, o.AcceptBatch == 0)
	set("accept_rate", o.AcceptRate, o.AcceptRate == 0)
	set("sse_retry_ms", o.SSERetry.Milliseconds(), o.SSERetry == 0)
	if o.SSEKeepalive < 0 {
		w["sse_keepalive_ms"] = 0
	} else {
		set("sse_keepalive_ms", o.SSEKeepalive.Milliseconds(), o.SSEKeepalive == 0)
	}
	set("allowed_hosts", o.AllowedHosts, o.AllowedHosts == nil)
	set("allowed_origins", o.AllowedOrigins, o.AllowedOrigins == nil)
	set("cors_allowed_origins", o.CORSAllowedOrigins, o.CORSAllowedOrigins == nil)
	set("tls_cert_file", o.TLSCertFile, o.TLSCertFile == "")
	set("tls_key_file", o.TLSKeyFile, o.TLSKeyFile == "")
	set("io_threads", o.IOThreads, o.IOThreads == 0)
	if o.Auth != nil {
		w["auth"] = o.Auth
	}
	b, err := json.Marshal(w)
	return string(b), err
}

// StartHTTP starts serving over HTTP in the background and returns the bound
// port once the socket listens. addr is "host:port" (":0" or "" for
// 127.0.0.1 on a free port). ErrState when already listening; ErrIO when the
// bind fails.
func (s *Server) StartHTTP(addr string, opts *HTTPOptions) (int, error) {
	config, err := httpConfig(addr, opts)
	if err != nil {
		return 0, &Error{Op: "StartHTTP", Status: ErrInvalidArg, Message: err.Error()}
	}
	s.noteAuth(opts)
	ptr, err := s.acquire("StartHTTP")
	if err != nil {
		return 0, err
	}
	defer s.release()
	cconfig := cString(config)
	defer freeC(cconfig)
	var port C.uint16_t
	var cerr *C.char
	if err := statusError("StartHTTP", C.mcp_server_start_http(ptr, cconfig, &port, &cerr), cerr); err != nil {
		return 0, err
	}
	return int(port), nil
}

// StopHTTP stops the HTTP listener: new connections are refused, requests in
// flight get their answers (up to timeout, then connections close), then
// every HTTP session closes. A no-op when not listening.
func (s *Server) StopHTTP(timeout time.Duration) error {
	ptr, err := s.acquire("StopHTTP")
	if err != nil {
		return err
	}
	defer s.release()
	ms := timeout.Milliseconds()
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	var cerr *C.char
	return statusError("StopHTTP", C.mcp_server_stop_http(ptr, C.int32_t(ms), &cerr), cerr)
}

// ServeHTTP serves over HTTP on addr (see StartHTTP) until ctx is done or the
// server closes, then stops the listener gracefully (opts.ShutdownTimeout)
// and returns ctx.Err(). It is not an http.Handler: the engine runs its own
// listener.
func (s *Server) ServeHTTP(ctx context.Context, addr string, opts *HTTPOptions) error {
	port, err := s.StartHTTP(addr, opts)
	if err != nil {
		return err
	}
	if opts != nil && opts.OnListen != nil {
		opts.OnListen(port)
	}
	select {
	case <-ctx.Done():
	case <-s.done:
		return errServerClosed("ServeHTTP") // mcp_server_free stops the listener
	}
	timeout := 5 * time.Second
	if opts != nil && opts.ShutdownTimeout > 0 {
		timeout = opts.ShutdownTimeout
	}
	if err := s.StopHTTP(timeout); err != nil {
		return err
	}
	return ctx.Err()
}
