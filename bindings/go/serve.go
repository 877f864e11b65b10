package mcp

/*
#include <stdlib.h>
#include <mcp.h>
*/
import "C"

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"sync"
	"time"
)

// StdioOptions tune ServeStdioWith and ServeFiles. Zero values mean the
// engine's defaults.
type StdioOptions struct {
	// MaxMessageBytes is the longest line accepted (>= 1024; default 16 MiB);
	// a longer line is answered with a -32600 error and skipped.
	MaxMessageBytes int
	// DrainTimeout is how long to wait at end of input (or when ctx is done)
	// for the answers of calls in flight (default 30 s; negative: do not wait).
	DrainTimeout time.Duration
	// KeepStdout leaves file descriptor 1 alone while serving stdio. By
	// default it points at stderr meanwhile, so stray prints (fmt.Println)
	// cannot corrupt the protocol stream.
	KeepStdout bool
}

func (o *StdioOptions) json(stdio bool) string {
	if o == nil {
		return "{}"
	}
	w := map[string]interface{}{}
	if o.MaxMessageBytes != 0 {
		w["max_message_bytes"] = o.MaxMessageBytes
	}
	if o.DrainTimeout > 0 {
		w["drain_timeout_ms"] = o.DrainTimeout.Milliseconds()
	} else if o.DrainTimeout < 0 {
		w["drain_timeout_ms"] = 0
	}
	if stdio && o.KeepStdout {
		w["redirect_stdout"] = false
	}
	b, _ := json.Marshal(w)
	return string(b)
}

// ServeStdio serves one client over the process's stdin and stdout with the
// default options. It returns nil at end of input, ctx.Err() once ctx is done
// (after the calls in flight were answered), or an error.
func (s *Server) ServeStdio(ctx context.Context) error {
	return s.ServeStdioWith(ctx, nil)
}

// ServeStdioWith is ServeStdio with options (nil for the defaults).
func (s *Server) ServeStdioWith(ctx context.Context, opts *StdioOptions) error {
	copts := cString(opts.json(true))
	defer freeC(copts)
	return s.serve(ctx, "ServeStdio", func(ptr *C.mcp_server_t, cerr **C.char) C.mcp_status {
		return C.mcp_server_serve_stdio(ptr, copts, cerr)
	})
}

// ServeFiles serves one client that writes to in and reads from out (pipes,
// socketpairs), as ServeStdio does on stdin and stdout. Neither file is
// closed; both are put in blocking mode.
func (s *Server) ServeFiles(ctx context.Context, in, out *os.File, opts *StdioOptions) error {
	if in == nil || out == nil {
		return &Error{Op: "ServeFiles", Status: ErrInvalidArg, Message: "nil file"}
	}
	copts := cString(opts.json(false))
	defer freeC(copts)
	inFd, outFd := in.Fd(), out.Fd()
	err := s.serve(ctx, "ServeFiles", func(ptr *C.mcp_server_t, cerr **C.char) C.mcp_status {
		return C.mcp_server_serve_fds(ptr, C.int(inFd), C.int(outFd), copts, cerr)
	})
	runtime.KeepAlive(in)
	runtime.KeepAlive(out)
	return err
}

// serve runs a blocking serve function; a watcher makes it return (through
// mcp_server_stop) when ctx is done or the server closes.
func (s *Server) serve(ctx context.Context, op string, run func(*C.mcp_server_t, **C.char) C.mcp_status) error {
	ptr, err := s.acquire(op)
	if err != nil {
		return err
	}
	defer s.release() // after the watcher has finished with ptr
	returned := make(chan struct{})
	var watcher sync.WaitGroup
	watcher.Add(1)
	go func() {
		defer watcher.Done()
		select {
		case <-ctx.Done():
		case <-s.done:
		case <-returned:
			return
		}
		// A stop that lands before serving has begun is a no-op: repeat it
		// until the serve function returns.
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			C.mcp_server_stop(ptr)
			select {
			case <-returned:
				return
			case <-tick.C:
			}
		}
	}()
	var cerr *C.char
	st := run(ptr, &cerr)
	close(returned)
	watcher.Wait()
	if err := statusError(op, st, cerr); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.done:
		return errServerClosed(op)
	default:
		return nil
	}
}
