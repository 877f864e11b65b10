/* Links against the installed library and checks it is the one the header describes. */
#include <mcp.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    if ((mcp_abi_version() >> 16) != MCP_ABI_VERSION_MAJOR) return 1;
    if (strcmp(mcp_version(), MCP_VERSION_STRING) != 0) return 2;
    mcp_server_t *s = NULL;
    if (mcp_server_new("consumer", "1.0", NULL, &s, NULL) != MCP_OK) return 3;
    mcp_server_free(s);
    puts("installed libmcp works");
    return 0;
}
