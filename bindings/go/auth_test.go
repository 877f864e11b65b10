package mcp

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// signEdDSA makes a JWT (JWS compact, EdDSA) with the standard library only.
func signEdDSA(t *testing.T, key ed25519.PrivateKey, kid string, claims map[string]interface{}) string {
	t.Helper()
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": kid})
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	return input + "." + enc.EncodeToString(ed25519.Sign(key, []byte(input)))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A Go handler reads the principal of a JWT the engine checked; a tool with
// RequiredScopes refuses a token without them (403).
func TestPrincipalOverHTTPWithAuth(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(map[string]interface{}{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "kid": "go-key", "alg": "EdDSA",
		"x": base64.RawURLEncoding.EncodeToString(pub)}}})
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwksFile, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t)
	whoami := func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		p, err := CallFromContext(ctx).Principal()
		if err != nil {
			return nil, err
		}
		if p == nil {
			return TextResult("none"), nil
		}
		return TextResult(p.Subject + " " + p.ClientID + " " + strings.Join(p.Scopes, ",")), nil
	}
	if err := s.AddTool(&Tool{Name: "whoami"}, whoami); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTool(&Tool{Name: "admin", RequiredScopes: []string{"mcp:admin"}},
		func(context.Context, json.RawMessage) (*ToolResult, error) { return TextResult("admin ok"), nil }); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	resource := fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
	const issuer = "https://auth.example.test"
	if _, err := s.StartHTTP(fmt.Sprintf("127.0.0.1:%d", port), &HTTPOptions{JSONResponse: true, Auth: &AuthOptions{
		Resource: resource, AuthorizationServers: []string{issuer}, Issuer: issuer, JWKSFile: jwksFile}}); err != nil {
		t.Fatal(err)
	}
	defer s.StopHTTP(time.Second)

	callTool := func(name, token string) (int, string, string) {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{},`+
			`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},`+
			`"io.modelcontextprotocol/clientInfo":{"name":"go","version":"1"}}}}`, name)
		req, _ := http.NewRequest("POST", resource, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", name)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)
	}

	now := time.Now().Unix()
	token := signEdDSA(t, priv, "go-key", map[string]interface{}{
		"iss": issuer, "aud": resource, "sub": "gopher", "client_id": "go-client", "scope": "mcp:read",
		"exp": now + 60})
	status, _, body := callTool("whoami", token)
	if status != 200 || !strings.Contains(body, `gopher go-client mcp:read`) {
		t.Fatalf("whoami with a valid token: %d %s", status, body)
	}
	if status, challenge, _ := callTool("whoami", ""); status != 401 || !strings.HasPrefix(challenge, "Bearer resource_metadata=") {
		t.Fatalf("no token: %d %q, want 401 with a Bearer challenge", status, challenge)
	}
	expired := signEdDSA(t, priv, "go-key", map[string]interface{}{
		"iss": issuer, "aud": resource, "sub": "gopher", "exp": now - 3600})
	if status, challenge, _ := callTool("whoami", expired); status != 401 || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Fatalf("expired token: %d %q, want 401 invalid_token", status, challenge)
	}
	if status, challenge, _ := callTool("admin", token); status != 403 ||
		!strings.HasPrefix(challenge, `Bearer error="insufficient_scope", scope="mcp:admin"`) {
		t.Fatalf("admin without mcp:admin: %d %q, want 403 insufficient_scope", status, challenge)
	}
	admin := signEdDSA(t, priv, "go-key", map[string]interface{}{
		"iss": issuer, "aud": resource, "sub": "gopher", "scope": "mcp:read mcp:admin", "exp": now + 60})
	if status, _, body := callTool("admin", admin); status != 200 || !strings.Contains(body, "admin ok") {
		t.Fatalf("admin with mcp:admin: %d %s", status, body)
	}
}

// A TokenVerifier checks opaque tokens: its principal reaches the handler,
// its error refuses the token (401, the reason in the challenge), a panic
// refuses too, and its context carries the listener's verifier timeout.
func TestTokenVerifierChecksOpaqueTokens(t *testing.T) {
	s := newTestServer(t)
	whoami := func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		p, err := CallFromContext(ctx).Principal()
		if err != nil || p == nil {
			return nil, fmt.Errorf("no principal: %v", err)
		}
		return TextResult(p.Subject + " " + p.ClientID + " " + strings.Join(p.Scopes, ",") + " " + string(p.Claims)), nil
	}
	if err := s.AddTool(&Tool{Name: "whoami"}, whoami); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTool(&Tool{Name: "admin", RequiredScopes: []string{"mcp:admin"}},
		func(context.Context, json.RawMessage) (*ToolResult, error) { return TextResult("admin ok"), nil }); err != nil {
		t.Fatal(err)
	}
	deadlines := make(chan time.Duration, 16)
	err := s.SetTokenVerifier(func(ctx context.Context, token string) (*Principal, error) {
		if d, ok := ctx.Deadline(); ok {
			deadlines <- time.Until(d)
		}
		switch token {
		case "opaque-reader":
			return &Principal{Subject: "svc", ClientID: "c9", Scopes: []string{"mcp:read"},
				Claims: json.RawMessage(`{"tenant":"t1"}`)}, nil
		case "opaque-admin":
			return &Principal{Subject: "svc", ClientID: "c9", Scopes: []string{"mcp:read", "mcp:admin"}}, nil
		case "boom":
			panic("introspection client bug")
		case "nil":
			return nil, nil
		}
		return nil, fmt.Errorf("revoked at the authorization server")
	})
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	resource := fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
	if _, err := s.StartHTTP(fmt.Sprintf("127.0.0.1:%d", port), &HTTPOptions{JSONResponse: true, Auth: &AuthOptions{
		Resource: resource, AuthorizationServers: []string{"https://auth.example.test"}, VerifierTimeoutMs: 3000}}); err != nil {
		t.Fatal(err)
	}
	defer s.StopHTTP(time.Second)

	callTool := func(name, token string) (int, string, string) {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{},`+
			`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},`+
			`"io.modelcontextprotocol/clientInfo":{"name":"go","version":"1"}}}}`, name)
		req, _ := http.NewRequest("POST", resource, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", name)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)
	}

	if status, _, body := callTool("whoami", "opaque-reader"); status != 200 || !strings.Contains(body, `svc c9 mcp:read {\"tenant\":\"t1\"}`) {
		t.Fatalf("accepted token: %d %s", status, body)
	}
	if d := <-deadlines; d <= 0 || d > 3*time.Second {
		t.Fatalf("the verifier's context deadline is %v away, want within the 3 s verifier timeout", d)
	}
	if status, challenge, _ := callTool("whoami", "opaque-stolen"); status != 401 ||
		!strings.Contains(challenge, `error="invalid_token"`) || !strings.Contains(challenge, "revoked at the authorization server") {
		t.Fatalf("refused token: %d %q", status, challenge)
	}
	for _, token := range []string{"boom", "nil"} {
		if status, challenge, _ := callTool("whoami", token); status != 401 || !strings.Contains(challenge, `error="invalid_token"`) {
			t.Fatalf("%s: %d %q, want 401 invalid_token", token, status, challenge)
		}
	}
	if status, challenge, _ := callTool("admin", "opaque-reader"); status != 403 || !strings.Contains(challenge, `scope="mcp:admin"`) {
		t.Fatalf("admin with a reader's token: %d %q, want 403", status, challenge)
	}
	if status, _, body := callTool("admin", "opaque-admin"); status != 200 || !strings.Contains(body, "admin ok") {
		t.Fatalf("admin with mcp:admin: %d %s", status, body)
	}
	if err := s.SetTokenVerifier(nil); err != nil {
		t.Fatalf("removing the verifier: %v", err)
	}
}
