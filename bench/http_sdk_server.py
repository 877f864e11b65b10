"""The official Python SDK's server (MCPServer, mcp==2.3.0) with the everything
server's test_echo tool, over Streamable HTTP in JSON-response mode: the
benchmark's point of comparison. Usage: python http_sdk_server.py PORT"""
import sys

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

srv = MCPServer("sdk-bench", log_level="WARNING")


class Echo(BaseModel):
    text: str


@srv.tool()
def test_echo(text: str) -> Echo:
    """Returns the given text, also as structuredContent {"text": ...}."""
    return Echo(text=text)


if __name__ == "__main__":
    srv.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]), json_response=True)
