package mcp

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

// Go exports (exports.go); cgo emits them without const, hence the casts.
extern void goOAuthAuthorize(void *, char *, char *, mcp_oauth_prompt_t *);
extern void goOAuthStore(void *, char *, char *);
extern void goFree(void *);

static mcp_status mcpgo_client_set_oauth_handler(mcp_client_t *c, uintptr_t h, char **err) {
	return mcp_client_set_oauth_handler(c, (mcp_oauth_authorize_fn)goOAuthAuthorize, (void *)h, goFree, err);
}
static mcp_status mcpgo_client_set_oauth_store(mcp_client_t *c, uintptr_t h, char **err) {
	return mcp_client_set_oauth_store(c, (mcp_oauth_store_fn)goOAuthStore, (void *)h, goFree, err);
}
*/
import "C"

import (
	"encoding/json"
	"time"
	"unsafe"
)

// OAuthOptions make ConnectHTTP obtain OAuth tokens when the server answers
// 401 (or 403 insufficient_scope): discovery, registration, authorization
// code with PKCE (or the client-credentials grant), refresh and step-up, as
// mcp_client_connect_http's "oauth" option describes in mcp.h. Zero values
// mean the engine's defaults. Library 1.5.
type OAuthOptions struct {
	// Grant is "authorization_code" (default: a person authorizes through
	// ClientOptions.OAuthHandler or the loopback listener) or
	// "client_credentials" (a machine client; needs ClientID and ClientSecret).
	Grant string
	// ClientID and ClientSecret: a pre-registered client; Issuer names the
	// authorization server it belongs to.
	ClientID, ClientSecret, Issuer string
	// TokenEndpointAuthMethod: "client_secret_basic", "client_secret_post",
	// "private_key_jwt" or "none" (default: from registration, else
	// private_key_jwt with a key, else the server's list).
	TokenEndpointAuthMethod string
	// PrivateKeyFile: PEM of an RSA or P-256 private key that signs
	// private_key_jwt client assertions (RFC 7523); PrivateKeyID its kid.
	PrivateKeyFile, PrivateKeyID string
	// ClientMetadataURL: the https URL of this client's Client ID Metadata
	// Document, used as client id where the server supports it.
	ClientMetadataURL string
	// ClientName and ApplicationType ("native" or "web") for dynamic registration.
	ClientName, ApplicationType string
	// RedirectURI: where the browser comes back (https, or loopback).
	RedirectURI string
	// Loopback listens on 127.0.0.1 for the browser's redirect (command-line programs).
	Loopback bool
	// Scope: space-separated scopes to ask for instead of the server's guidance.
	Scope string
	// MaxAttempts: re-authorizations of one message before its refusal stands (default 2).
	MaxAttempts int
	// HTTPTimeout per metadata or token request (10 s); AuthorizeTimeout for the person (5 min).
	HTTPTimeout, AuthorizeTimeout time.Duration
	// Credentials: what OAuthStore was given before, by issuer.
	Credentials map[string]json.RawMessage
}

func (o *OAuthOptions) wire() map[string]interface{} {
	w := map[string]interface{}{}
	put := func(k, v string) {
		if v != "" {
			w[k] = v
		}
	}
	put("grant", o.Grant)
	put("client_id", o.ClientID)
	put("client_secret", o.ClientSecret)
	put("issuer", o.Issuer)
	put("token_endpoint_auth_method", o.TokenEndpointAuthMethod)
	put("private_key_file", o.PrivateKeyFile)
	put("private_key_id", o.PrivateKeyID)
	put("client_metadata_url", o.ClientMetadataURL)
	put("client_name", o.ClientName)
	put("application_type", o.ApplicationType)
	put("redirect_uri", o.RedirectURI)
	put("scope", o.Scope)
	if o.Loopback {
		w["loopback"] = true
	}
	if o.MaxAttempts > 0 {
		w["max_attempts"] = o.MaxAttempts
	}
	if o.HTTPTimeout > 0 {
		w["http_timeout_ms"] = clampMs(o.HTTPTimeout)
	}
	if o.AuthorizeTimeout > 0 {
		w["authorize_timeout_ms"] = clampMs(o.AuthorizeTimeout)
	}
	if len(o.Credentials) > 0 {
		w["credentials"] = o.Credentials
	}
	return w
}

type oauthHandler struct {
	fn func(authorizationURL, redirectURI string) (string, error)
}

type oauthStore struct {
	fn func(issuer string, credentials json.RawMessage)
}

// setOAuth registers the client's OAuth callbacks (NewClient).
func (c *Client) setOAuth(opts *ClientOptions) error {
	if fn := opts.OAuthHandler; fn != nil {
		h := newHandle(&oauthHandler{fn: fn})
		var cerr *C.char
		if err := statusError("NewClient", C.mcpgo_client_set_oauth_handler(c.ptr, C.uintptr_t(h), &cerr), cerr); err != nil {
			deleteHandle(h)
			return err
		}
	}
	if fn := opts.OAuthStore; fn != nil {
		h := newHandle(&oauthStore{fn: fn})
		var cerr *C.char
		if err := statusError("NewClient", C.mcpgo_client_set_oauth_store(c.ptr, C.uintptr_t(h), &cerr), cerr); err != nil {
			deleteHandle(h)
			return err
		}
	}
	return nil
}

// answer settles one prompt: the redirect URL, "" for the loopback
// listener, or a refusal with err's text.
func (r *oauthHandler) answer(prompt *C.mcp_oauth_prompt_t, url, redirect string) {
	redirectURL, err := r.fn(url, redirect)
	if err != nil {
		reason := C.CString(err.Error())
		defer C.free(unsafe.Pointer(reason))
		C.mcp_oauth_prompt_refuse(prompt, reason, nil)
		return
	}
	var cu *C.char
	if redirectURL != "" {
		cu = C.CString(redirectURL)
		defer C.free(unsafe.Pointer(cu))
	}
	var cerr *C.char
	if C.mcp_oauth_prompt_answer(prompt, cu, &cerr) != C.MCP_OK {
		C.mcp_oauth_prompt_refuse(prompt, cerr, nil)
		C.mcp_string_free(cerr)
	}
}
