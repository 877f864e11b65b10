package mcp

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

extern void goHTTPWake(void *);
extern void goFree(void *);
static mcp_status start_go_exchange(mcp_http_exchange_t *x, uintptr_t h, char **err) {
	return mcp_http_exchange_start(x, goHTTPWake, (void *)h, goFree, err);
}
*/
import "C"

import (
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"time"
	"unsafe"
)

// HTTPHandler serves the server's MCP endpoint inside your own net/http
// server: mount it in a mux (mux.Handle("/mcp", h)). Each request becomes one
// engine exchange (mcp_http_exchange_t in mcp.h): the same endpoint as
// StartHTTP, with both eras, sessions, GET streams, resumption, and every
// check and limit of the listener. SSE answers are flushed event by event; a
// client that goes away (its request context done) cancels what it was
// served, as a closed connection does on the engine's own listener.
type HTTPHandler struct {
	s       *Server
	mu      sync.Mutex
	ptr     *C.mcp_http_handler_t
	maxBody int64
}

// Handler returns the MCP endpoint as an http.Handler. opts are the HTTP
// settings that concern requests (Path, the JSON/stateless modes, sizes,
// sessions, queues, AllowedHosts/Origins, CORS, Auth...; nil: defaults); Path
// is the path clients use as they send it (a mux prefix included) ["/mcp"].
// The host's server owns the socket, TLS and timeouts, so setting TLS files,
// Admin, RequestBodyTimeout or ConnectionIdleTimeout is an ErrInvalidArg.
// Close the handler before the server. Needs libmcp ABI 1.5.
func (s *Server) Handler(opts *HTTPOptions) (*HTTPHandler, error) {
	config, err := httpConfig("", opts)
	if err != nil {
		return nil, &Error{Op: "Handler", Status: ErrInvalidArg, Message: err.Error()}
	}
	s.noteAuth(opts)
	ptr, err := s.acquire("Handler")
	if err != nil {
		return nil, err
	}
	defer s.release()
	cconfig := cString(config)
	defer freeC(cconfig)
	var h *C.mcp_http_handler_t
	var cerr *C.char
	if err := statusError("Handler", C.mcp_http_handler_new(ptr, cconfig, &h, &cerr), cerr); err != nil {
		return nil, err
	}
	maxBody := int64(16 << 20)
	if opts != nil && opts.MaxBodyBytes > 0 {
		maxBody = opts.MaxBodyBytes
	}
	return &HTTPHandler{s: s, ptr: h, maxBody: maxBody}, nil
}

// Close stops the endpoint as StopHTTP stops a listener (streams end, calls
// in flight get up to timeout, then their responses are cut) and releases
// it; later requests get 503. Idempotent.
func (h *HTTPHandler) Close(timeout time.Duration) error {
	h.mu.Lock()
	ptr := h.ptr
	h.ptr = nil
	h.mu.Unlock()
	if ptr == nil {
		return nil
	}
	ms := timeout.Milliseconds()
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	var cerr *C.char
	err := statusError("HTTPHandler.Close", C.mcp_http_handler_stop(ptr, C.int32_t(ms), &cerr), cerr)
	C.mcp_http_handler_free(ptr)
	return err
}

// ServeHTTP hands one request to the engine and copies its response back.
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	ptr := h.ptr
	if ptr == nil {
		h.mu.Unlock()
		plainError(w, http.StatusServiceUnavailable, -32603, "Server closed")
		return
	}
	x, err := h.newExchange(ptr, r)
	h.mu.Unlock() // a Close now waits in the engine for this exchange, not for the lock
	if err != nil {
		plainError(w, http.StatusBadRequest, -32600, err.Error())
		return
	}
	defer C.mcp_http_exchange_free(x) // before the end: the client went away, the engine cancels
	if err := h.sendBody(x, r.Body); err != nil {
		return // the client went away while sending
	}
	wake := make(chan struct{}, 1)
	handle := newHandle(wake)
	var cerr *C.char
	if st := C.start_go_exchange(x, C.uintptr_t(handle), &cerr); st != C.MCP_OK {
		// free_user_data ran (the header promises it on failure too).
		plainError(w, http.StatusInternalServerError, -32603, takeString(cerr))
		return
	}
	flusher, _ := w.(http.Flusher)
	var kind, status C.int32_t
	var data *C.char
	var length C.size_t
	for {
		if st := C.mcp_http_exchange_get_part(x, 0, &kind, &status, &data, &length, &cerr); st != C.MCP_OK {
			takeString(cerr)
			panic(http.ErrAbortHandler)
		}
		var payload []byte
		if data != nil {
			payload = C.GoBytes(unsafe.Pointer(data), C.int(length))
			C.mcp_string_free(data)
			data = nil
		}
		switch kind {
		case C.MCP_HTTP_PART_NONE:
			select {
			case <-wake:
			case <-r.Context().Done():
				return
			}
		case C.MCP_HTTP_PART_HEAD:
			var pairs [][2]string
			if err := json.Unmarshal(payload, &pairs); err != nil {
				panic(http.ErrAbortHandler)
			}
			header := w.Header()
			for _, p := range pairs {
				header.Add(p[0], p[1])
			}
			w.WriteHeader(int(status))
			if flusher != nil {
				flusher.Flush()
			}
		case C.MCP_HTTP_PART_BODY:
			if _, err := w.Write(payload); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		case C.MCP_HTTP_PART_END:
			return
		default: // ABORT: the response cannot be finished; net/http drops the connection
			panic(http.ErrAbortHandler)
		}
	}
}

func (h *HTTPHandler) newExchange(ptr *C.mcp_http_handler_t, r *http.Request) (*C.mcp_http_exchange_t, error) {
	// The target as the client sent it: a mux prefix or StripPrefix does not change what the engine routes.
	target := r.RequestURI
	if target == "" || target[0] != '/' {
		target = r.URL.RequestURI()
	}
	cmethod, ctarget := cString(r.Method), cString(target)
	defer freeC(cmethod)
	defer freeC(ctarget)
	var cremote *C.char
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		cremote = cString(host)
		defer freeC(cremote)
	}
	var x *C.mcp_http_exchange_t
	var cerr *C.char
	if err := statusError("HTTPHandler", C.mcp_http_exchange_new(ptr, cmethod, ctarget, cremote, &x, &cerr), cerr); err != nil {
		return nil, err
	}
	add := func(name, value string) error {
		cn, cv := cString(name), cString(value)
		defer freeC(cn)
		defer freeC(cv)
		var cerr *C.char
		return statusError("HTTPHandler", C.mcp_http_exchange_add_header(x, cn, cv, &cerr), cerr)
	}
	// net/http keeps Host apart from the other headers.
	err := add("Host", r.Host)
	for name, values := range r.Header {
		for _, v := range values {
			if err == nil {
				err = add(name, v)
			}
		}
	}
	if err != nil {
		C.mcp_http_exchange_free(x)
		return nil, err
	}
	return x, nil
}

// sendBody hands the body over in pieces, reading at most one byte past the
// limit (the engine then answers 413 without the rest).
func (h *HTTPHandler) sendBody(x *C.mcp_http_exchange_t, body io.Reader) error {
	if body == nil {
		return nil
	}
	buf := make([]byte, 32<<10)
	var total int64
	for total <= h.maxBody {
		n, err := body.Read(buf)
		if n > 0 {
			total += int64(n)
			C.mcp_http_exchange_add_body(x, unsafe.Pointer(&buf[0]), C.size_t(n), nil)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func plainError(w http.ResponseWriter, status int, code int, message string) {
	body, _ := json.Marshal(map[string]interface{}{"jsonrpc": "2.0", "id": nil,
		"error": map[string]interface{}{"code": code, "message": message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
