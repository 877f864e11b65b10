package mcp

// The host's own bearer-token check (mcp_server_set_token_verifier, library
// 1.4): opaque tokens, introspection, custom rules, for a listener with Auth.

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

// Go exports (exports.go); cgo emits them without const, hence the casts.
extern void goTokenVerify(void *, char *, mcp_token_check_t *);
extern void goFree(void *);
static mcp_status mcpgo_set_token_verifier(mcp_server_t *s, uintptr_t h, char **err) {
	if (h == 0) return mcp_server_set_token_verifier(s, NULL, NULL, NULL, err);
	return mcp_server_set_token_verifier(s, (mcp_token_verify_fn)goTokenVerify, (void *)h, goFree, err);
}
static mcp_status mcpgo_token_accept(mcp_token_check_t *c, const char *principal) {
	return mcp_token_check_accept(c, principal, NULL);
}
static mcp_status mcpgo_token_refuse(mcp_token_check_t *c, const char *reason) {
	return mcp_token_check_refuse(c, reason, NULL);
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// TokenVerifier checks one bearer token: it returns who the token acts for
// (handlers see it through Call.Principal), or an error to refuse it (the
// request gets 401 invalid_token; the error's text becomes the challenge's
// error_description and is logged, so never put the token in it). It must
// check that the token was issued for this server (its audience, RFC 8707):
// a token for another resource is never accepted or passed on. Put the
// token's expiry (seconds since the epoch) in Claims as "exp" when known: a
// WebSocket connection is closed when its token expires.
//
// It runs on a goroutine of its own, so it may block (an introspection
// request); the engine refuses a token whose verifier has not answered within
// the listener's Auth.VerifierTimeoutMs [10 s], and ctx is done by then.
type TokenVerifier func(ctx context.Context, token string) (*Principal, error)

type verifierReg struct {
	server *Server
	verify TokenVerifier
}

// SetTokenVerifier checks bearer tokens with v, for a listener started with
// Auth: every token when Auth names no JWKS, else the tokens that are not
// JWTs. Set it before StartHTTP, ServeHTTP or Handler (a listener whose Auth
// has neither a JWKS nor a verifier does not start); nil removes it.
func (s *Server) SetTokenVerifier(v TokenVerifier) error {
	ptr, err := s.acquire("SetTokenVerifier")
	if err != nil {
		return err
	}
	defer s.release()
	var cerr *C.char
	if v == nil {
		return statusError("SetTokenVerifier", C.mcpgo_set_token_verifier(ptr, 0, &cerr), cerr)
	}
	hd := newHandle(&verifierReg{server: s, verify: v})
	if err := statusError("SetTokenVerifier", C.mcpgo_set_token_verifier(ptr, C.uintptr_t(hd), &cerr), cerr); err != nil {
		deleteHandle(hd)
		return err
	}
	return nil
}

// check runs on its own goroutine (from goTokenVerify) and answers the check
// exactly once: accepted, refused, or refused because the verifier panicked.
func (r *verifierReg) check(c *C.mcp_token_check_t, token string) {
	answered := false
	defer func() {
		if v := recover(); v != nil {
			log.Printf("mcp: a token verifier panicked: %v\n%s", v, debug.Stack())
			if !answered {
				refuseToken(c, "the token verifier failed")
			}
		}
	}()
	ms := atomic.LoadInt64(&r.server.verifierTimeoutMs)
	if ms <= 0 {
		ms = 10000 // the engine's default verifier_timeout_ms
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(ms)*time.Millisecond)
	defer cancel()
	p, err := r.verify(ctx, token)
	if err == nil && p == nil {
		err = fmt.Errorf("refused")
	}
	if err != nil {
		answered = true
		refuseToken(c, err.Error())
		return
	}
	if p.Scopes == nil {
		p.Scopes = []string{}
	}
	b, merr := json.Marshal(p)
	answered = true
	if merr != nil {
		refuseToken(c, "the token verifier's principal is not JSON: "+merr.Error())
		return
	}
	text := cString(string(b))
	defer freeC(text)
	// MCP_ERR_STATE: the engine stopped waiting (verifier_timeout_ms); the
	// request was refused already.
	C.mcpgo_token_accept(c, text)
}

func refuseToken(c *C.mcp_token_check_t, reason string) {
	text := cString(reason)
	defer freeC(text)
	C.mcpgo_token_refuse(c, text)
}

// noteAuth keeps the listener's verifier timeout, for the verifier's context.
func (s *Server) noteAuth(o *HTTPOptions) {
	if o != nil && o.Auth != nil {
		atomic.StoreInt64(&s.verifierTimeoutMs, int64(o.Auth.VerifierTimeoutMs))
	}
}
