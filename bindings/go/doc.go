// Package mcp runs Model Context Protocol servers and clients in Go on
// libmcp, the project's engine, through its C ABI (mcp.h). The engine does
// the JSON-RPC framing, the lifecycle and version negotiation, pagination,
// validation and the transports (stdio, Streamable HTTP, legacy HTTP+SSE,
// WebSocket); this package gives it Go handlers and Go calls.
//
// A server registers tools, resources, resource templates and prompts, then
// serves:
//
//	s, err := mcp.NewServer("weather", "1.0.0", nil)
//	...
//	type Args struct {
//		City string `json:"city" jsonschema:"the city to forecast"`
//		Days int    `json:"days,omitempty"`
//	}
//	mcp.AddTypedTool(s, &mcp.Tool{Name: "forecast"}, func(ctx context.Context, in Args) (*mcp.ToolResult, error) {
//		return mcp.TextResult("sunny in " + in.City), nil
//	})
//	err = s.ServeStdio(ctx) // or s.ServeHTTP(ctx, "127.0.0.1:8080", nil)
//
// # Handlers and their context
//
// Every handler gets a context that is cancelled when the client cancels the
// request (notifications/cancelled), when its session ends or when the
// handler returns. CallFromContext(ctx) gives the Call, through which the
// handler reports progress, logs to the client and asks the client for
// sampling (CreateMessage), elicitation (Elicit) and roots (ListRoots); those
// requests block until the answer, ctx's end or the engine's timeout.
//
// The same handler serves a 2026-07-28 client, which cannot be sent requests
// (multi round-trip requests): there those methods return at once, with the
// answer the client sent back with the call or with an error matching
// ErrInputRequired. The handler returns that error; the engine answers the
// call input_required, the client retries with the answers and the handler
// runs again from the top (see Call.RequestNamed). Keys name the requests
// (ElicitParams.Key, CreateMessageParams.Key, ListRootsNamed);
// Call.InputState carries a string of the handler's own between rounds.
//
// A tool handler's error becomes a result with IsError (so the model reads
// it); an *RPCError becomes a JSON-RPC error. A panic in any handler is
// recovered: a tool answers IsError, the other handlers -32603.
//
// Handlers run on the engine worker thread that received the request, as C
// callbacks do, while three quarters of the server's worker threads
// (ServerOptions.WorkerThreads) are free; beyond that on goroutines of their
// own. Either way many run at once and may block.
//
// # Quick tools
//
// A tool whose handler never blocks (it computes its answer from its
// arguments and memory, without I/O, sleeping or waiting on other
// goroutines) can be registered with Quick():
//
//	s.AddTool(&mcp.Tool{Name: "add"}, add, mcp.Quick())
//
// Its handler then runs on the engine thread that read the request (the
// HTTP I/O thread, the stdio reader thread) instead of being handed to a
// worker thread, which saves a thread hand-off per call. It is a promise:
// while the handler runs, the other requests read by that thread wait. See
// Quick for what a Quick handler may and may not do; it needs libmcp ABI 1.1.
//
// # Clients
//
// A Client starts a server program and talks to it over stdio
// (ConnectStdio), or reaches one by URL (ConnectHTTP):
//
//	c, err := mcp.NewClient("my-app", "1.0.0", &mcp.ClientOptions{
//		CreateMessageHandler: answerWithMyModel, // declares sampling
//	})
//	defer c.Close()
//	_, err = c.ConnectStdio(ctx, []string{"weather-server"}, nil)
//	res, err := c.CallTool(ctx, &mcp.CallToolParams{Name: "forecast", Arguments: map[string]string{"city": "Oslo"}})
//
// Every request takes a context: its deadline bounds the request, and when
// it is done first the server gets notifications/cancelled and the call
// returns ctx.Err().
//
// # Typed tools
//
// AddTypedTool derives a tool's input schema from a Go struct (see SchemaFor
// for the rules: json tags for names, omitempty for optional fields,
// mcp:"required" and mcp:"optional" to override, jsonschema:"..." for
// descriptions), checks each call's arguments against it and decodes them.
//
// # Building
//
// The package links libmcp (libmcp.so.1) with cgo. Point cgo at the header
// and the library:
//
//	CGO_CFLAGS=-I/path/to/include CGO_LDFLAGS="-L/path/to/lib -Wl,-rpath,/path/to/lib" go build
//
// or, with libmcp installed and its libmcp.pc on PKG_CONFIG_PATH, build with
// -tags libmcp_pkgconfig. At start-up the package checks that the loaded
// library has the ABI major version of the header it was compiled with and
// panics, naming both, if not.
//
// # Memory and threads
//
// C never holds a Go pointer: each registration is a cgo.Handle released
// when the engine drops the registration (after removal, once its last call
// is answered, or after Server.Close). Strings cross as copies. The engine
// calls Go on threads of its own; the package works under go test -race and
// GODEBUG=cgocheck=2.
package mcp
