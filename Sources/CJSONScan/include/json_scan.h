/*
 * The byte scans at the heart of JSON strings, in C because Swift does not
 * lower them to vector instructions (a SIMD16<UInt8> version in Swift ran 10x
 * the instructions of the 8-byte word loop it was to replace; bench:
 * bench/payload_bench.py, the 10 MB test_echo). Internal to the engine: the
 * symbols are hidden (and do not match the version script's mcp_* glob).
 */
#ifndef MCP_JSON_SCAN_H
#define MCP_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* The index of the first byte in p[from..<count] that a JSON string must
 * escape (a quote, a backslash, a byte below 0x20), or count. */
__attribute__((visibility("hidden")))
size_t json_scan_escaped(const uint8_t *p, size_t from, size_t count);

/* The index of the first byte in p[from..<count] that ends a plain run of a
 * JSON string's bytes (a quote, a backslash, a byte below 0x20), or count.
 * Sets *non_ascii to 1 when the run holds a byte of 0x80 or more (leaves it
 * alone otherwise). */
__attribute__((visibility("hidden")))
size_t json_scan_plain(const uint8_t *p, size_t from, size_t count, int *non_ascii);

#endif
