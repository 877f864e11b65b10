"""A fixture server written with the official Python SDK (MCPServer, mcp==2.3.0) that serves
subscriptions/listen at 2026-07-28 and publishes on demand:

    python sdk_listen_server.py stdio
    python sdk_listen_server.py streamable-http PORT

touch(uri, times) publishes notifications/resources/updated for uri `times` times, in order;
change_tools() publishes notifications/tools/list_changed.
"""
import sys

from mcp.server.mcpserver import Context, MCPServer

srv = MCPServer("sdk-listen-fixture")


@srv.tool()
async def touch(uri: str, times: int, ctx: Context) -> str:
    """Publish resources/updated for uri, `times` times."""
    for _ in range(times):
        await ctx.notify_resource_updated(uri)
    return "touched"


@srv.tool()
async def change_tools(ctx: Context) -> str:
    """Publish tools/list_changed."""
    await ctx.notify_tools_changed()
    return "changed"


@srv.resource("res://a")
def a() -> str:
    return "a"


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        srv.run("stdio")
    else:
        srv.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
