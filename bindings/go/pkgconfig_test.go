package mcp_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// flagDir returns the directory of the first flag with that prefix (-I, -L).
func flagDir(flags, prefix string) string {
	for _, f := range strings.Fields(flags) {
		if strings.HasPrefix(f, prefix) && len(f) > len(prefix) {
			return f[len(prefix):]
		}
	}
	return ""
}

// TestPkgConfigBuild builds the fixture server with -tags libmcp_pkgconfig,
// its flags coming from a libmcp.pc made from the repository's template
// (cmake/libmcp.pc.in) for a prefix that holds this build's header and
// library, and checks that it serves.
func TestPkgConfigBuild(t *testing.T) {
	if _, err := exec.LookPath("pkg-config"); err != nil {
		t.Fatal("pkg-config is not installed (apt-get install pkg-config)")
	}
	inc, lib := flagDir(os.Getenv("CGO_CFLAGS"), "-I"), flagDir(os.Getenv("CGO_LDFLAGS"), "-L")
	if inc == "" || lib == "" {
		// Built through pkg-config already: ask it where libmcp lives.
		out, err := exec.Command("pkg-config", "--variable=includedir", "libmcp").Output()
		inc = strings.TrimSpace(string(out))
		out2, err2 := exec.Command("pkg-config", "--variable=libdir", "libmcp").Output()
		lib = strings.TrimSpace(string(out2))
		if err != nil || err2 != nil || inc == "" || lib == "" {
			t.Fatal("cannot tell where mcp.h and libmcp.so are: set CGO_CFLAGS=-I<dir> and CGO_LDFLAGS=-L<dir>, or install libmcp.pc")
		}
	}
	inc, _ = filepath.Abs(inc)
	lib, _ = filepath.Abs(lib)
	template, err := os.ReadFile("../../cmake/libmcp.pc.in")
	if err != nil {
		t.Fatalf("the pkg-config template: %v", err)
	}
	tmp := t.TempDir()
	prefix := filepath.Join(tmp, "prefix")
	os.MkdirAll(filepath.Join(prefix, "lib"), 0o755)
	if err := os.Symlink(inc, filepath.Join(prefix, "include")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"libmcp.so", "libmcp.so.1"} {
		if err := os.Symlink(filepath.Join(lib, name), filepath.Join(prefix, "lib", name)); err != nil {
			t.Fatal(err)
		}
	}
	pc := strings.NewReplacer("@CMAKE_INSTALL_PREFIX@", prefix, "@CMAKE_INSTALL_LIBDIR@", "lib",
		"@CMAKE_INSTALL_INCLUDEDIR@", "include", "@PROJECT_VERSION@", "0.0.0").Replace(string(template))
	pcDir := filepath.Join(tmp, "pkgconfig")
	os.MkdirAll(pcDir, 0o755)
	if err := os.WriteFile(filepath.Join(pcDir, "libmcp.pc"), []byte(pc), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(tmp, "testserver")
	build := exec.Command("go", "build", "-tags", "libmcp_pkgconfig", "-o", bin, "./internal/testserver")
	build.Env = append(os.Environ(), "PKG_CONFIG_PATH="+pcDir, "CGO_CFLAGS=", "CGO_LDFLAGS=-Wl,-rpath,"+filepath.Join(prefix, "lib"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags libmcp_pkgconfig: %v\n%s", err, out)
	}
	run := exec.Command(bin)
	run.Stdin = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}` + "\n")
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := runWithin(run, 20*time.Second); err != nil {
		t.Fatalf("the pkg-config build: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"go-fixture-server"`) {
		t.Fatalf("the pkg-config build answered %q", stdout.String())
	}
}

func runWithin(cmd *exec.Cmd, d time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not exit within %v", cmd.Path, d)
	}
}
