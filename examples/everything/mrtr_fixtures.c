/*
** mrtr_fixtures.c: the everything server's fixtures that ask the client for
** input: the test_input_required_result_* tools and prompt the conformance
** suite names for 2026-07-28 (multi round-trip requests, SEP-2322), plus
** test_elicit_twice and the resource test://input-required.
**
** Each handler is written ONCE for both eras, as mcp.h's mcp_call_request
** describes: it asks with mcp_call_request_named and waits for the answer. In
** a 2025-era session the request goes to the client and the handler blocks
** (on a worker thread) until it answers; in a 2026-07-28 call the answer is
** already there, or the request gives MCP_ERR_INPUT_REQUIRED and the
** handler stops (the engine then answers input_required; the client retries
** and the handler runs again from the top).
*/
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcp.h"
#include "mcp_jansson.h"

#include "mrtr_fixtures.h"

/* One request to the client and its answer, waited for. */
struct reply {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    mcp_status status;
    json_t *result; /* the client's result (MCP_OK) */
};

static void reply_init(struct reply *r) {
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->done = 0;
    r->status = MCP_OK;
    r->result = NULL;
}

static void reply_destroy(struct reply *r) {
    json_decref(r->result);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

/* Runs on an engine worker with the answer. */
static void on_reply(void *ud, mcp_status status, const char *result_json, const char *error_json) {
    (void)error_json;
    struct reply *r = ud;
    pthread_mutex_lock(&r->mu);
    r->status = status;
    r->result = status == MCP_OK ? mcp_j_loads(result_json, NULL) : NULL;
    r->done = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Starts a request (params stolen); on failure r is done with that status. */
static mcp_status ask_start(mcp_call_t *call, const char *key, const char *method, json_t *params,
                            struct reply *r) {
    char *text = params ? json_dumps(params, JSON_COMPACT) : NULL;
    json_decref(params);
    mcp_status rc = mcp_call_request_named(call, key, method, text, 0, on_reply, r, NULL);
    free(text);
    if (rc != MCP_OK) {
        r->status = rc;
        r->done = 1;
    }
    return rc;
}

static mcp_status ask_wait(struct reply *r) {
    pthread_mutex_lock(&r->mu);
    while (!r->done) pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    return r->status;
}

/* The call's answer when a request did not complete. For MCP_ERR_INPUT_REQUIRED
** the engine replaces it with the InputRequiredResult; a request refused for
** a missing capability is the handler's to explain. */
static void stop(mcp_call_t *call, mcp_status rc, const char *what) {
    if (rc == MCP_ERR_UNSUPPORTED) {
        json_t *msg = json_sprintf("%s: the client did not declare the capability this needs", what);
        mcp_j_call_return_new(call, mcp_j_tool_result_text(json_string_value(msg), 1), NULL);
        json_decref(msg);
        return;
    }
    mcp_call_error(call, -32603, rc == MCP_ERR_INPUT_REQUIRED ? "input required" : mcp_status_string(rc), NULL, NULL);
}

static void text_result(mcp_call_t *call, const char *text) {
    mcp_j_call_return_new(call, mcp_j_tool_result_text(text, 0), NULL);
}

static json_t *form(const char *message, const char *field, const char *type) {
    return json_pack("{s:s, s:{s:s, s:{s:{s:s}}, s:[s]}}", "message", message, "requestedSchema", "type", "object",
                     "properties", field, "type", type, "required", field);
}

static json_t *sampling(const char *text, int max_tokens) {
    return json_pack("{s:[{s:s, s:{s:s, s:s}}], s:i}", "messages", "role", "user", "content", "type", "text", "text",
                     text, "maxTokens", max_tokens);
}

/* content.<field> of an accepted elicitation as text ("?" otherwise). */
static const char *field(const struct reply *r, const char *name) {
    json_t *v = json_object_get(json_object_get(r->result, "content"), name);
    return json_is_string(v) ? json_string_value(v) : "?";
}

static const char *sampled_text(const struct reply *r) {
    json_t *c = json_object_get(r->result, "content");
    const char *t = json_string_value(json_object_get(c, "text"));
    return t ? t : "(no text)";
}

/* ---------------------------------------------------------------- tools */

static void tool_elicitation(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    struct reply r;
    reply_init(&r);
    ask_start(call, "user_name", "elicitation/create", form("What is your name?", "name", "string"), &r);
    mcp_status rc = ask_wait(&r);
    if (rc != MCP_OK) {
        stop(call, rc, "test_input_required_result_elicitation");
    } else {
        json_t *msg = json_sprintf("Hello, %s!", field(&r, "name"));
        text_result(call, json_string_value(msg));
        json_decref(msg);
    }
    reply_destroy(&r);
}

static void tool_sampling(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    struct reply r;
    reply_init(&r);
    ask_start(call, "capital_question", "sampling/createMessage", sampling("What is the capital of France?", 100), &r);
    mcp_status rc = ask_wait(&r);
    if (rc != MCP_OK) {
        stop(call, rc, "test_input_required_result_sampling");
    } else {
        json_t *msg = json_sprintf("LLM response: %s", sampled_text(&r));
        text_result(call, json_string_value(msg));
        json_decref(msg);
    }
    reply_destroy(&r);
}

static void tool_list_roots(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    struct reply r;
    reply_init(&r);
    ask_start(call, "client_roots", "roots/list", json_object(), &r);
    mcp_status rc = ask_wait(&r);
    if (rc != MCP_OK) {
        stop(call, rc, "test_input_required_result_list_roots");
    } else {
        json_t *roots = json_object_get(r.result, "roots");
        char *uris = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&uris, &len);
        size_t i;
        json_t *root;
        fputs("Roots:", f);
        json_array_foreach(roots, i, root) {
            const char *uri = json_string_value(json_object_get(root, "uri"));
            fprintf(f, "%s %s", i ? "," : "", uri ? uri : "?");
        }
        if (json_array_size(roots) == 0) fputs(" (none)", f);
        fclose(f);
        text_result(call, uris);
        free(uris);
    }
    reply_destroy(&r);
}

/* The host's own state rides in requestState: set before asking, read back
** on the retry. A 2025-era call has no rounds, so nothing to check there. */
static const char CONFIRM_STATE[] = "confirm-round-1";

static void tool_request_state(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    char *state = NULL;
    mcp_call_input_state(call, &state, NULL);
    int modern = mcp_call_set_input_state(call, CONFIRM_STATE, NULL) == MCP_OK;
    struct reply r;
    reply_init(&r);
    ask_start(call, "confirm", "elicitation/create", form("Please confirm", "ok", "boolean"), &r);
    mcp_status rc = ask_wait(&r);
    if (rc != MCP_OK) {
        stop(call, rc, "test_input_required_result_request_state");
    } else if (modern && (state == NULL || strcmp(state, CONFIRM_STATE) != 0)) {
        mcp_call_error(call, -32602, "requestState did not carry the state of round 1", NULL, NULL);
    } else {
        const char *action = json_string_value(json_object_get(r.result, "action"));
        json_t *msg = json_sprintf("state-ok: confirmed (%s)", action ? action : "?");
        text_result(call, json_string_value(msg));
        json_decref(msg);
    }
    mcp_string_free(state);
    reply_destroy(&r);
}

/* Three requests before waiting for any: one round asks them all. */
static void tool_multiple_inputs(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    struct reply name, greeting, roots;
    reply_init(&name);
    reply_init(&greeting);
    reply_init(&roots);
    ask_start(call, "user_name", "elicitation/create", form("What is your name?", "name", "string"), &name);
    ask_start(call, "greeting", "sampling/createMessage", sampling("Generate a greeting", 50), &greeting);
    ask_start(call, "client_roots", "roots/list", json_object(), &roots);
    mcp_status a = ask_wait(&name), b = ask_wait(&greeting), c = ask_wait(&roots);
    mcp_status rc = a != MCP_OK ? a : b != MCP_OK ? b : c;
    if (rc != MCP_OK) {
        stop(call, rc, "test_input_required_result_multiple_inputs");
    } else {
        json_t *msg = json_sprintf("%s to %s (%zu roots)", sampled_text(&greeting), field(&name, "name"),
                                   json_array_size(json_object_get(roots.result, "roots")));
        text_result(call, json_string_value(msg));
        json_decref(msg);
    }
    reply_destroy(&name);
    reply_destroy(&greeting);
    reply_destroy(&roots);
}

/* Two questions, each waited for: two rounds; NULL keys are the default ones. */
static void two_questions(mcp_call_t *call, const char *tool, const char *key1, const char *key2) {
    struct reply first, second;
    reply_init(&first);
    reply_init(&second);
    ask_start(call, key1, "elicitation/create", form("Step 1: What is your name?", "name", "string"), &first);
    mcp_status rc = ask_wait(&first);
    if (rc == MCP_OK) {
        ask_start(call, key2, "elicitation/create", form("Step 2: What is your favorite color?", "color", "string"),
                  &second);
        rc = ask_wait(&second);
    }
    if (rc != MCP_OK) {
        stop(call, rc, tool);
    } else {
        json_t *msg = json_sprintf("%s likes %s", field(&first, "name"), field(&second, "color"));
        text_result(call, json_string_value(msg));
        json_decref(msg);
    }
    reply_destroy(&first);
    reply_destroy(&second);
}

static void tool_multi_round(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    two_questions(call, "test_input_required_result_multi_round", "step1", "step2");
}

static void tool_elicit_twice(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    two_questions(call, "test_elicit_twice", NULL, NULL); /* keys elicit_1, elicit_2 */
}

static void tool_tampered_state(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    struct reply r;
    reply_init(&r);
    ask_start(call, "confirm", "elicitation/create", form("Please confirm", "ok", "boolean"), &r);
    mcp_status rc = ask_wait(&r);
    if (rc != MCP_OK) stop(call, rc, "test_input_required_result_tampered_state");
    else text_result(call, "confirmed");
    reply_destroy(&r);
}

/* Whether the call may ask through `capability`: at 2026-07-28 the request's
** own _meta says (asking for an undeclared one would end the call with -32021);
** in the 2025 era the engine's MCP_ERR_UNSUPPORTED says, so assume yes here. */
static int declared(mcp_call_t *call, const char *capability) {
    char *meta = NULL;
    if (mcp_call_meta(call, &meta, NULL) != MCP_OK) return 1;
    json_t *m = mcp_j_loads(meta, NULL);
    mcp_string_free(meta);
    json_t *caps = json_object_get(m, "io.modelcontextprotocol/clientCapabilities");
    int yes = caps == NULL || json_object_get(caps, capability) != NULL;
    json_decref(m);
    return yes;
}

/* Asks with what the client declared: elicitation, else sampling, else roots;
** none of them: -32021 naming what it needs. */
static void tool_capabilities(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    static const struct {
        const char *capability, *key, *method;
    } ways[] = {
        {"elicitation", "user_name", "elicitation/create"},
        {"sampling", "capital_question", "sampling/createMessage"},
        {"roots", "client_roots", "roots/list"},
    };
    for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
        if (!declared(call, ways[i].capability)) continue;
        json_t *params = i == 0   ? form("What is your name?", "name", "string")
                         : i == 1 ? sampling("What is the capital of France?", 100)
                                  : json_object();
        struct reply r;
        reply_init(&r);
        mcp_status rc = ask_start(call, ways[i].key, ways[i].method, params, &r);
        if (rc == MCP_ERR_UNSUPPORTED) { /* 2025 era: try the next way */
            reply_destroy(&r);
            continue;
        }
        rc = ask_wait(&r);
        if (rc != MCP_OK) {
            stop(call, rc, "test_input_required_result_capabilities");
        } else {
            json_t *msg = json_sprintf("answered through %s", ways[i].capability);
            text_result(call, json_string_value(msg));
            json_decref(msg);
        }
        reply_destroy(&r);
        return;
    }
    json_t *data = json_pack("{s:{s:{}}}", "requiredCapabilities", "elicitation");
    mcp_j_call_error(call, MCP_JSONRPC_MISSING_CLIENT_CAPABILITY, "This tool needs the elicitation, sampling or roots capability", data, NULL);
    json_decref(data);
}

/* ---------------------------------------------------------------- prompt and resource */

static void prompt_input(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    struct reply r;
    reply_init(&r);
    ask_start(call, "user_context", "elicitation/create",
              form("What context should the prompt use?", "context", "string"), &r);
    mcp_status rc = ask_wait(&r);
    if (rc != MCP_OK) {
        mcp_call_error(call, -32603, rc == MCP_ERR_UNSUPPORTED ? "The client cannot elicit" : "input required",
                       NULL, NULL);
    } else {
        json_t *msg = json_sprintf("Answer with this context in mind: %s", field(&r, "context"));
        json_t *result = json_pack("{s:s, s:[{s:s, s:o}]}", "description", "A prompt built from the user's context",
                                   "messages", "role", "user", "content", mcp_j_text_content(json_string_value(msg)));
        mcp_j_call_return_new(call, result, NULL);
        json_decref(msg);
    }
    reply_destroy(&r);
}

static void resource_input(void *ud, mcp_call_t *call, const char *uri, const char *vars) {
    (void)ud, (void)vars;
    struct reply r;
    reply_init(&r);
    ask_start(call, "greeting", "elicitation/create", form("Which greeting should the resource hold?", "greeting",
                                                           "string"), &r);
    mcp_status rc = ask_wait(&r);
    if (rc != MCP_OK) {
        mcp_call_error(call, -32603, rc == MCP_ERR_UNSUPPORTED ? "The client cannot elicit" : "input required",
                       NULL, NULL);
    } else {
        const char *text = field(&r, "greeting");
        mcp_call_return_text(call, text, strlen(text), "text/plain", NULL, NULL);
    }
    (void)uri;
    reply_destroy(&r);
}

/* ---------------------------------------------------------------- registration */

static int added(const char *what, mcp_status rc, char *error) {
    if (rc != MCP_OK) {
        fprintf(stderr, "mcp-everything-server: cannot add %s: %s\n", what, error ? error : mcp_status_string(rc));
        mcp_string_free(error);
        return 0;
    }
    return 1;
}

int add_mrtr_fixtures(mcp_server_t *server) {
    static const struct {
        const char *name, *description;
        mcp_tool_fn fn;
    } tools[] = {
        {"test_input_required_result_elicitation", "Asks the user's name (input request \"user_name\").",
         tool_elicitation},
        {"test_input_required_result_sampling", "Asks the client's model a question (\"capital_question\").",
         tool_sampling},
        {"test_input_required_result_list_roots", "Asks the client's roots (\"client_roots\").", tool_list_roots},
        {"test_input_required_result_request_state",
         "Asks for a confirmation and checks its own state came back in requestState (\"state-ok\").",
         tool_request_state},
        {"test_input_required_result_multiple_inputs",
         "Asks a name, a sampled greeting and the roots in one round.", tool_multiple_inputs},
        {"test_input_required_result_multi_round", "Asks a name, then a color: two rounds (\"step1\", \"step2\").",
         tool_multi_round},
        {"test_input_required_result_tampered_state", "Asks for a confirmation; a forged requestState is refused.",
         tool_tampered_state},
        {"test_input_required_result_capabilities",
         "Asks through elicitation, sampling or roots, whichever the client declared.", tool_capabilities},
        {"test_elicit_twice", "Elicits a name, then a color (default keys elicit_1, elicit_2).", tool_elicit_twice},
    };
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        json_t *def = json_pack("{s:s, s:s, s:{s:s}}", "name", tools[i].name, "description", tools[i].description,
                                "inputSchema", "type", "object");
        char *error = NULL;
        /* Not inline: in the 2025 era these block a worker until the client answers. */
        mcp_status rc = mcp_j_server_add_tool(server, def, tools[i].fn, NULL, NULL, &error);
        json_decref(def);
        if (!added(tools[i].name, rc, error)) return 0;
    }
    char *error = NULL;
    json_t *def = json_pack("{s:s, s:s}", "name", "test_input_required_result_prompt", "description",
                            "A prompt that first asks the user for its context (\"user_context\").");
    mcp_status rc = mcp_j_server_add_prompt(server, def, prompt_input, NULL, NULL, &error);
    json_decref(def);
    if (!added("test_input_required_result_prompt", rc, error)) return 0;
    def = json_pack("{s:s, s:s, s:s, s:s}", "uri", "test://input-required", "name", "input-required", "description",
                    "A text resource whose content the user chooses when it is read (\"greeting\").", "mimeType",
                    "text/plain");
    rc = mcp_j_server_add_resource(server, def, resource_input, NULL, NULL, &error);
    json_decref(def);
    return added("test://input-required", rc, error);
}
