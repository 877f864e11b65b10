package mcp_test

import (
	"strings"
	"testing"
	"time"

	mcp "github.com/libmcp/libmcp/bindings/go"
)

// Tasks: the everything server runs its task tools as tasks for a client
// that declares the extension; CallTool follows the task to its result.
func TestClientFollowsTasks(t *testing.T) {
	bin := everythingServer(t)
	c := newClient(t, &mcp.ClientOptions{Era: "2026-07-28", Tasks: true})
	ctx := within(t, 60*time.Second)
	if _, err := c.ConnectStdio(ctx, []string{bin}, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := c.CallTool(ctx, &mcp.CallToolParams{Name: "slow_compute", Arguments: map[string]interface{}{"seconds": 0.2, "label": "go"}})
	if err != nil || res.IsError || len(res.Content) == 0 || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("slow_compute as a task: %+v %v", res, err)
	}
	if text := res.Content[0].(*mcp.TextContent).Text; !strings.Contains(text, "go") {
		t.Errorf("slow_compute text: %q", text)
	}
	res, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "failing_job"})
	if err != nil || !res.IsError {
		t.Fatalf("failing_job as a task: %+v %v", res, err)
	}
}
