package mcp_test

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// raceEnabled is set by race_test.go under -race, so the helper programs the
// tests build are race-checked too.
var raceEnabled bool

// pythonPath is the Python with the official SDK (mcp==2.3.0) and pytest:
// $MCP_PYTHON, else the repository's .venv.
func pythonPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("MCP_PYTHON")
	if p == "" {
		p, _ = filepath.Abs("../../.venv/bin/python")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no Python for the interop tests at %s (set MCP_PYTHON, or create the venv: "+
			"python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt): %v", p, err)
	}
	return p
}

var (
	buildOnce sync.Once
	binDir    string // removed by TestMain
	builtBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildTestServer builds internal/testserver once (with -race when the tests
// run with it) and returns its path.
func buildTestServer(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "mcp-go-test"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(binDir, "testserver")
		args := []string{"build", "-o", builtBin}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./internal/testserver")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// The fixture server on stdio answers, and exits 0 at end of input with
// nothing but protocol on stdout; over HTTP it exits 0 on SIGTERM.
func TestTestServerExits(t *testing.T) {
	bin := buildTestServer(t)
	cmd := exec.Command(bin)
	cmd.Stdin = strings.NewReader(strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"test_echo","arguments":{"text":"bye"}}}`,
	}, "\n") + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := runWithin(cmd, 20*time.Second); err != nil {
		t.Fatalf("stdio server at EOF: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"id":1`) || !strings.Contains(lines[1], `"text":"bye"`) {
		t.Fatalf("stdout: %q", stdout.String())
	}

	cmd = exec.Command(bin, "-http", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	url, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(url, "http://127.0.0.1:") {
		cmd.Process.Kill()
		t.Fatalf("-http printed %q (%v)", url, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("HTTP server after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("HTTP server did not exit within 20 s of SIGTERM")
	}
}

type junitCase struct {
	Name    string `xml:"name,attr"`
	Failure *struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Error *struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	} `xml:"error"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
	SystemOut string `xml:"system-out"`
}

// TestPythonSDKClient drives the Go fixture server (internal/testserver) with
// the official Python SDK client over stdio, Streamable HTTP (the engine's
// listener) and Server.Handler mounted in a net/http mux
// (testdata/test_go_server.py); each pytest case is a subtest here.
func TestPythonSDKClient(t *testing.T) {
	python := pythonPath(t)
	server := buildTestServer(t)
	report := filepath.Join(t.TempDir(), "junit.xml")
	cmd := exec.Command(python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
		"-o", "junit_logging=system-out", "--junitxml", report, "testdata/test_go_server.py")
	cmd.Env = append(os.Environ(), "GO_TESTSERVER="+server)
	start := time.Now()
	out, runErr := cmd.CombinedOutput()
	t.Logf("pytest ran %.1f s", time.Since(start).Seconds())
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("pytest wrote no report (%v): %v\n%s", runErr, err, out)
	}
	var suites struct {
		Suites []struct {
			Cases []junitCase `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &suites); err != nil {
		t.Fatalf("pytest report: %v", err)
	}
	n := 0
	for _, s := range suites.Suites {
		for _, c := range s.Cases {
			c := c
			n++
			t.Run(c.Name, func(t *testing.T) {
				switch {
				case c.Failure != nil:
					t.Errorf("%s\n%s\n%s", c.Failure.Message, c.Failure.Text, c.SystemOut)
				case c.Error != nil:
					t.Errorf("%s\n%s\n%s", c.Error.Message, c.Error.Text, c.SystemOut)
				case c.Skipped != nil:
					t.Errorf("skipped (nothing may skip): %s", c.Skipped.Message)
				}
			})
		}
	}
	if n < 45 {
		t.Errorf("pytest ran %d cases, want 14 tests x 3 transports (stdio, the listener, Server.Handler in a mux) + 3 handler cases\n%s", n, out)
	}
	if runErr != nil && !t.Failed() {
		t.Errorf("pytest failed outside the test cases: %v\n%s", runErr, out)
	}
}
