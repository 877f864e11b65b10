// Command testserver serves the Go binding's fixtures (internal/fixture) over
// stdio, or over HTTP with -http HOST:PORT (it then prints the endpoint URL
// on stdout). It stops on SIGINT or SIGTERM, or at end of input on stdio.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	mcp "github.com/libmcp/libmcp/bindings/go"
	"github.com/libmcp/libmcp/bindings/go/internal/fixture"
)

func main() {
	httpAddr := flag.String("http", "", "serve over HTTP on HOST:PORT (port 0: a free one) instead of stdio")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := fixture.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
	defer s.Close()
	if *httpAddr != "" {
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
