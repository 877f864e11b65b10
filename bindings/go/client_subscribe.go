package mcp

// Client.Subscribe: notifications chosen by a filter, in either era
// (mcp_client_subscribe, ABI 1.3).

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

// Go exports (exports.go); cgo emits them without const, hence the casts.
extern void goSubscription(void *, char *, char *);
extern void goFree(void *);

static mcp_status mcpgo_client_subscribe(mcp_client_t *c, const char *filter, uintptr_t h, int64_t *out_id,
                                         char **out_ack, char **err) {
	return mcp_client_subscribe(c, filter, (mcp_notification_fn)goSubscription, (void *)h, goFree, out_id, out_ack,
	                            err);
}
*/
import "C"

import (
	"encoding/json"
	"unsafe"
)

// SubscriptionFilter says which notifications a subscription wants
// (subscriptions/listen's "notifications" at 2026-07-28).
type SubscriptionFilter struct {
	ToolsListChanged      bool     `json:"toolsListChanged,omitempty"`
	PromptsListChanged    bool     `json:"promptsListChanged,omitempty"`
	ResourcesListChanged  bool     `json:"resourcesListChanged,omitempty"`
	ResourceSubscriptions []string `json:"resourceSubscriptions,omitempty"`
}

// Subscription is one open Subscribe: its ID, what the server honoured, and
// Done, closed once it has ended (Reason then says why).
type Subscription struct {
	ID      int64
	Honored SubscriptionFilter
	client  *Client
	state   *subscriptionState
}

type subscriptionState struct {
	fn     func(method string, params json.RawMessage)
	done   chan struct{}
	reason string
}

// Done is closed when the subscription has ended: Unsubscribe, the server
// ended it, or the connection closed.
func (s *Subscription) Done() <-chan struct{} { return s.state.done }

// Reason says why the subscription ended ("" before Done is closed).
func (s *Subscription) Reason() string {
	select {
	case <-s.state.done:
		return s.state.reason
	default:
		return ""
	}
}

// Unsubscribe ends the subscription (cancelling subscriptions/listen, or
// resources/unsubscribe at the 2025 era). Done is closed soon after.
func (s *Subscription) Unsubscribe() error {
	ptr, err := s.client.acquire("Unsubscribe")
	if err != nil {
		return err
	}
	defer s.client.g.exit()
	var cerr *C.char
	return statusError("Unsubscribe", C.mcp_client_unsubscribe(ptr, C.int64_t(s.ID), &cerr), cerr)
}

// Subscribe opens a subscription and waits until the server acknowledges it
// (up to the client's request timeout). fn gets the notifications the filter
// admits, one at a time in the order the server sent them, on engine
// threads; at 2026-07-28 they go to fn instead of
// ClientOptions.NotificationHandler. The same call works at the 2025 era
// (resources/subscribe per URI). ABI 1.3.
func (c *Client) Subscribe(filter SubscriptionFilter, fn func(method string, params json.RawMessage)) (*Subscription, error) {
	if fn == nil {
		return nil, &Error{Op: "Subscribe", Status: ErrInvalidArg, Message: "fn must not be nil"}
	}
	text, err := json.Marshal(filter)
	if err != nil {
		return nil, &Error{Op: "Subscribe", Status: ErrInvalidJSON, Message: err.Error()}
	}
	ptr, err := c.acquire("Subscribe")
	if err != nil {
		return nil, err
	}
	defer c.g.exit()
	st := &subscriptionState{fn: fn, done: make(chan struct{})}
	h := newHandle(st)
	cfilter := C.CString(string(text))
	defer C.free(unsafe.Pointer(cfilter))
	var id C.int64_t
	var ack, cerr *C.char
	if err := statusError("Subscribe", C.mcpgo_client_subscribe(ptr, cfilter, C.uintptr_t(h), &id, &ack, &cerr), cerr); err != nil {
		deleteHandle(h)
		return nil, err
	}
	sub := &Subscription{ID: int64(id), client: c, state: st}
	if err := json.Unmarshal([]byte(takeString(ack)), &sub.Honored); err != nil {
		return nil, &Error{Op: "Subscribe", Status: ErrPeer, Message: err.Error()}
	}
	return sub, nil
}
