package mcp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// pipeClient serves s with ServeFiles on two pipes and speaks lines to it.
type pipeClient struct {
	toServer   *os.File
	fromServer *bufio.Reader
	done       chan error
}

func servePipes(t *testing.T, ctx context.Context, s *Server, opts *StdioOptions) *pipeClient {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inR.Close(); inW.Close(); outR.Close(); outW.Close() })
	p := &pipeClient{toServer: inW, fromServer: bufio.NewReader(outR), done: make(chan error, 1)}
	go func() { p.done <- s.ServeFiles(ctx, inR, outW, opts) }()
	return p
}

func (p *pipeClient) send(t *testing.T, line string) {
	t.Helper()
	if _, err := p.toServer.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

func (p *pipeClient) recv(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	type res struct {
		line string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		l, err := p.fromServer.ReadString('\n')
		ch <- res{l, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("reading the server: %v", r.err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(r.line), &m); err != nil {
			t.Fatalf("server wrote %q: %v", r.line, err)
		}
		return m
	case <-time.After(testWait):
		t.Fatal("no line from the server")
		return nil
	}
}

func (p *pipeClient) result(t *testing.T) error {
	t.Helper()
	select {
	case e := <-p.done:
		return e
	case <-time.After(testWait):
		t.Fatal("the serve function did not return")
		return nil
	}
}

const initLine = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`

func TestServeFilesUntilEOF(t *testing.T) {
	s := newTestServer(t)
	release := make(chan struct{})
	s.AddTool(&Tool{Name: "slow"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		<-release
		return TextResult("drained"), nil
	})
	p := servePipes(t, context.Background(), s, nil)
	p.send(t, initLine)
	if m := p.recv(t); string(m["id"]) != "1" || m["result"] == nil {
		t.Fatalf("initialize: %v", m)
	}
	p.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	p.send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow"}}`)
	time.Sleep(50 * time.Millisecond)
	p.toServer.Close() // EOF with a call in flight: its answer is still written
	time.Sleep(50 * time.Millisecond)
	close(release)
	m := p.recv(t)
	if string(m["id"]) != "2" || !strings.Contains(string(m["result"]), "drained") {
		t.Fatalf("the call in flight at EOF answered %v", m)
	}
	if err := p.result(t); err != nil {
		t.Fatalf("ServeFiles at EOF: %v, want nil", err)
	}
}

func TestServeFilesStopsWhenContextDone(t *testing.T) {
	s := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	p := servePipes(t, ctx, s, &StdioOptions{DrainTimeout: time.Second})
	p.send(t, initLine)
	p.recv(t)
	cancel()
	if err := p.result(t); err != context.Canceled {
		t.Fatalf("ServeFiles after cancel: %v, want context.Canceled", err)
	}
	// A context already done stops a serve that has not begun reading yet.
	p = servePipes(t, ctx, s, nil)
	if err := p.result(t); err != context.Canceled {
		t.Fatalf("ServeFiles with a done context: %v, want context.Canceled", err)
	}
}

func TestServeFilesStopsWhenServerCloses(t *testing.T) {
	s, err := NewServer("s", "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := servePipes(t, context.Background(), s, nil)
	p.send(t, initLine)
	p.recv(t)
	s.Close()
	if err := p.result(t); !errors.Is(err, ErrClosed) {
		t.Fatalf("ServeFiles after Close: %v, want ErrClosed", err)
	}
}

func TestServeFilesOptions(t *testing.T) {
	s := newTestServer(t)
	p := servePipes(t, context.Background(), s, &StdioOptions{MaxMessageBytes: 2048})
	p.send(t, `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"`+strings.Repeat("x", 4096)+`"}}`)
	m := p.recv(t)
	if !strings.Contains(string(m["error"]), "-32600") {
		t.Fatalf("a line over MaxMessageBytes answered %v", m)
	}
	p.toServer.Close()
	if err := p.result(t); err != nil {
		t.Fatal(err)
	}
	if err := s.ServeFiles(context.Background(), nil, os.Stdout, nil); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("nil file: %v", err)
	}
	err := s.ServeFiles(context.Background(), os.Stdin, os.Stdout, &StdioOptions{MaxMessageBytes: 10})
	if !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("MaxMessageBytes 10: %v, want ErrInvalidArg", err)
	}
}

func TestServeFilesTwiceIsRefused(t *testing.T) {
	s := newTestServer(t)
	p := servePipes(t, context.Background(), s, nil)
	p.send(t, initLine)
	p.recv(t)
	inR, inW, _ := os.Pipe()
	defer inR.Close()
	defer inW.Close()
	if err := s.ServeFiles(context.Background(), inR, os.Stderr, nil); !errors.Is(err, ErrState) {
		t.Fatalf("a second serve: %v, want ErrState", err)
	}
	p.toServer.Close()
	p.result(t)
}
