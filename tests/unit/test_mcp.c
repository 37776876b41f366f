/*
 * The MCP session (src/mcp/) without a transport: the tools/list answer (its size and its
 * schemas), version negotiation, JSON-RPC errors for every kind of bad message, arguments
 * checked against the tools' schemas, execution errors as tool results, claims through the
 * item_claim tool, resources and their subscriptions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fx_store.h"
#include "mcp/mcp.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/ft_err.h"
#include "util/ft_xalloc.h"

struct fx {
    struct fx_store s;
    struct event_base *base;
    struct ft_mcp_runs *runs;
    struct ft_mcp *m;
    json_t *sent; /* every message the session sent, in order */
};

static void capture(void *u, json_t *msg, void *req)
{
    struct fx *f = u;
    (void)req;
    json_array_append_new(f->sent, msg);
}

static int setup(void **state)
{
    struct fx *f = ft_xcalloc(1, sizeof(*f));
    if (fx_store_open(&f->s, "mcp"))
        return -1;
    f->base = event_base_new();
    f->runs = ft_mcp_runs_new(f->base);
    f->sent = json_array();
    const char *access[] = {"--db", f->s.path, NULL};
    struct ft_mcp_config cfg = {f->runs, "/nonexistent/flowtrack", access, "agent-a", NULL};
    struct ft_mcp_host host = {capture, f};
    f->m = ft_mcp_new(f->base, f->s.ops, &cfg, &host);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ft_mcp_free(f->m);
    ft_mcp_runs_free(f->runs);
    event_base_free(f->base);
    json_decref(f->sent);
    int rc = fx_store_close(&f->s);
    free(f);
    return rc;
}

/* Handle the message text; the one answer it sent (new reference). */
static json_t *rpc(struct fx *f, const char *text)
{
    json_error_t je;
    json_t *msg = json_loads(text, JSON_DECODE_ANY, &je);
    assert_non_null(msg);
    size_t before = json_array_size(f->sent);
    ft_mcp_handle(f->m, msg, NULL);
    json_decref(msg);
    assert_int_equal(json_array_size(f->sent), before + 1);
    return json_incref(json_array_get(f->sent, before));
}

static int error_code(json_t *answer)
{
    return (int)json_integer_value(json_object_get(json_object_get(answer, "error"), "code"));
}

/* tools/call NAME with ARGS (JSON text): the result, or the error answer. */
static json_t *tool(struct fx *f, const char *name, const char *args)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
             "\"arguments\":%s}}",
             name, args);
    return rpc(f, text);
}

static void tools_list_fits(void **state)
{
    (void)state;
    const char *text = ft_mcp_tools_list_text();
    assert_true(strlen(text) <= 8192);
    json_t *list = json_loads(text, 0, NULL);
    json_t *tools = json_object_get(list, "tools");
    assert_int_equal(json_array_size(tools), 10);
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        json_t *schema = json_object_get(t, "inputSchema");
        assert_string_equal(json_string_value(json_object_get(schema, "type")), "object");
        assert_true(json_is_false(json_object_get(schema, "additionalProperties")));
        assert_non_null(json_string_value(json_object_get(t, "description")));
        const char *key;
        json_t *p;
        json_object_foreach(json_object_get(schema, "properties"), key, p)
        {
            const char *d = json_string_value(json_object_get(p, "description"));
            assert_non_null(d);
            assert_true(strlen(d) > 3);
        }
    }
    json_decref(list);
}

static void initialize_negotiates(void **state)
{
    struct fx *f = *state;
    json_t *a = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                       "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                       "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
    json_t *r = json_object_get(a, "result");
    assert_string_equal(json_string_value(json_object_get(r, "protocolVersion")), "2025-06-18");
    assert_true(json_is_true(json_object_get(
        json_object_get(json_object_get(r, "capabilities"), "resources"), "subscribe")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "instructions")), "agent-a"));
    json_decref(a);
    /* an unknown (older) version: the newest is offered */
    a = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{"
               "\"protocolVersion\":\"2024-11-05\"}}");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(a, "result"), "protocolVersion")),
        FT_MCP_PROTOCOL);
    json_decref(a);
}

static void bad_messages(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *text;
        int code;
    } cases[] = {
        {"[1,2]", FT_RPC_INVALID},
        {"\"x\"", FT_RPC_INVALID},
        {"{\"jsonrpc\":\"2.0\",\"id\":1}", FT_RPC_INVALID},
        {"{\"id\":1,\"method\":\"ping\"}", FT_RPC_INVALID},
        {"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}", FT_RPC_INVALID},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", FT_RPC_INVALID},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/list\"}", FT_RPC_NO_METHOD},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[]}", FT_RPC_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}", FT_RPC_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{}}",
         FT_RPC_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
         "\"flowtrack://tracker/none\"}}",
         FT_RPC_NO_RESOURCE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *a = rpc(f, cases[i].text);
        assert_int_equal(error_code(a), cases[i].code);
        json_decref(a);
    }
    /* notifications and responses are answered with nothing */
    size_t n = json_array_size(f->sent);
    json_t *msg =
        json_loads("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", 0, NULL);
    assert_int_equal(ft_mcp_handle(f->m, msg, NULL), 0);
    json_decref(msg);
    msg = json_loads("{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}", 0, NULL);
    assert_int_equal(ft_mcp_handle(f->m, msg, NULL), 0);
    json_decref(msg);
    assert_int_equal(json_array_size(f->sent), n);
}

static void arguments_checked(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *tool, *args;
    } bad[] = {
        {"nope", "{}"},
        {"entry_add", "{\"kind\":\"item\"}"},                        /* text is required */
        {"entry_add", "{\"kind\":\"item\",\"text\":1}"},             /* a number for a string */
        {"entry_add", "{\"kind\":\"thing\",\"text\":\"x\"}"},        /* outside the enum */
        {"entry_add", "{\"kind\":\"item\",\"text\":\"x\",\"y\":1}"}, /* unknown argument */
        {"item_claim", "{\"num\":\"1\"}"},                           /* a string for an integer */
        {"item_claim", "{\"num\":0}"},                               /* below the minimum */
        {"item_claim", "{\"num\":1,\"steal\":\"yes\"}"},             /* not a boolean */
        {"tracker_read", "[]"},                                      /* arguments not an object */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *a = tool(f, bad[i].tool, bad[i].args);
        assert_int_equal(error_code(a), FT_RPC_PARAMS);
        json_decref(a);
    }
    /* nothing was written */
    int64_t seq = -1;
    struct ft_err err;
    assert_int_equal(ft_store_last_seq(f->s.st, &seq, &err), 0);
    assert_int_equal(seq, 0);
}

static void tools_write_and_refuse(void **state)
{
    struct fx *f = *state;
    /* an execution error is a tool result with isError */
    json_t *a = tool(f, "tracker_read", "{}");
    json_t *r = json_object_get(a, "result");
    assert_true(json_is_true(json_object_get(r, "isError")));
    assert_non_null(json_object_get(r, "structuredContent"));
    json_decref(a);

    a = tool(f, "tracker_create", "{\"title\":\"Unit\",\"slug\":\"unit\"}");
    assert_null(json_object_get(json_object_get(a, "result"), "isError"));
    json_decref(a);
    a = tool(f, "entry_add", "{\"kind\":\"item\",\"text\":\"one\"}");
    r = json_object_get(json_object_get(a, "result"), "structuredContent");
    assert_string_equal(json_string_value(json_object_get(r, "action")), "item.add");
    json_decref(a);
    a = tool(f, "entry_add", "{\"kind\":\"step\",\"text\":\"Reproduce: run it\"}");
    r = json_object_get(json_object_get(json_object_get(a, "result"), "structuredContent"),
                        "entry");
    assert_string_equal(json_string_value(json_object_get(r, "title")), "Reproduce");
    assert_string_equal(json_string_value(json_object_get(r, "text")), "run it");
    json_decref(a);

    /* a claim: the session's actor holds it; another actor is refused, naming the holder */
    a = tool(f, "item_claim", "{\"num\":1}");
    r = json_object_get(json_object_get(json_object_get(a, "result"), "structuredContent"),
                        "entry");
    assert_string_equal(json_string_value(json_object_get(r, "claimed_by")), "agent-a");
    json_decref(a);
    struct ft_err err;
    ft_store_set_actor(f->s.st, "agent-b");
    assert_int_equal(
        ft_store_item_claim(f->s.st, 1, 1, FT_CLAIM, FT_CLAIM_STALE_MS, NULL, NULL, &err),
        FT_EEXIST);
    assert_non_null(strstr(err.msg, "item 1 is claimed by agent-a"));
    a = tool(f, "item_claim", "{\"num\":1,\"release\":true,\"steal\":true}");
    assert_true(json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
    json_decref(a);
    a = tool(f, "entry_update", "{\"kind\":\"item\",\"num\":1,\"state\":\"done\",\"position\":1}");
    r = json_object_get(json_object_get(a, "result"), "structuredContent");
    assert_string_equal(json_string_value(json_object_get(r, "action")), "item.move");
    json_decref(a);
    a = tool(f, "entry_update", "{\"kind\":\"item\",\"num\":1}");
    assert_true(json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
    json_decref(a);
    a = tool(f, "tracker_update", "{\"status\":\"waiting\",\"repro_timeout_s\":30}");
    assert_null(json_object_get(json_object_get(a, "result"), "isError"));
    json_decref(a);
    a = tool(f, "tracker_read", "{\"format\":\"json\"}");
    r = json_object_get(json_object_get(a, "result"), "structuredContent");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "waiting");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "reproduction"), "timeout_ms")),
        30000);
    json_decref(a);
}

static void resources_and_subscriptions(void **state)
{
    struct fx *f = *state;
    json_t *a = tool(f, "tracker_create", "{\"title\":\"Res\",\"slug\":\"res\"}");
    json_decref(a);
    a = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/list\"}");
    json_t *list = json_object_get(json_object_get(a, "result"), "resources");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "uri")),
                        "flowtrack://tracker/res");
    json_decref(a);
    a = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/read\",\"params\":{\"uri\":"
               "\"flowtrack://tracker/res\"}}");
    json_t *c = json_array_get(json_object_get(json_object_get(a, "result"), "contents"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "mimeType")), "text/markdown");
    assert_non_null(strstr(json_string_value(json_object_get(c, "text")), "# Res"));
    json_decref(a);
    assert_false(ft_mcp_subscribed(f->m));
    a = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/subscribe\",\"params\":{"
               "\"uri\":\"flowtrack://tracker/res\"}}");
    json_decref(a);
    assert_true(ft_mcp_subscribed(f->m));
    size_t n = json_array_size(f->sent);
    ft_mcp_tracker_changed(f->m, "other");
    assert_int_equal(json_array_size(f->sent), n);
    ft_mcp_tracker_changed(f->m, "res");
    assert_int_equal(json_array_size(f->sent), n + 1);
    json_t *note = json_array_get(f->sent, n);
    assert_string_equal(json_string_value(json_object_get(note, "method")),
                        "notifications/resources/updated");
    a = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/unsubscribe\",\"params\":{"
               "\"uri\":\"flowtrack://tracker/res\"}}");
    json_decref(a);
    assert_false(ft_mcp_subscribed(f->m));
    a = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/subscribe\",\"params\":{"
               "\"uri\":\"flowtrack://tracker/gone\"}}");
    assert_int_equal(error_code(a), FT_RPC_NO_RESOURCE);
    json_decref(a);
}

static void run_that_cannot_start(void **state)
{
    struct fx *f = *state;
    /* the configured binary does not exist: the run is refused as a tool result */
    json_t *a = tool(f, "tracker_create", "{\"title\":\"Run\"}");
    json_decref(a);
    a = tool(f, "run", "{\"command\":\"true\"}");
    assert_true(json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
    json_decref(a);
    assert_int_equal(ft_mcp_pending(f->m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tools_list_fits),
        cmocka_unit_test_setup_teardown(initialize_negotiates, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(arguments_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(tools_write_and_refuse, setup, teardown),
        cmocka_unit_test_setup_teardown(resources_and_subscriptions, setup, teardown),
        cmocka_unit_test_setup_teardown(run_that_cannot_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
