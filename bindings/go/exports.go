package mcp

// The Go functions libmcp calls. They run on engine threads that Go did not
// create; each recovers any panic, since a panic cannot unwind through the
// engine's frames (it would kill the process). user_data is a cgo.Handle
// (registrations, responses, sessions) or a cancelRegistry key.

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"log"
	"runtime/cgo"
	"runtime/debug"
	"unsafe"
)

// trampolinePanic handles a panic in the binding itself (not in a handler:
// those are recovered on their own goroutine). When the call was not handed
// to a handler yet, it is answered with -32603 so the client is not left
// waiting.
func trampolinePanic(where string, v interface{}, call *C.mcp_call_t, handedOff bool) {
	log.Printf("mcp: internal error in %s: %v\n%s", where, v, debug.Stack())
	if call != nil && !handedOff {
		msg := cString(fmt.Sprintf("internal error in the Go binding: %v", v))
		defer freeC(msg)
		C.mcp_call_error(call, C.MCP_JSONRPC_INTERNAL_ERROR, msg, nil, nil)
	}
}

//export goToolCall
func goToolCall(ud unsafe.Pointer, call *C.mcp_call_t, args *C.char) {
	handedOff := false
	defer func() {
		if v := recover(); v != nil {
			trampolinePanic("tools/call", v, call, handedOff)
		}
	}()
	r := cgo.Handle(uintptr(ud)).Value().(*toolReg)
	a := C.GoString(args)
	handedOff = true
	r.call(call, a)
}

//export goResourceRead
func goResourceRead(ud unsafe.Pointer, call *C.mcp_call_t, uri *C.char, vars *C.char) {
	handedOff := false
	defer func() {
		if v := recover(); v != nil {
			trampolinePanic("resources/read", v, call, handedOff)
		}
	}()
	r := cgo.Handle(uintptr(ud)).Value().(*resourceReg)
	u, v := C.GoString(uri), C.GoString(vars)
	handedOff = true
	r.call(call, u, v)
}

//export goPromptGet
func goPromptGet(ud unsafe.Pointer, call *C.mcp_call_t, args *C.char) {
	handedOff := false
	defer func() {
		if v := recover(); v != nil {
			trampolinePanic("prompts/get", v, call, handedOff)
		}
	}()
	r := cgo.Handle(uintptr(ud)).Value().(*promptReg)
	a := C.GoString(args)
	handedOff = true
	r.call(call, a)
}

//export goComplete
func goComplete(ud unsafe.Pointer, call *C.mcp_call_t, ref, name, value, context *C.char) {
	handedOff := false
	defer func() {
		if v := recover(); v != nil {
			trampolinePanic("completion/complete", v, call, handedOff)
		}
	}()
	r := cgo.Handle(uintptr(ud)).Value().(*completionReg)
	rf, n, v, c := C.GoString(ref), C.GoString(name), C.GoString(value), C.GoString(context)
	handedOff = true
	r.call(call, rf, n, v, c)
}

//export goCallCancelled
func goCallCancelled(ud unsafe.Pointer) {
	defer func() {
		if v := recover(); v != nil {
			trampolinePanic("cancel callback", v, nil, false)
		}
	}()
	fireCancel(uintptr(ud))
}

//export goResponse
func goResponse(ud unsafe.Pointer, status C.mcp_status, result *C.char, errJSON *C.char) {
	defer func() {
		if v := recover(); v != nil {
			trampolinePanic("response callback", v, nil, false)
		}
	}()
	h := cgo.Handle(uintptr(ud))
	p := h.Value().(*pending)
	r := response{status: status}
	if result != nil {
		r.result = json.RawMessage(C.GoString(result))
	}
	if errJSON != nil {
		r.err = json.RawMessage(C.GoString(errJSON))
	}
	deleteHandle(h) // fn runs exactly once
	p.ch <- r       // buffered: never blocks
}

//export goProgress
func goProgress(ud unsafe.Pointer, params *C.char) {
	defer func() {
		if v := recover(); v != nil {
			trampolinePanic("progress callback", v, nil, false)
		}
	}()
	p := cgo.Handle(uintptr(ud)).Value().(*pending)
	if p.progress != nil {
		p.progress(json.RawMessage(C.GoString(params)))
	}
}

//export goClientRequest
func goClientRequest(ud unsafe.Pointer, call *C.mcp_call_t, method, params *C.char) {
	handedOff := false
	defer func() {
		if v := recover(); v != nil {
			trampolinePanic("client request", v, call, handedOff)
		}
	}()
	r := cgo.Handle(uintptr(ud)).Value().(*clientHandler)
	m, p := C.GoString(method), C.GoString(params)
	handedOff = true
	r.call(call, m, p)
}

//export goClientNotification
func goClientNotification(ud unsafe.Pointer, method, params *C.char) {
	defer func() {
		if v := recover(); v != nil {
			log.Printf("mcp: the notification handler panicked: %v\n%s", v, debug.Stack())
		}
	}()
	r := cgo.Handle(uintptr(ud)).Value().(*clientNotify)
	r.fn(C.GoString(method), json.RawMessage(C.GoString(params)))
}

//export goClientStderr
func goClientStderr(ud unsafe.Pointer, line *C.char, length C.size_t) {
	defer func() {
		if v := recover(); v != nil {
			log.Printf("mcp: the stderr handler panicked: %v\n%s", v, debug.Stack())
		}
	}()
	r := cgo.Handle(uintptr(ud)).Value().(*clientStderr)
	r.fn(string(C.GoBytes(unsafe.Pointer(line), C.int(length))))
}

//export goOAuthAuthorize
func goOAuthAuthorize(ud unsafe.Pointer, url, redirect *C.char, prompt *C.mcp_oauth_prompt_t) {
	defer func() {
		if v := recover(); v != nil {
			log.Printf("mcp: the OAuth handler panicked: %v\n%s", v, debug.Stack())
			C.mcp_oauth_prompt_refuse(prompt, nil, nil)
		}
	}()
	r := cgo.Handle(uintptr(ud)).Value().(*oauthHandler)
	r.answer(prompt, C.GoString(url), C.GoString(redirect))
}

//export goOAuthStore
func goOAuthStore(ud unsafe.Pointer, issuer, credentials *C.char) {
	defer func() {
		if v := recover(); v != nil {
			log.Printf("mcp: the OAuth store panicked: %v\n%s", v, debug.Stack())
		}
	}()
	r := cgo.Handle(uintptr(ud)).Value().(*oauthStore)
	r.fn(C.GoString(issuer), json.RawMessage(C.GoString(credentials)))
}

//export goSessionSend
func goSessionSend(ud unsafe.Pointer, msg *C.char, length C.size_t) {
	defer func() {
		if v := recover(); v != nil {
			trampolinePanic("session send", v, nil, false)
		}
	}()
	s := cgo.Handle(uintptr(ud)).Value().(*sessionReg)
	s.deliver(C.GoBytes(unsafe.Pointer(msg), C.int(length)))
}

// goTokenVerify is the mcp_token_verify_fn of SetTokenVerifier: the verdict
// comes from a goroutine, since a verifier may block (introspection).
//
//export goTokenVerify
func goTokenVerify(ud unsafe.Pointer, token *C.char, check *C.mcp_token_check_t) {
	started := false
	defer func() {
		if v := recover(); v != nil {
			log.Printf("mcp: internal error in the token verifier trampoline: %v\n%s", v, debug.Stack())
			if !started {
				refuseToken(check, "the token verifier failed")
			}
		}
	}()
	r := cgo.Handle(uintptr(ud)).Value().(*verifierReg)
	t := C.GoString(token)
	started = true
	go r.check(check, t)
}

//export goFree
func goFree(ud unsafe.Pointer) {
	defer func() {
		if v := recover(); v != nil {
			trampolinePanic("free callback", v, nil, false)
		}
	}()
	deleteHandle(cgo.Handle(uintptr(ud)))
}

// goSubscription is the mcp_notification_fn of Client.Subscribe.
//
//export goSubscription
func goSubscription(ud unsafe.Pointer, method, params *C.char) {
	defer func() {
		if v := recover(); v != nil {
			log.Printf("mcp: a subscription handler panicked: %v\n%s", v, debug.Stack())
		}
	}()
	st := cgo.Handle(uintptr(ud)).Value().(*subscriptionState)
	if method == nil {
		// The end: the engine calls once more with no method, then frees.
		var end struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal([]byte(C.GoString(params)), &end)
		st.reason = end.Reason
		close(st.done)
		return
	}
	st.fn(C.GoString(method), json.RawMessage(C.GoString(params)))
}

// goHTTPWake is the mcp_http_wake_fn of HTTPHandler: response parts are
// waiting; the request's goroutine reads them.
//
//export goHTTPWake
func goHTTPWake(ud unsafe.Pointer) {
	defer func() {
		if v := recover(); v != nil {
			trampolinePanic("HTTP wake", v, nil, false)
		}
	}()
	select {
	case cgo.Handle(uintptr(ud)).Value().(chan struct{}) <- struct{}{}:
	default: // a wake is pending already
	}
}

// goSpan is the mcp_trace_fn of SetSpanExporter; it runs on the engine's
// trace delivery thread.
//
//export goSpan
func goSpan(_ unsafe.Pointer, span *C.char) {
	defer func() {
		if v := recover(); v != nil {
			log.Printf("mcp: a SpanExporter panicked: %v\n%s", v, debug.Stack())
		}
	}()
	exportSpan(C.GoString(span))
}
