package mcp

// A state store the host supplies (mcp_server_set_store, library 1.7): the
// listener's 2025-era sessions, resumable stream events and tasks kept in
// the host's own key-value service, database or map.

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

// Go exports (store_exports.go); cgo emits them without const, hence the casts.
extern mcp_status goStoreGet(void *, mcp_store_call_t *, uint8_t *, size_t);
extern mcp_status goStorePut(void *, mcp_store_call_t *, uint8_t *, size_t, uint8_t *, size_t, int64_t);
extern mcp_status goStoreRemove(void *, mcp_store_call_t *, uint8_t *, size_t);
extern mcp_status goStoreList(void *, mcp_store_call_t *, uint8_t *, size_t);
extern mcp_status goStoreCheck(void *, mcp_store_call_t *);
extern void goFree(void *);
static mcp_status mcpgo_set_store(mcp_server_t *s, uintptr_t h, int check, char **err) {
	if (h == 0) return mcp_server_set_store(s, NULL, NULL, err);
	mcp_store_methods_t m = {
		sizeof(mcp_store_methods_t),
		(mcp_status (*)(void *, mcp_store_call_t *, const uint8_t *, size_t))goStoreGet,
		(mcp_status (*)(void *, mcp_store_call_t *, const uint8_t *, size_t, const uint8_t *, size_t, int64_t))goStorePut,
		(mcp_status (*)(void *, mcp_store_call_t *, const uint8_t *, size_t))goStoreRemove,
		(mcp_status (*)(void *, mcp_store_call_t *, const uint8_t *, size_t))goStoreList,
		check ? goStoreCheck : NULL,
		goFree,
	};
	return mcp_server_set_store(s, &m, (void *)h, err);
}
*/
import "C"

import (
	"bytes"
	"sync"
	"time"
)

// Store keeps the engine's records: opaque values under opaque keys, each
// with an expiry in milliseconds since 1970 (the store may drop a record
// after it; the engine never serves an expired one). Put must be durable
// when it returns: the engine sends a client an event only after its Put.
// Methods are called from engine threads, several at once: a Store must be
// safe for concurrent use, and quick (a call may hold up one of the
// listener's event loops). An error fails the operation; its text is what
// the client sees after "State store unavailable: " (HTTP 503, JSON-RPC
// -32603). See mcp_store_methods_t in mcp.h for the whole contract.
type Store interface {
	// Get returns the value under key; ok false when there is none.
	Get(key []byte) (value []byte, ok bool, err error)
	// Put inserts or replaces the record.
	Put(key, value []byte, expiresAtMs int64) error
	// Remove removes the record under key (none is not an error).
	Remove(key []byte) error
	// List calls row for every record whose key starts with prefix, in any order.
	List(prefix []byte, row func(key, value []byte)) error
}

// StoreChecker is a Store that can tell it cannot serve now (readiness:
// the admin listener's /readyz reports "store: <error>").
type StoreChecker interface {
	Check() error
}

type storeReg struct {
	server *Server
	store  Store
}

func (r *storeReg) owner() *Server { return r.server }

// SetStore keeps the HTTP listener's durable state in st: a new Server given
// the same Store serves the sessions of one that was closed (the same
// Mcp-Session-Id, Last-Event-ID replays, task results). One server at a time
// per Store. Set it before StartHTTP (not while listening); nil removes it.
// Needs library 1.7.
func (s *Server) SetStore(st Store) error {
	ptr, err := s.acquire("SetStore")
	if err != nil {
		return err
	}
	defer s.release()
	var cerr *C.char
	if st == nil {
		return statusError("SetStore", C.mcpgo_set_store(ptr, 0, 0, &cerr), cerr)
	}
	check := C.int(0)
	if _, ok := st.(StoreChecker); ok {
		check = 1
	}
	hd := newHandle(&storeReg{server: s, store: st})
	if err := statusError("SetStore", C.mcpgo_set_store(ptr, C.uintptr_t(hd), check, &cerr), cerr); err != nil {
		deleteHandle(hd)
		return err
	}
	return nil
}

// MapStore is a Store in a map behind a mutex: it outlives the Servers given
// it, not the process. The pattern for a Store of your own.
type MapStore struct {
	mu      sync.Mutex
	records map[string]mapRecord
}

type mapRecord struct {
	value   []byte
	expires int64
}

func nowMs() int64 { return time.Now().UnixNano() / int64(time.Millisecond) }

// Get implements Store.
func (m *MapStore) Get(key []byte) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[string(key)]
	if !ok || r.expires <= nowMs() {
		return nil, false, nil
	}
	return r.value, true, nil
}

// Put implements Store.
func (m *MapStore) Put(key, value []byte, expiresAtMs int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.records == nil {
		m.records = map[string]mapRecord{}
	}
	m.records[string(key)] = mapRecord{append([]byte(nil), value...), expiresAtMs}
	return nil
}

// Remove implements Store.
func (m *MapStore) Remove(key []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.records, string(key))
	return nil
}

// List implements Store.
func (m *MapStore) List(prefix []byte, row func(key, value []byte)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := nowMs()
	for k, r := range m.records {
		if r.expires > now && bytes.HasPrefix([]byte(k), prefix) {
			row([]byte(k), r.value)
		}
	}
	return nil
}

// Len is the number of records held (expired ones included until removed).
func (m *MapStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.records)
}
