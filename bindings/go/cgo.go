package mcp

// This file holds the link flags, the ABI check and string helpers. Each file
// that hands a Go trampoline (exports.go) to the engine declares it and
// defines a small static C helper in its own preamble: a preamble's functions
// are visible only to its own file, and a file with //export may only declare.

/*
#cgo LDFLAGS: -lmcp
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

*/
import "C"

import (
	"fmt"
	"unsafe"
)

// ABIVersionMajor is the major ABI version of the mcp.h this package was
// compiled against; the loaded library must have the same.
const ABIVersionMajor = int(C.MCP_ABI_VERSION_MAJOR)

// ProtocolVersionLatest is the newest MCP revision the engine speaks.
const ProtocolVersionLatest = C.MCP_PROTOCOL_VERSION_LATEST

func init() {
	if err := checkABI(uint32(C.mcp_abi_version()), C.GoString(C.mcp_version())); err != nil {
		// The library would be called with a layout it does not have: refuse to
		// run at all, as the dynamic loader refuses a wrong SONAME.
		panic(err)
	}
}

// checkABI compares the loaded library's ABI version with this package's.
func checkABI(loaded uint32, release string) error {
	if int(loaded>>16) != ABIVersionMajor {
		return fmt.Errorf("mcp: libmcp ABI mismatch: the loaded library (release %s) has ABI %d.%d, "+
			"this Go package was built for ABI major %d; rebuild against the matching mcp.h "+
			"or load the matching libmcp.so.%d", release, loaded>>16, loaded&0xffff,
			ABIVersionMajor, ABIVersionMajor)
	}
	return nil
}

// ABIVersion returns the ABI version of the loaded library as major, minor.
func ABIVersion() (major, minor int) {
	v := uint32(C.mcp_abi_version())
	return int(v >> 16), int(v & 0xffff)
}

// Version returns the release of the loaded library (mcp_version()).
func Version() string { return C.GoString(C.mcp_version()) }

// cString converts s to a C string the caller frees with C.free.
func cString(s string) *C.char { return C.CString(s) }

// cStringOrNil is cString, with "" meaning NULL.
func cStringOrNil(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func freeC(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// takeString copies a string libmcp allocated and releases it.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.mcp_string_free(p)
	return s
}
