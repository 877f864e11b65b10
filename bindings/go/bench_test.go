package mcp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mcp "github.com/libmcp/libmcp/bindings/go"
	"github.com/libmcp/libmcp/bindings/go/internal/cbench"
)

// benchServer has two tools that give the same answer: c_ok (a C handler)
// and go_ok (a Go handler), and a C driver on an in-process session.
// workerThreads 0 is the default (Go handlers run on the engine's worker
// thread); 4 makes every Go handler run on a goroutine of its own.
func benchServer(tb testing.TB, workerThreads int) *cbench.Driver {
	s, err := mcp.NewServer("bench", "1.0.0", &mcp.ServerOptions{WorkerThreads: workerThreads})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := cbench.AddTool(s.Handle(), "c_ok"); err != nil {
		tb.Fatal(err)
	}
	err = s.AddTool(&mcp.Tool{Name: "go_ok", Description: "answers ok, in Go"},
		func(ctx context.Context, args json.RawMessage) (*mcp.ToolResult, error) {
			return mcp.TextResult("ok"), nil
		})
	if err != nil {
		tb.Fatal(err)
	}
	d, err := cbench.Open(s.Handle())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(d.Close)
	for _, tool := range []string{"c_ok", "go_ok"} {
		if _, err := d.Run(tool, 200); err != nil { // warm-up: threads, caches
			tb.Fatal(err)
		}
	}
	return d
}

// BenchmarkToolCall: one sequential tools/call round trip through the engine
// (mcp_session_receive in, the send callback out, driven from C), answered
// by a C handler and by a Go handler.
func BenchmarkToolCall(b *testing.B) {
	for _, tool := range []string{"c_ok", "go_ok"} {
		b.Run(tool, func(b *testing.B) {
			d := benchServer(b, 0)
			b.ResetTimer()
			if _, err := d.Run(tool, b.N); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkGoHandlerOverhead alternates batches of C and Go calls on one
// session, so that both see the same machine load, and reports the mean of
// each and the Go handler's extra cost per call (extra-us/call): the figure
// the binding promises to keep under 50 us. "worker" is the default (the
// handler runs on the engine's worker thread); "goroutine" is the path taken
// when three quarters of the worker threads are busy.
func BenchmarkGoHandlerOverhead(b *testing.B) {
	for _, mode := range []struct {
		name    string
		workers int
	}{{"worker", 0}, {"goroutine", 4}} {
		b.Run(mode.name, func(b *testing.B) { overhead(b, mode.workers) })
	}
}

func overhead(b *testing.B, workers int) {
	d := benchServer(b, workers)
	const batch = 50
	var cTotal, goTotal time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		n := batch
		if b.N-done < n {
			n = b.N - done
		}
		ct, err := d.Run("c_ok", n)
		if err != nil {
			b.Fatal(err)
		}
		gt, err := d.Run("go_ok", n)
		if err != nil {
			b.Fatal(err)
		}
		cTotal += ct
		goTotal += gt
	}
	cUS := cTotal.Seconds() * 1e6 / float64(b.N)
	goUS := goTotal.Seconds() * 1e6 / float64(b.N)
	b.ReportMetric(cUS, "c-us/call")
	b.ReportMetric(goUS, "go-us/call")
	b.ReportMetric(goUS-cUS, "extra-us/call")
}

// The registrations BenchmarkQuickToolCall and BenchmarkHTTPToolCall
// compare, all answering one text block "ok": a C callback on a worker
// thread and with MCP_TOOL_INLINE (on the thread that read the request), a
// Go handler by default (on the worker thread) and with Quick (on the thread
// that read the request).
var toolModes = []struct {
	name string
	add  func(s *mcp.Server, name string) error
}{
	{"c_worker", func(s *mcp.Server, name string) error { return cbench.AddTool(s.Handle(), name) }},
	{"c_inline", func(s *mcp.Server, name string) error { return cbench.AddInlineTool(s.Handle(), name) }},
	{"go_worker", func(s *mcp.Server, name string) error { return addGoOK(s, name) }},
	{"go_quick", func(s *mcp.Server, name string) error { return addGoOK(s, name, mcp.Quick()) }},
}

func addGoOK(s *mcp.Server, name string, opts ...mcp.ToolOption) error {
	return s.AddTool(&mcp.Tool{Name: name, Description: "answers ok, in Go"},
		func(ctx context.Context, args json.RawMessage) (*mcp.ToolResult, error) {
			return mcp.TextResult("ok"), nil
		}, opts...)
}

// BenchmarkQuickToolCall: sequential tools/call round trips through an
// in-process session, sent from a C thread the Go runtime did not create (as
// an engine I/O thread is), for each registration of toolModes. Batches of
// the four alternate so that all see the same machine load; each reports its
// mean (<mode>-us/call). What it isolates is the thread hand-off: with a
// worker, the engine wakes a worker thread and the driver's thread sleeps
// until the answer; with MCP_TOOL_INLINE (c_inline, go_quick) the callback
// runs on the driver's thread before mcp_session_receive returns.
func BenchmarkQuickToolCall(b *testing.B) {
	s, err := mcp.NewServer("bench", "1.0.0", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, m := range toolModes {
		if err := m.add(s, m.name); err != nil {
			b.Fatal(err)
		}
	}
	d, err := cbench.Open(s.Handle())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	for _, m := range toolModes {
		if _, err := d.RunOnThread(m.name, 200); err != nil { // warm-up
			b.Fatal(err)
		}
	}
	const batch = 50
	totals := make([]time.Duration, len(toolModes))
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		n := batch
		if b.N-done < n {
			n = b.N - done
		}
		for i, m := range toolModes {
			t, err := d.RunOnThread(m.name, n)
			if err != nil {
				b.Fatal(err)
			}
			totals[i] += t
		}
	}
	for i, m := range toolModes {
		b.ReportMetric(totals[i].Seconds()*1e6/float64(b.N), m.name+"-us/call")
	}
}

// BenchmarkHTTPToolCall: tools/call over Streamable HTTP (JSON responses,
// keep-alive) from bench/http_driver.c, a C load generator in a process of
// its own, at 1, 16 and 64 sessions (one call in flight each), for each
// registration of toolModes, each on a server of its own in this process.
// One op is a round in which every registration is driven for 200 ms, so
// they alternate under the same load. Reported per registration: calls/s and
// the server's CPU per call (this process's user+system time over the
// measured windows: the engine, its I/O and worker threads, and Go).
func BenchmarkHTTPToolCall(b *testing.B) {
	driver := buildHTTPDriver(b)
	ports := make([]int, len(toolModes))
	for i, m := range toolModes {
		s, err := mcp.NewServer("bench", "1.0.0", nil)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if err := m.add(s, "test_echo"); err != nil { // the driver's tool
			b.Fatal(err)
		}
		if ports[i], err = s.StartHTTP("127.0.0.1:0", &mcp.HTTPOptions{JSONResponse: true}); err != nil {
			b.Fatal(err)
		}
	}
	for _, conns := range []int{1, 16, 64} {
		conns := conns
		b.Run(fmt.Sprintf("sessions=%d", conns), func(b *testing.B) {
			calls := make([]float64, len(toolModes))
			secs := make([]float64, len(toolModes))
			cpu := make([]float64, len(toolModes))
			for i := range toolModes { // warm-up: threads, connections, caches
				if _, err := driveHTTP(driver, ports[i], conns, 0.2); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				for i := range toolModes {
					r, err := driveHTTP(driver, ports[i], conns, 0.2)
					if err != nil {
						b.Fatal(err)
					}
					calls[i] += r.Calls
					secs[i] += r.Seconds
					cpu[i] += r.cpu
				}
			}
			b.StopTimer()
			for i, m := range toolModes {
				b.ReportMetric(calls[i]/secs[i], m.name+"-calls/s")
				b.ReportMetric(cpu[i]*1e6/calls[i], m.name+"-cpu-us/call")
			}
		})
	}
}

// buildHTTPDriver compiles bench/http_driver.c with the C compiler.
func buildHTTPDriver(b *testing.B) string {
	src, err := filepath.Abs(filepath.Join("..", "..", "bench", "http_driver.c"))
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "http_driver")
	if msg, err := exec.Command("cc", "-O2", "-o", out, src).CombinedOutput(); err != nil {
		b.Skipf("cannot build %s: %v\n%s", src, err, msg)
	}
	return out
}

type httpRun struct {
	Calls   float64 `json:"calls"`
	Seconds float64 `json:"seconds"`
	Errors  float64 `json:"errors"`
	cpu     float64 // this process's CPU seconds between START and END
}

// driveHTTP runs the driver against port for seconds after a 0.1 s warm-up
// and returns its counts and this process's CPU time over the window.
func driveHTTP(driver string, port, conns int, seconds float64) (*httpRun, error) {
	cmd := exec.Command(driver, "--port", fmt.Sprint(port), "--conns", fmt.Sprint(conns),
		"--warmup", "0.1", "--seconds", fmt.Sprint(seconds))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer cmd.Wait()
	var r httpRun
	var cpuStart float64
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		switch line := sc.Text(); {
		case line == "START":
			cpuStart = processCPU()
		case line == "END":
			r.cpu = processCPU() - cpuStart
		case strings.HasPrefix(line, "{"):
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return nil, err
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("http_driver: %v", err)
	}
	if r.Calls == 0 || r.Errors > 0 {
		return nil, fmt.Errorf("http_driver: %v calls, %v errors", r.Calls, r.Errors)
	}
	return &r, nil
}

// processCPU is this process's user+system CPU time in seconds.
func processCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
