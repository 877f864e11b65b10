// Command testserver serves the Go binding's fixtures (internal/fixture) over
// stdio, or over HTTP with -http HOST:PORT (the engine's own listener), or
// with -handler HOST:PORT mounted at /mcp of a net/http mux of its own
// (Server.Handler); it then prints the endpoint URL on stdout. It stops on
// SIGINT or SIGTERM, or at end of input on stdio.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	mcp "github.com/libmcp/libmcp/bindings/go"
	"github.com/libmcp/libmcp/bindings/go/internal/fixture"
)

func main() {
	httpAddr := flag.String("http", "", "serve over HTTP on HOST:PORT (port 0: a free one) instead of stdio")
	handlerAddr := flag.String("handler", "", "serve Server.Handler in a net/http mux on HOST:PORT instead of stdio")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := fixture.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
	defer s.Close()
	if *handlerAddr != "" {
		err = serveMux(ctx, s, *handlerAddr)
	} else if *httpAddr != "" {
		err = s.ServeHTTP(ctx, *httpAddr, &mcp.HTTPOptions{OnListen: func(port int) {
			fmt.Printf("http://127.0.0.1:%d/mcp\n", port)
		}})
	} else {
		err = s.ServeStdio(ctx)
	}
	if err != nil && err != context.Canceled {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
}

// serveMux mounts the MCP endpoint at /mcp of a mux that also serves a page
// of its own at /, as an application with its own web server would.
func serveMux(ctx context.Context, s *mcp.Server, addr string) error {
	h, err := s.Handler(nil)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", h)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "the host's own page") })
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("http://127.0.0.1:%d/mcp\n", ln.Addr().(*net.TCPAddr).Port)
	server := &http.Server{Handler: mux}
	go server.Serve(ln)
	<-ctx.Done()
	// The endpoint first: its streams end, so the server's shutdown finds idle connections.
	closeErr := h.Close(5 * time.Second)
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdown); err != nil {
		return err
	}
	if closeErr != nil {
		return closeErr
	}
	return ctx.Err()
}
