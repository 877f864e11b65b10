//go:build libmcp_pkgconfig

package mcp

// With -tags libmcp_pkgconfig the compiler and linker flags come from
// pkg-config (libmcp.pc, installed with the library) instead of CGO_CFLAGS
// and CGO_LDFLAGS.

// #cgo pkg-config: libmcp
import "C"
