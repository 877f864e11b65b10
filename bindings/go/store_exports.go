package mcp

// The mcp_store_methods_t callbacks of SetStore (store.go). Each recovers a
// panic (it cannot unwind through the engine) and fails the call with it.

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>
*/
import "C"

import (
	"fmt"
	"log"
	"runtime/cgo"
	"runtime/debug"
	"unsafe"
)

func storeOf(ud unsafe.Pointer) Store {
	return cgo.Handle(uintptr(ud)).Value().(*storeReg).store
}

func goBytes(p *C.uint8_t, n C.size_t) []byte {
	if n == 0 {
		return []byte{}
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}

// cBytes is the C view of b for the duration of one call (nil when empty).
func cBytes(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// storeDone turns an operation's outcome (error or panic) into its status.
// v is recover()'s value, taken by the deferred function itself (recover
// works only there).
func storeDone(call *C.mcp_store_call_t, op string, err error, v interface{}, status *C.mcp_status) {
	if v != nil {
		log.Printf("mcp: the store's %s panicked: %v\n%s", op, v, debug.Stack())
		err = fmt.Errorf("the store's %s panicked: %v", op, v)
	}
	if err == nil {
		*status = C.MCP_OK
		return
	}
	msg := cString(err.Error())
	defer freeC(msg)
	C.mcp_store_call_error(call, msg, nil)
	*status = C.MCP_ERR_IO
}

//export goStoreGet
func goStoreGet(ud unsafe.Pointer, call *C.mcp_store_call_t, key *C.uint8_t, keyLen C.size_t) (status C.mcp_status) {
	var err error
	defer func() { storeDone(call, "Get", err, recover(), &status) }()
	value, ok, err := storeOf(ud).Get(goBytes(key, keyLen))
	if err == nil && ok {
		p, n := cBytes(value)
		C.mcp_store_call_row(call, nil, 0, p, n, nil)
	}
	return
}

//export goStorePut
func goStorePut(ud unsafe.Pointer, call *C.mcp_store_call_t, key *C.uint8_t, keyLen C.size_t, value *C.uint8_t,
	valueLen C.size_t, expiresAtMs C.int64_t) (status C.mcp_status) {
	var err error
	defer func() { storeDone(call, "Put", err, recover(), &status) }()
	err = storeOf(ud).Put(goBytes(key, keyLen), goBytes(value, valueLen), int64(expiresAtMs))
	return
}

//export goStoreRemove
func goStoreRemove(ud unsafe.Pointer, call *C.mcp_store_call_t, key *C.uint8_t, keyLen C.size_t) (status C.mcp_status) {
	var err error
	defer func() { storeDone(call, "Remove", err, recover(), &status) }()
	err = storeOf(ud).Remove(goBytes(key, keyLen))
	return
}

//export goStoreList
func goStoreList(ud unsafe.Pointer, call *C.mcp_store_call_t, prefix *C.uint8_t, prefixLen C.size_t) (status C.mcp_status) {
	var err error
	defer func() { storeDone(call, "List", err, recover(), &status) }()
	err = storeOf(ud).List(goBytes(prefix, prefixLen), func(k, v []byte) {
		kp, kn := cBytes(k)
		vp, vn := cBytes(v)
		C.mcp_store_call_row(call, kp, kn, vp, vn, nil)
	})
	return
}

//export goStoreCheck
func goStoreCheck(ud unsafe.Pointer, call *C.mcp_store_call_t) (status C.mcp_status) {
	var err error
	defer func() { storeDone(call, "Check", err, recover(), &status) }()
	if c, ok := storeOf(ud).(StoreChecker); ok {
		err = c.Check()
	}
	return
}
