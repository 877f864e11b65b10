package mcp

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func storeRequest(t *testing.T, port int, method, session, lastEventID, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d/mcp", port), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const storeInitialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",` +
	`"capabilities":{},"clientInfo":{"name":"go","version":"1"}}}`

// A session outlives the Server that opened it: a new Server given the same
// MapStore serves it, and replays its stream after Last-Event-ID.
func TestStoreKeepsSessionsAcrossServers(t *testing.T) {
	store := &MapStore{}
	a := newTestServer(t)
	if err := a.SetStore(store); err != nil {
		t.Fatal(err)
	}
	port, err := a.StartHTTP("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := storeRequest(t, port, "POST", "", "", storeInitialize)
	session := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || session == "" || !strings.Contains(body, "id: ") {
		t.Fatalf("initialize: %d %q %q", resp.StatusCode, session, body)
	}
	// The priming event's id: everything after it is the initialize result.
	primed := strings.TrimSpace(strings.SplitN(strings.SplitN(body, "id: ", 2)[1], "\n", 2)[0])
	if resp, _ := storeRequest(t, port, "POST", session, "", `{"jsonrpc":"2.0","method":"notifications/initialized"}`); resp.StatusCode != 202 {
		t.Fatalf("initialized: %d", resp.StatusCode)
	}
	a.Close()
	if store.Len() == 0 {
		t.Fatal("nothing stored")
	}

	b := newTestServer(t)
	if err := b.SetStore(store); err != nil {
		t.Fatal(err)
	}
	port, err = b.StartHTTP("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body = storeRequest(t, port, "GET", session, primed, "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"protocolVersion":"2025-11-25"`) {
		t.Fatalf("replay: %d %q", resp.StatusCode, body)
	}
	resp, body = storeRequest(t, port, "POST", session, "", `{"jsonrpc":"2.0","id":2,"method":"ping"}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"result":{}`) {
		t.Fatalf("ping: %d %q", resp.StatusCode, body)
	}
}

type downStore struct {
	MapStore
	down int32
}

func (d *downStore) Put(key, value []byte, expiresAtMs int64) error {
	if atomic.LoadInt32(&d.down) != 0 {
		return errors.New("go store down")
	}
	return d.MapStore.Put(key, value, expiresAtMs)
}

func (d *downStore) Check() error {
	if atomic.LoadInt32(&d.down) != 0 {
		return errors.New("go store down")
	}
	return nil
}

func TestStoreErrorsAnswer503(t *testing.T) {
	store := &downStore{}
	s := newTestServer(t)
	if err := s.SetStore(store); err != nil {
		t.Fatal(err)
	}
	port, err := s.StartHTTP("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetStore(&MapStore{}); !errors.Is(err, ErrState) {
		t.Errorf("SetStore while listening: %v, want ErrState", err)
	}
	atomic.StoreInt32(&store.down, 1)
	resp, body := storeRequest(t, port, "POST", "", "", storeInitialize)
	if resp.StatusCode != 503 || !strings.Contains(body, `"code":-32603`) ||
		!strings.Contains(body, "State store unavailable: go store down") {
		t.Fatalf("down: %d %q", resp.StatusCode, body)
	}
	atomic.StoreInt32(&store.down, 0)
	if resp, _ := storeRequest(t, port, "POST", "", "", storeInitialize); resp.StatusCode != 200 {
		t.Fatalf("back: %d", resp.StatusCode)
	}
}
