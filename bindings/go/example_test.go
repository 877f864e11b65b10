package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"strings"

	mcp "github.com/libmcp/libmcp/bindings/go"
)

// GreetArgs are the arguments of the greet tool; its input schema is derived
// from this struct.
type GreetArgs struct {
	Name     string `json:"name" jsonschema:"who to greet"`
	Language string `json:"language,omitempty" jsonschema:"en or fr"`
}

// A server with one typed tool. A real program ends with
// s.ServeStdio(ctx) (or s.ServeHTTP(ctx, addr, nil)); here an in-process
// session carries the JSON-RPC messages so the example can show them.
func Example() {
	s, err := mcp.NewServer("greeter", "1.0.0", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	err = mcp.AddTypedTool(s, &mcp.Tool{Name: "greet", Description: "Says hello."},
		func(ctx context.Context, in GreetArgs) (*mcp.ToolResult, error) {
			// Progress reaches the client if it asked for it.
			mcp.CallFromContext(ctx).Progress(1, 1, "greeting")
			if in.Language == "fr" {
				return mcp.TextResult("Bonjour, " + in.Name + " !"), nil
			}
			return mcp.TextResult("Hello, " + in.Name + "!"), nil
		})
	if err != nil {
		log.Fatal(err)
	}

	replies := make(chan []byte, 8)
	sess, err := s.NewSession(func(msg []byte) { replies <- msg })
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	send := func(msg string) {
		if err := sess.Receive([]byte(msg)); err != nil {
			log.Fatal(err)
		}
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",` +
		`"capabilities":{},"clientInfo":{"name":"example","version":"0"}}}`)
	<-replies
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	var list struct {
		Result struct {
			Tools []struct {
				Name        string          `json:"name"`
				InputSchema json.RawMessage `json:"inputSchema"`
			} `json:"tools"`
		} `json:"result"`
	}
	json.Unmarshal(<-replies, &list)
	fmt.Println(list.Result.Tools[0].Name, string(list.Result.Tools[0].InputSchema))

	for i, lang := range []string{"en", "fr"} {
		send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call",`+
			`"params":{"name":"greet","arguments":{"name":"Ada","language":%q}}}`, 3+i, lang))
		var call struct {
			Result struct {
				Content []struct{ Text string } `json:"content"`
			} `json:"result"`
		}
		json.Unmarshal(<-replies, &call)
		fmt.Println(call.Result.Content[0].Text)
	}

	send(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"greet","arguments":{}}}`)
	reply := string(<-replies)
	fmt.Println(strings.Contains(reply, `"isError":true`), strings.Contains(reply, `the required property \"name\" is missing`))

	// Output:
	// greet {"type":"object","properties":{"name":{"type":"string","description":"who to greet"},"language":{"type":"string","description":"en or fr"}},"required":["name"],"additionalProperties":false}
	// Hello, Ada!
	// Bonjour, Ada !
	// true true
}

// A tool whose handler never blocks, registered Quick: it runs on the
// engine thread that read the request (here the goroutine that called
// Receive, so the answer is there when Receive returns).
func ExampleQuick() {
	s, err := mcp.NewServer("calculator", "1.0.0", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	type AddArgs struct {
		A float64 `json:"a"`
		B float64 `json:"b"`
	}
	err = mcp.AddTypedTool(s, &mcp.Tool{Name: "add", Description: "Adds two numbers."},
		func(ctx context.Context, in AddArgs) (*mcp.ToolResult, error) {
			return mcp.TextResult(fmt.Sprint(in.A + in.B)), nil // no I/O, no waiting
		}, mcp.Quick())
	if err != nil {
		log.Fatal(err) // ErrUnsupported with a libmcp older than ABI 1.1
	}

	replies := make(chan []byte, 8)
	sess, err := s.NewSession(func(msg []byte) { replies <- msg })
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	send := func(msg string) {
		if err := sess.Receive([]byte(msg)); err != nil {
			log.Fatal(err)
		}
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",` +
		`"capabilities":{},"clientInfo":{"name":"example","version":"0"}}}`)
	<-replies
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":40}}}`)
	select {
	case reply := <-replies: // already sent: the handler ran inside Receive
		fmt.Println(string(reply))
	default:
		fmt.Println("not answered yet")
	}
	// Output:
	// {"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"42"}]}}
}
