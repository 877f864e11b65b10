package mcp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mcp "github.com/libmcp/libmcp/bindings/go"
)

// thirdParty is a program of the venv that holds the PyPI servers
// (tests/requirements-3p.txt; ctest sets MCP_THIRD_PARTY_VENV).
func thirdParty(t *testing.T, exe string) string {
	venv := os.Getenv("MCP_THIRD_PARTY_VENV")
	if venv == "" {
		repo, err := filepath.Abs("../..")
		if err != nil {
			t.Fatal(err)
		}
		venv = filepath.Join(repo, ".venv-3p")
	}
	path := filepath.Join(venv, "bin", exe)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing (python3 -m venv %s && %s/bin/pip install -r tests/requirements-3p.txt): %v", path, venv, venv, err)
	}
	return path
}

// Real servers from PyPI over stdio, in auto mode and in each era asked for.
func TestClientReachesPyPIServers(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	servers := []struct {
		exe  string
		args []string
		tool string
		in   map[string]interface{}
		want string
	}{
		{"mcp-server-time", []string{"--local-timezone", "UTC"}, "get_current_time",
			map[string]interface{}{"timezone": "UTC"}, `"timezone": "UTC"`},
		{"mcp-server-git", []string{"--repository", repo}, "git_status",
			map[string]interface{}{"repo_path": repo}, "branch"},
	}
	for _, s := range servers {
		for _, era := range []string{"auto", "legacy", "2026-07-28"} {
			s, era := s, era
			t.Run(s.exe+"/"+era, func(t *testing.T) {
				c, err := mcp.NewClient("go-pypi", "1", &mcp.ClientOptions{Era: era})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				argv := append([]string{thirdParty(t, s.exe)}, s.args...)
				if _, err := c.ConnectStdio(within(t, 60*time.Second), argv, nil); err != nil {
					t.Fatal(err)
				}
				e, err := c.Era()
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case era == "legacy" && e.Era != "legacy",
					era == "2026-07-28" && (e.Era != "modern" || e.ProtocolVersion != "2026-07-28"),
					e.Era != "legacy" && e.Era != "modern":
					t.Fatalf("asked for %s, got %+v", era, e)
				}
				tools, err := c.ListTools(within(t, 30*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, tool := range tools {
					found = found || tool.Name == s.tool
				}
				if !found {
					t.Fatalf("%s not among %d tools", s.tool, len(tools))
				}
				r, err := c.CallTool(within(t, 30*time.Second), &mcp.CallToolParams{Name: s.tool, Arguments: s.in})
				if err != nil {
					t.Fatal(err)
				}
				text, ok := r.Content[0].(*mcp.TextContent)
				if !ok || r.IsError {
					t.Fatalf("result %+v", r)
				}
				got := text.Text
				if s.exe == "mcp-server-git" {
					got = strings.ToLower(got)
				}
				if !strings.Contains(got, s.want) {
					t.Fatalf("%s answered %q", s.tool, text.Text)
				}
			})
		}
	}
}
