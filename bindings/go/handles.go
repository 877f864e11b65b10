package mcp

// What C holds of Go: registrations are cgo.Handles (deleted by goFree when
// the engine drops them); per-call cancel hooks are keys into cancelRegistry.
// C never holds a Go pointer.

import (
	"context"
	"runtime/cgo"
	"sync"
	"sync/atomic"
)

// liveHandles counts the cgo.Handles this package created and has not
// deleted; Server.handles counts those of one server's registrations and
// sessions. Tests use them to see that the engine released a registration.
var liveHandles int64

// owned is a handle value that belongs to a server.
type owned interface{ owner() *Server }

func (r *toolReg) owner() *Server       { return r.server }
func (r *resourceReg) owner() *Server   { return r.server }
func (r *promptReg) owner() *Server     { return r.server }
func (r *completionReg) owner() *Server { return r.server }
func (r *sessionReg) owner() *Server    { return r.server }
func (r *verifierReg) owner() *Server   { return r.server }

func newHandle(v interface{}) cgo.Handle {
	atomic.AddInt64(&liveHandles, 1)
	if o, ok := v.(owned); ok {
		atomic.AddInt64(&o.owner().handles, 1)
	}
	return cgo.NewHandle(v)
}

func deleteHandle(h cgo.Handle) {
	if o, ok := h.Value().(owned); ok {
		atomic.AddInt64(&o.owner().handles, -1)
	}
	h.Delete()
	atomic.AddInt64(&liveHandles, -1)
}

// cancelRegistry maps the key given to mcp_call_on_cancel to the call's
// context cancel function. A plain map rather than a cgo.Handle because the
// engine may run the cancel callback while the call is being answered (mcp.h:
// "a benign race"): a key already removed must be a no-op, not a panic.
var cancelRegistry = struct {
	sync.Mutex
	next uintptr
	m    map[uintptr]context.CancelFunc
}{m: make(map[uintptr]context.CancelFunc)}

func registerCancel(cancel context.CancelFunc) uintptr {
	cancelRegistry.Lock()
	defer cancelRegistry.Unlock()
	cancelRegistry.next++
	k := cancelRegistry.next
	cancelRegistry.m[k] = cancel
	return k
}

func unregisterCancel(k uintptr) {
	cancelRegistry.Lock()
	delete(cancelRegistry.m, k)
	cancelRegistry.Unlock()
}

func fireCancel(k uintptr) {
	cancelRegistry.Lock()
	cancel := cancelRegistry.m[k]
	cancelRegistry.Unlock()
	if cancel != nil {
		cancel()
	}
}
