package mcp

/*
#include <stdlib.h>
#include <mcp.h>
*/
import "C"

import (
	"encoding/json"
	"log"
	"time"
	"unsafe"
)

// Server is an MCP server (mcp_server_t): register tools, resources,
// templates and prompts, then serve it over stdio, HTTP or a transport of your
// own. One Server serves any number of sessions at once; its features are
// shared by all of them and may change while it serves.
//
// All methods are safe for concurrent use. Handlers run on goroutines of
// their own, one per request.
type Server struct {
	g       guard
	ptr     *C.mcp_server_t // valid while g admits entries
	done    chan struct{}   // closed when Close begins
	d       dispatcher
	handles int64 // live cgo.Handles of registrations and sessions (atomic)
	// verifierTimeoutMs is the listener's Auth.VerifierTimeoutMs (atomic; 0: default).
	verifierTimeoutMs int64
}

// ServerOptions configure a server. The zero value of each field means the
// engine's default.
type ServerOptions struct {
	Title        string // display name (serverInfo.title)
	Description  string // serverInfo.description
	WebsiteURL   string // serverInfo.websiteUrl
	Icons        []Icon // serverInfo.icons
	Instructions string // sent in the initialize result
	PageSize     int    // items per list page, 1..10000 (default 100)
	// WorkerThreads bounds the engine threads that run handlers (1..1024,
	// default 64). Up to three quarters of them (all but at least 4) run Go
	// handlers; beyond that, handlers run on goroutines of their own, so the
	// number of handlers running at once is not bounded by it.
	WorkerThreads int
	MaxDepth      int // deepest JSON nesting accepted, 16..10000 (default 512)
	// Extensions maps extension identifiers ("vendor.example/name") to their
	// settings, advertised in the capabilities of both eras (library 1.3).
	Extensions map[string]map[string]any
	// CacheTTLMs and CacheScope ("public" or "private") are the caching hints
	// of cacheable 2026-07-28 results when a feature sets none ("ttlMs",
	// "cacheScope" in its definition); defaults 0 and "private" (library 1.3).
	CacheTTLMs int
	CacheScope string
	// DeclareCapabilities names capability kinds ("tools", "resources",
	// "prompts", "logging") declared to clients even when nothing of the kind
	// is registered when they connect: the others follow what is registered,
	// and "logging" is declared only from here, so name it when handlers log
	// (library 1.4).
	DeclareCapabilities []string
	// MaxCallsInFlight bounds the calls into handlers not yet answered, over
	// every session (default 4096); beyond it calls are refused at once (503
	// over HTTP). ToolTimeouts maps tool names ("*": every other tool) to the
	// time after which a call is answered with an error and its ctx
	// cancelled. CircuitBreaker, when set, refuses a tool's calls for a while
	// after repeated failures (library 1.4).
	MaxCallsInFlight int
	ToolTimeouts     map[string]time.Duration
	CircuitBreaker   *CircuitBreaker
	// NoSchemaValidation turns the engine's schema checks off for every tool
	// (arguments, results) and elicitation answer (library 1.4; NoValidation
	// does it for one tool).
	NoSchemaValidation bool
	// ErrorLog receives what cannot be reported to a caller, such as a handler
	// result the engine refused; nil means the standard logger.
	ErrorLog *log.Logger
}

// CircuitBreaker: after Failures consecutive failures of a tool (errors
// returned by its handler, timeouts; not ToolResult.IsError answers) its
// calls are refused for Open, then one call probes (defaults 5 and 30 s).
type CircuitBreaker struct {
	Failures int
	Open     time.Duration
}

type circuitBreakerJSON struct {
	Failures int   `json:"failures,omitempty"`
	OpenMs   int64 `json:"open_ms,omitempty"`
}

func (b *CircuitBreaker) json() *circuitBreakerJSON {
	if b == nil {
		return nil
	}
	return &circuitBreakerJSON{Failures: b.Failures, OpenMs: b.Open.Milliseconds()}
}

func timeoutsMs(m map[string]time.Duration) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v.Milliseconds()
	}
	return out
}

// Icon is an icon for a server, tool, resource or prompt.
type Icon struct {
	Src      string   `json:"src"`
	MIMEType string   `json:"mimeType,omitempty"`
	Sizes    []string `json:"sizes,omitempty"`
	Theme    string   `json:"theme,omitempty"`
}

// NewServer creates a server with the given serverInfo name and version
// (neither may be empty). opts may be nil. Close it when done.
func NewServer(name, version string, opts *ServerOptions) (*Server, error) {
	if opts == nil {
		opts = &ServerOptions{}
	}
	wire := struct {
		Title         string                    `json:"title,omitempty"`
		Description   string                    `json:"description,omitempty"`
		WebsiteURL    string                    `json:"website_url,omitempty"`
		Icons         []Icon                    `json:"icons,omitempty"`
		Instructions  string                    `json:"instructions,omitempty"`
		PageSize      int                       `json:"page_size,omitempty"`
		WorkerThreads int                       `json:"worker_threads,omitempty"`
		MaxDepth      int                       `json:"max_depth,omitempty"`
		Extensions    map[string]map[string]any `json:"extensions,omitempty"`
		CacheTTLMs    int                       `json:"cache_ttl_ms,omitempty"`
		CacheScope    string                    `json:"cache_scope,omitempty"`
		Declare       []string                  `json:"declare_capabilities,omitempty"`
		MaxInFlight   int                       `json:"max_calls_in_flight,omitempty"`
		Timeouts      map[string]int64          `json:"tool_timeouts_ms,omitempty"`
		Breaker       *circuitBreakerJSON       `json:"circuit_breaker,omitempty"`
		Validation    *bool                     `json:"schema_validation,omitempty"`
	}{opts.Title, opts.Description, opts.WebsiteURL, opts.Icons, opts.Instructions,
		opts.PageSize, opts.WorkerThreads, opts.MaxDepth, opts.Extensions, opts.CacheTTLMs, opts.CacheScope,
		opts.DeclareCapabilities, opts.MaxCallsInFlight, timeoutsMs(opts.ToolTimeouts), opts.CircuitBreaker.json(), nil}
	if opts.NoSchemaValidation {
		off := false
		wire.Validation = &off
	}
	optJSON, err := json.Marshal(wire)
	if err != nil {
		return nil, err
	}
	cname, cversion, copts := cString(name), cString(version), cString(string(optJSON))
	defer freeC(cname)
	defer freeC(cversion)
	defer freeC(copts)
	var ptr *C.mcp_server_t
	var cerr *C.char
	if err := statusError("NewServer", C.mcp_server_new(cname, cversion, copts, &ptr, &cerr), cerr); err != nil {
		return nil, err
	}
	return &Server{ptr: ptr, done: make(chan struct{}),
		d: dispatcher{logger: opts.ErrorLog, workerLimit: workerLimit(opts.WorkerThreads, 64)}}, nil
}

// workerLimit is how many handlers may run on the engine's worker threads at
// once: all but a quarter of them (at least 4), which stay free to deliver
// cancellations and the client's answers to the handlers that wait for them.
func workerLimit(workerThreads, engineDefault int) int64 {
	if workerThreads == 0 {
		workerThreads = engineDefault
	}
	reserve := workerThreads / 4
	if reserve < 4 {
		reserve = 4
	}
	if workerThreads <= reserve {
		return 0
	}
	return int64(workerThreads - reserve)
}

// acquire returns the server pointer for one call into libmcp, or an error
// once Close has begun. Every successful acquire is paired with release.
func (s *Server) acquire(op string) (*C.mcp_server_t, error) {
	if !s.g.enter() {
		return nil, errServerClosed(op)
	}
	return s.ptr, nil
}

func (s *Server) release() { s.g.exit() }

// Close stops every serve function (ServeStdio, ServeFiles, ServeHTTP), waits
// for them to return, closes every session and frees the server. Handlers
// still running see their context cancelled; their answers are dropped.
// Each registration's data is released once its last call is answered.
// Close is idempotent. Do not call it from a handler while a serve function
// runs (the serve function waits for that handler): use go s.Close().
func (s *Server) Close() error {
	if s.g.close(func() { close(s.done) }) { // the serve functions' watchers stop them
		C.mcp_server_free(s.ptr)
	}
	return nil
}

// Handle returns the underlying mcp_server_t*, for C code in the same process
// that registers features of its own on this server. It is valid until Close;
// do not free it.
func (s *Server) Handle() unsafe.Pointer {
	select {
	case <-s.done:
		return nil
	default:
		return unsafe.Pointer(s.ptr)
	}
}

func (s *Server) logf(format string, args ...interface{}) { s.d.logf(format, args...) }

// LoggingLevel is the severity of a log message (RFC 5424 names).
type LoggingLevel string

// The levels of notifications/message, lowest first.
const (
	LevelDebug     LoggingLevel = "debug"
	LevelInfo      LoggingLevel = "info"
	LevelNotice    LoggingLevel = "notice"
	LevelWarning   LoggingLevel = "warning"
	LevelError     LoggingLevel = "error"
	LevelCritical  LoggingLevel = "critical"
	LevelAlert     LoggingLevel = "alert"
	LevelEmergency LoggingLevel = "emergency"
)

// Log sends a log message (notifications/message) to every session whose
// level (logging/setLevel, default "info") lets it through. data is any value
// that marshals to JSON; logger may be empty. Never put secrets in logs.
func (s *Server) Log(level LoggingLevel, logger string, data interface{}) error {
	dataJSON, err := json.Marshal(data)
	if err != nil {
		return &Error{Op: "Log", Status: ErrInvalidJSON, Message: err.Error()}
	}
	ptr, err := s.acquire("Log")
	if err != nil {
		return err
	}
	defer s.release()
	clevel, clogger, cdata := cString(string(level)), cStringOrNil(logger), cString(string(dataJSON))
	defer freeC(clevel)
	defer freeC(clogger)
	defer freeC(cdata)
	var cerr *C.char
	return statusError("Log", C.mcp_server_log(ptr, clevel, clogger, cdata, &cerr), cerr)
}

// NotifyResourceUpdated sends notifications/resources/updated to the sessions
// that subscribed to uri (or to a resource it lies under), and to the
// 2026-07-28 subscriptions/listen streams that name it, and returns how many
// were told.
func (s *Server) NotifyResourceUpdated(uri string) (int, error) {
	ptr, err := s.acquire("NotifyResourceUpdated")
	if err != nil {
		return 0, err
	}
	defer s.release()
	curi := cString(uri)
	defer freeC(curi)
	var n C.int32_t
	var cerr *C.char
	if err := statusError("NotifyResourceUpdated", C.mcp_server_notify_resource_updated(ptr, curi, &n, &cerr), cerr); err != nil {
		return 0, err
	}
	return int(n), nil
}

// NotifyElicitationComplete finishes a URL-mode elicitation: it sends
// notifications/elicitation/complete to the session whose id Call.SessionID
// gave. ErrNotFound when that session is gone.
func (s *Server) NotifyElicitationComplete(sessionID, elicitationID string) error {
	ptr, err := s.acquire("NotifyElicitationComplete")
	if err != nil {
		return err
	}
	defer s.release()
	csid, ceid := cString(sessionID), cString(elicitationID)
	defer freeC(csid)
	defer freeC(ceid)
	var cerr *C.char
	return statusError("NotifyElicitationComplete", C.mcp_server_notify_elicitation_complete(ptr, csid, ceid, &cerr), cerr)
}
