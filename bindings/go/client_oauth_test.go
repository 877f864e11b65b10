package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// oauthWorld is a resource server and an authorization server in one
// httptest server: enough MCP (JSON answers) to initialize and call a tool,
// protected-resource and authorization-server metadata, auto-approving
// /authorize, and /token for authorization_code (PKCE S256 is checked by
// the engine's side only: this AS records what it got) and client_credentials.
type oauthWorld struct {
	srv    *httptest.Server
	mu     sync.Mutex
	tokens map[string]string // token -> client id
	forms  []url.Values
}

func newOAuthWorld(t *testing.T) *oauthWorld {
	w := &oauthWorld{tokens: map[string]string{}}
	mux := http.NewServeMux()
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	base := w.srv.URL
	writeJSON := func(rw http.ResponseWriter, status int, v interface{}) {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		_ = json.NewEncoder(rw).Encode(v)
	}
	mux.HandleFunc("/.well-known/oauth-protected-resource/mcp", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, map[string]interface{}{"resource": base + "/mcp", "authorization_servers": []string{base},
			"scopes_supported": []string{"mcp:read"}})
	})
	mux.HandleFunc("/.well-known/oauth-authorization-server", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, map[string]interface{}{"issuer": base, "authorization_endpoint": base + "/authorize",
			"token_endpoint": base + "/token", "code_challenge_methods_supported": []string{"S256"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_post"}})
	})
	mux.HandleFunc("/authorize", func(rw http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		loc := q.Get("redirect_uri") + "?code=c-" + q.Get("client_id") + "&state=" + url.QueryEscape(q.Get("state")) +
			"&iss=" + url.QueryEscape(base)
		http.Redirect(rw, r, loc, http.StatusFound)
	})
	mux.HandleFunc("/token", func(rw http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.mu.Lock()
		defer w.mu.Unlock()
		w.forms = append(w.forms, r.PostForm)
		if r.PostForm.Get("client_secret") != "s3cret" {
			writeJSON(rw, 401, map[string]string{"error": "invalid_client"})
			return
		}
		tok := fmt.Sprintf("tok-%d", len(w.forms))
		w.tokens[tok] = r.PostForm.Get("client_id")
		writeJSON(rw, 200, map[string]interface{}{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	})
	mux.HandleFunc("/mcp", func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			rw.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.mu.Lock()
		client, ok := w.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		w.mu.Unlock()
		if !ok {
			rw.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+base+`/.well-known/oauth-protected-resource/mcp"`)
			rw.WriteHeader(http.StatusUnauthorized)
			return
		}
		var msg struct {
			ID     json.RawMessage        `json:"id"`
			Method string                 `json:"method"`
			Params map[string]interface{} `json:"params"`
		}
		_ = json.NewDecoder(r.Body).Decode(&msg)
		if msg.ID == nil {
			rw.WriteHeader(http.StatusAccepted)
			return
		}
		var result interface{}
		switch msg.Method {
		case "initialize":
			result = map[string]interface{}{"protocolVersion": msg.Params["protocolVersion"],
				"capabilities": map[string]interface{}{"tools": map[string]interface{}{}},
				"serverInfo":   map[string]string{"name": "go-oauth-world", "version": "1"}}
		case "tools/call":
			result = map[string]interface{}{"content": []map[string]string{{"type": "text", "text": client}}}
		default:
			writeJSON(rw, 200, map[string]interface{}{"jsonrpc": "2.0", "id": msg.ID,
				"error": map[string]interface{}{"code": -32601, "message": "no such method"}})
			return
		}
		writeJSON(rw, 200, map[string]interface{}{"jsonrpc": "2.0", "id": msg.ID, "result": result})
	})
	return w
}

// form is the i-th token request the authorization server received.
func (w *oauthWorld) form(i int) url.Values {
	w.mu.Lock()
	defer w.mu.Unlock()
	if i >= len(w.forms) {
		return url.Values{}
	}
	return w.forms[i]
}

// followOnce is the person who approves at once: GET the authorization URL,
// return where the authorization server redirects.
func followOnce(authorizationURL, redirectURI string) (string, error) {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authorizationURL)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return resp.Header.Get("Location"), nil
}

func TestOAuthAuthorizationCodeAndStore(t *testing.T) {
	w := newOAuthWorld(t)
	var stored sync.Map
	c, err := NewClient("go-oauth", "1", &ClientOptions{Era: "legacy", OAuthHandler: followOnce,
		OAuthStore: func(issuer string, creds json.RawMessage) { stored.Store(issuer, creds) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = c.ConnectHTTP(ctx, w.srv.URL+"/mcp", &HTTPConnectOptions{OAuth: &OAuthOptions{
		ClientID: "pre", ClientSecret: "s3cret", RedirectURI: "http://127.0.0.1:9/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.CallTool(ctx, &CallToolParams{Name: "whoami"})
	if err != nil || len(res.Content) == 0 {
		t.Fatalf("CallTool: %v %v", res, err)
	}
	if got := res.Content[0].(*TextContent).Text; got != "pre" {
		t.Fatalf("token of %q, want pre", got)
	}
	f := w.form(0)
	if f.Get("grant_type") != "authorization_code" || f.Get("resource") != w.srv.URL+"/mcp" || len(f.Get("code_verifier")) < 43 {
		t.Fatalf("token request %v", f)
	}
	if v, ok := stored.Load(w.srv.URL); !ok || !strings.Contains(string(v.(json.RawMessage)), `"access_token":"tok-1"`) {
		t.Fatalf("store got %v", v)
	}
}

func TestOAuthClientCredentialsAndRefusal(t *testing.T) {
	w := newOAuthWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, secret := range []string{"s3cret", "wrong"} {
		c, err := NewClient("go-oauth", "1", &ClientOptions{Era: "legacy"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ConnectHTTP(ctx, w.srv.URL+"/mcp", &HTTPConnectOptions{OAuth: &OAuthOptions{
			Grant: "client_credentials", ClientID: "svc", ClientSecret: secret}})
		if secret == "wrong" {
			if err == nil || !strings.Contains(err.Error(), "invalid_client") {
				t.Fatalf("want the token endpoint's refusal, got %v", err)
			}
		} else if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if f := w.form(0); f.Get("grant_type") != "client_credentials" || f.Get("scope") != "mcp:read" {
		t.Fatalf("token request %v", f)
	}
}
