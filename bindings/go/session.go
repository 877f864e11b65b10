package mcp

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

// Go exports (exports.go); cgo emits them without const, hence the casts.
extern void goSessionSend(void *, char *, size_t);
extern void goFree(void *);
static mcp_status mcpgo_session_new(mcp_server_t *s, uintptr_t h, mcp_session_t **out, char **err) {
	return mcp_server_session_new(s, (mcp_send_fn)goSessionSend, (void *)h, goFree, out, err);
}
*/
import "C"

import "unsafe"

// Session is one client connection on a transport the host runs itself (an
// existing web server, a message queue, tests): the host gives the engine
// each JSON-RPC message it receives, and the engine hands every outgoing
// message to the send function.
type Session struct {
	g   guard
	ptr *C.mcp_session_t
}

type sessionReg struct {
	server *Server
	send   func(msg []byte)
}

func (r *sessionReg) deliver(msg []byte) { r.send(msg) }

// NewSession opens a session whose bytes the host transports. send receives
// each outgoing JSON-RPC message (no trailing newline; the slice is the
// callee's). Calls of send for one session never overlap and come in order,
// from engine threads or from inside Receive, so send must not wait for
// Receive to return, nor call Close.
func (s *Server) NewSession(send func(msg []byte)) (*Session, error) {
	if send == nil {
		return nil, &Error{Op: "NewSession", Status: ErrInvalidArg, Message: "nil send function"}
	}
	ptr, err := s.acquire("NewSession")
	if err != nil {
		return nil, err
	}
	defer s.release()
	h := newHandle(&sessionReg{server: s, send: send})
	var out *C.mcp_session_t
	var cerr *C.char
	if err := statusError("NewSession", C.mcpgo_session_new(ptr, C.uintptr_t(h), &out, &cerr), cerr); err != nil {
		deleteHandle(h)
		return nil, err
	}
	return &Session{ptr: out}, nil
}

// Receive gives the engine one complete JSON-RPC message from the client
// (without framing). Invalid messages are answered on the wire and still
// return nil; an error means the session is closed or msg is empty. A call
// of a Quick tool runs its handler inside Receive, on the caller's
// goroutine, and is answered (through send) before Receive returns; other
// handlers run on engine threads.
func (ss *Session) Receive(msg []byte) error {
	if len(msg) == 0 {
		return &Error{Op: "Receive", Status: ErrInvalidArg, Message: "empty message"}
	}
	if !ss.g.enter() {
		return &Error{Op: "Receive", Status: ErrClosed, Message: "session is closed"}
	}
	defer ss.g.exit()
	var cerr *C.char
	// msg is only read during the call (libmcp copies it).
	return statusError("Receive", C.mcp_session_receive(ss.ptr, (*C.char)(unsafe.Pointer(&msg[0])), C.size_t(len(msg)), &cerr), cerr)
}

// Close ends the session: calls in flight see their context cancelled and
// their answers are dropped; nothing more is sent. Idempotent.
func (ss *Session) Close() {
	if ss.g.close(nil) {
		C.mcp_session_free(ss.ptr)
	}
}
