package mcp_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	mcp "github.com/libmcp/libmcp/bindings/go"
)

// Subscribe at the 2025 era against the everything server: resources/subscribe
// under the hood, its updates delivered in order, then an end.
func TestClientSubscribeLegacy(t *testing.T) {
	bin := everythingServer(t)
	c := newClient(t, &mcp.ClientOptions{Era: "legacy"})
	ctx := within(t, 60*time.Second)
	if _, err := c.ConnectStdio(ctx, []string{bin}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(mcp.SubscriptionFilter{}, func(string, json.RawMessage) {}); !errors.Is(err, mcp.ErrInvalidArg) {
		t.Fatalf("an empty filter: %v", err)
	}
	var mu sync.Mutex
	var got []string
	sub, err := c.Subscribe(mcp.SubscriptionFilter{ResourceSubscriptions: []string{"test://watched-resource"}},
		func(method string, params json.RawMessage) {
			mu.Lock()
			got = append(got, method)
			mu.Unlock()
		})
	if err != nil {
		t.Fatal(err)
	}
	if sub.ID >= 0 || len(sub.Honored.ResourceSubscriptions) != 1 {
		t.Fatalf("subscription %+v", sub)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.CallTool(ctx, &mcp.CallToolParams{Name: "test_update_watched_resource"}); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 updates", n)
		}
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sub.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("no end")
	}
	if sub.Reason() != "unsubscribed" {
		t.Errorf("reason %q", sub.Reason())
	}
}

// The cache option at 2026-07-28 against the everything server (ttlMs 60000):
// the second listing is answered from memory, with the same tools.
func TestClientCacheAndValidationOptions(t *testing.T) {
	bin := everythingServer(t)
	c := newClient(t, &mcp.ClientOptions{Cache: true, CacheMaxEntries: 8})
	ctx := within(t, 60*time.Second)
	if _, err := c.ConnectStdio(ctx, []string{bin}, nil); err != nil {
		t.Fatal(err)
	}
	a, err := c.ListTools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.ListTools(ctx)
	if err != nil || len(a) != len(b) {
		t.Fatalf("cached listing %d vs %d: %v", len(a), len(b), err)
	}
	if _, err := c.CallTool(ctx, &mcp.CallToolParams{Name: "test_echo", Arguments: map[string]string{"text": "x"}}); err != nil {
		t.Fatalf("a valid structuredContent: %v", err)
	}
	off := newClient(t, &mcp.ClientOptions{SkipOutputValidation: true})
	if _, err := off.ConnectStdio(ctx, []string{bin}, nil); err != nil {
		t.Fatal(err)
	}
}
