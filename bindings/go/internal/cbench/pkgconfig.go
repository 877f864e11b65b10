//go:build libmcp_pkgconfig

package cbench

// #cgo pkg-config: libmcp
import "C"
