/* mrtr_fixtures.h: the everything server's fixtures that ask the client for input. */
#ifndef MRTR_FIXTURES_H
#define MRTR_FIXTURES_H

#include "mcp.h"

/* Adds the test_input_required_result_* tools and prompt, test_elicit_twice and
** test://input-required; 0 (after a message on stderr) when one cannot be added. */
int add_mrtr_fixtures(mcp_server_t *server);

#endif
