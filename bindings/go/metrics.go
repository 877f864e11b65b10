package mcp

/*
#include <stdlib.h>
#include <mcp.h>
*/
import "C"

// Metrics returns the server's metrics in the Prometheus text format
// (mcp_server_metrics, library 1.3): request counts by method, era and
// outcome, latency histograms, calls in flight, the worker pool, connections,
// sessions, streams, bytes, refusals and the process figures. It is what the
// admin listener (HTTPOptions.Admin) serves at /metrics, for servers on stdio
// or behind a Go net/http server of the host's own.
func (s *Server) Metrics() (string, error) {
	ptr, err := s.acquire("Metrics")
	if err != nil {
		return "", err
	}
	defer s.release()
	var text, cerr *C.char
	if err := statusError("Metrics", C.mcp_server_metrics(ptr, &text, &cerr), cerr); err != nil {
		return "", err
	}
	return takeString(text), nil
}
