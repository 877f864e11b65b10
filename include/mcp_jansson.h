/*
** mcp_jansson.h: jansson helpers for C hosts of libmcp.
**
** libmcp takes and gives structured data as UTF-8 JSON text (see mcp.h). This
** header lets a C host that already uses jansson (https://github.com/akheron/jansson,
** 2.11 or later) pass `json_t *` values instead. Every function here is a
** `static inline` wrapper over the functions of mcp.h: nothing is added to the
** library's ABI, and the host links with jansson itself (pkg-config jansson).
** This header is not a dependency of libmcp; mcp.h never includes it.
**
** CONVENTIONS (on top of those of mcp.h)
**
** Reference counting uses jansson's words:
**   borrowed   the function only reads the json_t; the caller keeps its
**              reference (as json_object_set). The value is serialized before
**              the function returns, so the caller may change or release it
**              afterwards.
**   stolen     the function takes over the caller's reference and releases it
**              before returning, on success and on failure (as json_object_set_new).
**   new        the returned value carries a new reference; the caller releases
**              it with json_decref().
**
** The `_new` suffix: in mcp.h `_new` names a constructor. In this header it
** also keeps jansson's meaning where a jansson value is the subject:
** mcp_j_call_return_new() steals its result, like json_object_set_new().
** mcp_j_server_new() is the constructor of mcp_server_t and borrows its options.
**
** Serialization: values are written with json_dumps(JSON_COMPACT |
** JSON_ENCODE_ANY) and the text is released with free(). Strings that libmcp
** returns (out_error) are released with mcp_string_free() only, never free().
**
** Errors: each wrapper returns what the mcp.h function it calls returns, with
** its *out_error. A NULL `json_t *` where mcp.h needs JSON is passed on as a
** NULL string, so libmcp reports it (MCP_ERR_INVALID_ARG, with a message). The
** only failure of the wrappers themselves is MCP_ERR_NO_MEMORY when json_dumps
** fails; then *out_error is set to NULL (there is no message: nothing could be
** allocated) and every other out-parameter is NULL as mcp.h promises.
**
** Threads: as the wrapped functions. jansson values are not locked: a value
** passed to these helpers must not be modified by another thread while the
** helper serializes it. Reference counting itself is atomic in jansson >= 2.11.
*/
#ifndef MCP_JANSSON_H
#define MCP_JANSSON_H

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "mcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags used for every serialization in this header. */
#define MCP_J_DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

/* Internal: serialize `value` (NULL gives NULL). Returns 0 on failure. */
static inline int mcp_j__dump(const json_t *value, char **out_text) {
    *out_text = NULL;
    if (value == NULL) return 1;
    *out_text = json_dumps(value, MCP_J_DUMP_FLAGS);
    return *out_text != NULL;
}

/* Internal: the wrappers' own failure (see CONVENTIONS: Errors). */
static inline mcp_status mcp_j__no_memory(char **out_error) {
    if (out_error) *out_error = NULL;
    return MCP_ERR_NO_MEMORY;
}

/*
** mcp_j_loads: parse JSON text received from libmcp into a jansson value.
**
** For the borrowed `const char *` arguments of callbacks (arguments_json,
** variables_json) and any other JSON text. Any JSON value is accepted, not
** only objects (JSON_DECODE_ANY), and strings may hold U+0000 (JSON_ALLOW_NUL:
** libmcp passes "\u0000" through, so read such strings with
** json_string_length(), not strlen()). text NULL gives NULL. error may be NULL;
** otherwise it is filled as json_loads() fills it.
** Returns: new reference, or NULL when text is NULL or does not parse.
** Threads: any.
*/
static inline json_t *mcp_j_loads(const char *text, json_error_t *error) {
    if (text == NULL) {
        if (error) {
            memset(error, 0, sizeof *error);
            error->line = error->column = error->position = -1;
            strcpy(error->text, "NULL text");
        }
        return NULL;
    }
    return json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, error);
}

/*
** mcp_j_server_new: create a server, options given as a jansson object.
** CONSTRUCTOR: mcp_server_t (as mcp_server_new)
**
** options: NULL or an object with the keys mcp_server_new() documents
** (borrowed). *out_server receives the new server, freed with mcp_server_free().
** Errors: as mcp_server_new, plus MCP_ERR_NO_MEMORY (options not serialized).
*/
static inline mcp_status mcp_j_server_new(const char *name, const char *version,
                                          const json_t *options, mcp_server_t **out_server,
                                          char **out_error) {
    char *text;
    mcp_status rc;
    if (!mcp_j__dump(options, &text)) {
        if (out_server) *out_server = NULL;
        return mcp_j__no_memory(out_error);
    }
    rc = mcp_server_new(name, version, text, out_server, out_error);
    free(text);
    return rc;
}

/*
** mcp_j_server_add_tool_ex: as mcp_j_server_add_tool, with the flags of
** mcp_server_add_tool_ex (MCP_TOOL_INLINE, MCP_TOOL_ARGS_ON_DEMAND). Since: 1.1
*/
static inline mcp_status mcp_j_server_add_tool_ex(mcp_server_t *server, const json_t *tool,
                                                  mcp_tool_fn fn, void *user_data,
                                                  mcp_free_fn free_fn, unsigned int flags,
                                                  char **out_error) {
    char *text;
    mcp_status rc;
    if (!mcp_j__dump(tool, &text)) return mcp_j__no_memory(out_error);
    rc = mcp_server_add_tool_ex(server, text, fn, user_data, free_fn, flags, out_error);
    free(text);
    return rc;
}

/*
** mcp_j_server_add_tool: offer a tool defined by a jansson object.
** METHOD: mcp_server_t (as mcp_server_add_tool)
**
** tool: the Tool object (borrowed). fn, user_data, free_fn: as
** mcp_server_add_tool; ^if this function fails, free_fn is not called.
** Errors: as mcp_server_add_tool, plus MCP_ERR_NO_MEMORY.
*/
static inline mcp_status mcp_j_server_add_tool(mcp_server_t *server, const json_t *tool,
                                               mcp_tool_fn fn, void *user_data,
                                               mcp_free_fn free_fn, char **out_error) {
    return mcp_j_server_add_tool_ex(server, tool, fn, user_data, free_fn, 0, out_error);
}

/*
** mcp_j_server_add_resource: offer a resource defined by a jansson object.
** METHOD: mcp_server_t (as mcp_server_add_resource)
** resource: the Resource object (borrowed). Otherwise as mcp_j_server_add_tool.
*/
static inline mcp_status mcp_j_server_add_resource(mcp_server_t *server, const json_t *resource,
                                                   mcp_resource_fn fn, void *user_data,
                                                   mcp_free_fn free_fn, char **out_error) {
    char *text;
    mcp_status rc;
    if (!mcp_j__dump(resource, &text)) return mcp_j__no_memory(out_error);
    rc = mcp_server_add_resource(server, text, fn, user_data, free_fn, out_error);
    free(text);
    return rc;
}

/*
** mcp_j_server_add_resource_template: offer a resource template defined by a
** jansson object.
** METHOD: mcp_server_t (as mcp_server_add_resource_template)
** resource_template: the ResourceTemplate object (borrowed). Otherwise as
** mcp_j_server_add_tool.
*/
static inline mcp_status mcp_j_server_add_resource_template(mcp_server_t *server,
                                                            const json_t *resource_template,
                                                            mcp_resource_fn fn, void *user_data,
                                                            mcp_free_fn free_fn,
                                                            char **out_error) {
    char *text;
    mcp_status rc;
    if (!mcp_j__dump(resource_template, &text)) return mcp_j__no_memory(out_error);
    rc = mcp_server_add_resource_template(server, text, fn, user_data, free_fn, out_error);
    free(text);
    return rc;
}

/*
** mcp_j_server_add_prompt: offer a prompt defined by a jansson object.
** METHOD: mcp_server_t (as mcp_server_add_prompt)
** prompt: the Prompt object (borrowed). Otherwise as mcp_j_server_add_tool.
*/
static inline mcp_status mcp_j_server_add_prompt(mcp_server_t *server, const json_t *prompt,
                                                 mcp_prompt_fn fn, void *user_data,
                                                 mcp_free_fn free_fn, char **out_error) {
    char *text;
    mcp_status rc;
    if (!mcp_j__dump(prompt, &text)) return mcp_j__no_memory(out_error);
    rc = mcp_server_add_prompt(server, text, fn, user_data, free_fn, out_error);
    free(text);
    return rc;
}

/*
** mcp_j_call_return: answer a call with a jansson result.
** METHOD: mcp_call_t (as mcp_call_return)
**
** result: the result object (borrowed: the caller still releases it).
** ^Consumes the call in every case, as mcp_call_return: if result cannot be
** serialized, the call is answered with a -32603 error and MCP_ERR_NO_MEMORY
** is returned.
** Errors: as mcp_call_return, plus MCP_ERR_NO_MEMORY.
*/
static inline mcp_status mcp_j_call_return(mcp_call_t *call, const json_t *result,
                                           char **out_error) {
    char *text;
    mcp_status rc;
    if (!mcp_j__dump(result, &text)) {
        rc = mcp_call_error(call, MCP_JSONRPC_INTERNAL_ERROR, "The server could not serialize its result",
                            NULL, out_error);
        if (rc != MCP_OK) return rc;
        return mcp_j__no_memory(out_error);
    }
    rc = mcp_call_return(call, text, out_error);
    free(text);
    return rc;
}

/*
** mcp_j_call_return_new: as mcp_j_call_return, but steals the reference to result.
** METHOD: mcp_call_t
**
** result: stolen (released before return, also on failure), so a builder can
** be passed directly: mcp_j_call_return_new(call, mcp_j_tool_result_text("ok", 0), NULL).
** ^A NULL result (e.g. a builder that failed) answers the call with -32603 and
** returns MCP_ERR_INVALID_ARG, as mcp_call_return(call, NULL).
*/
static inline mcp_status mcp_j_call_return_new(mcp_call_t *call, json_t *result,
                                               char **out_error) {
    mcp_status rc = mcp_j_call_return(call, result, out_error);
    json_decref(result);
    return rc;
}

/*
** mcp_j_call_error: answer a call with a JSON-RPC error whose data is a jansson value.
** METHOD: mcp_call_t (as mcp_call_error)
**
** data: NULL (no error.data) or any value (borrowed). ^Consumes the call in
** every case: if data cannot be serialized the error is sent without data and
** MCP_ERR_NO_MEMORY is returned.
** Errors: as mcp_call_error, plus MCP_ERR_NO_MEMORY.
*/
static inline mcp_status mcp_j_call_error(mcp_call_t *call, int32_t code, const char *message,
                                          const json_t *data, char **out_error) {
    char *text;
    mcp_status rc;
    if (!mcp_j__dump(data, &text)) {
        rc = mcp_call_error(call, code, message, NULL, out_error);
        if (rc != MCP_OK) return rc;
        return mcp_j__no_memory(out_error);
    }
    rc = mcp_call_error(call, code, message, text, out_error);
    free(text);
    return rc;
}

/*
** mcp_j_call_log: send a log message whose data is a jansson value.
** METHOD: mcp_call_t (as mcp_call_log)
**
** data: NULL (JSON null) or any value (borrowed). Nothing is sent when data
** cannot be serialized (MCP_ERR_NO_MEMORY).
** Errors: as mcp_call_log, plus MCP_ERR_NO_MEMORY.
*/
static inline mcp_status mcp_j_call_log(mcp_call_t *call, const char *level, const char *logger,
                                        const json_t *data, char **out_error) {
    char *text;
    mcp_status rc;
    if (!mcp_j__dump(data, &text)) return mcp_j__no_memory(out_error);
    rc = mcp_call_log(call, level, logger, text, out_error);
    free(text);
    return rc;
}

/*
** mcp_j_call_request: ask the call's client something, params as a jansson object.
** METHOD: mcp_call_t (as mcp_call_request)
**
** params: NULL (no params) or the request's params object (borrowed). fn gets
** the outcome as mcp_call_request documents; parse its borrowed JSON strings
** with mcp_j_loads(). ^When this function fails, fn is not called.
** Errors: as mcp_call_request, plus MCP_ERR_NO_MEMORY (nothing is sent).
*/
static inline mcp_status mcp_j_call_request(mcp_call_t *call, const char *method, const json_t *params,
                                            int32_t timeout_ms, mcp_response_fn fn, void *user_data,
                                            char **out_error) {
    char *text;
    mcp_status rc;
    if (!mcp_j__dump(params, &text)) return mcp_j__no_memory(out_error);
    rc = mcp_call_request(call, method, text, timeout_ms, fn, user_data, out_error);
    free(text);
    return rc;
}

/* ----------------------------------------------------------------------------
** Builders. Each returns a new reference, or NULL when an argument is NULL,
** is not valid UTF-8, or memory runs out. Threads: any.
** --------------------------------------------------------------------------*/

/* mcp_j_text_content: {"type":"text","text":text}. Returns: new reference. */
static inline json_t *mcp_j_text_content(const char *text) {
    if (text == NULL) return NULL;
    return json_pack("{s:s, s:s}", "type", "text", "text", text);
}

/*
** mcp_j_image_content: {"type":"image","data":base64,"mimeType":mime_type}.
** base64 is the image already encoded in base64. Returns: new reference.
*/
static inline json_t *mcp_j_image_content(const char *base64, const char *mime_type) {
    if (base64 == NULL || mime_type == NULL) return NULL;
    return json_pack("{s:s, s:s, s:s}", "type", "image", "data", base64, "mimeType", mime_type);
}

/* mcp_j_audio_content: as mcp_j_image_content, with "type":"audio". Returns: new reference. */
static inline json_t *mcp_j_audio_content(const char *base64, const char *mime_type) {
    if (base64 == NULL || mime_type == NULL) return NULL;
    return json_pack("{s:s, s:s, s:s}", "type", "audio", "data", base64, "mimeType", mime_type);
}

/*
** mcp_j_resource_text_content: an embedded text resource block,
** {"type":"resource","resource":{"uri":uri,"mimeType":mime_type,"text":text}}.
** mime_type may be NULL (then omitted). Returns: new reference.
*/
static inline json_t *mcp_j_resource_text_content(const char *uri, const char *mime_type,
                                                  const char *text) {
    json_t *resource;
    if (uri == NULL || text == NULL) return NULL;
    resource = mime_type ? json_pack("{s:s, s:s, s:s}", "uri", uri, "mimeType", mime_type, "text", text)
                         : json_pack("{s:s, s:s}", "uri", uri, "text", text);
    if (resource == NULL) return NULL;
    return json_pack("{s:s, s:o}", "type", "resource", "resource", resource);
}

/*
** mcp_j_tool_result_text: a CallToolResult with one text block,
** {"content":[{"type":"text","text":text}]}, plus "isError": true when
** is_error is not 0. Returns: new reference.
*/
static inline json_t *mcp_j_tool_result_text(const char *text, int is_error) {
    json_t *block = mcp_j_text_content(text);
    json_t *result;
    if (block == NULL) return NULL;
    result = json_pack("{s:[o]}", "content", block);
    if (result != NULL && is_error && json_object_set_new(result, "isError", json_true()) != 0) {
        json_decref(result);
        return NULL;
    }
    return result;
}

#ifdef __cplusplus
}
#endif

#endif /* MCP_JANSSON_H */
