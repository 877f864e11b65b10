package mcp_test

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// buildTestServer builds internal/testserver (with -race when the tests run
// with it) and returns its path.
func buildTestServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "testserver")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./internal/testserver")
	cmd := exec.Command("go", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
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
// the official Python SDK client over stdio and Streamable HTTP
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
	if n < 28 {
		t.Errorf("pytest ran %d cases, want 14 tests x 2 transports\n%s", n, out)
	}
	if runErr != nil && !t.Failed() {
		t.Errorf("pytest failed outside the test cases: %v\n%s", runErr, out)
	}
}
