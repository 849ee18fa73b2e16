// Dynamic HTTP routes: /healthz and /metrics (PROTOCOL.md section 7).
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "histogram.h"
#include "lua_host.h"
#include "room.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "transport.h"

Stats g_stats;

struct HttpReq {
    Buf body;
};

static void metric(Buf *b, const char *name, const char *type, const char *help, unsigned long long v) {
    char line[512];
    int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
    buf_add(b, line, (size_t)n, 1 << 20);
}

// Every counter in g_stats, with its name and help line.
static const struct {
    const char *name, *help;
    const uint64_t *value;
} g_counters[] = {
    {"partyline_messages_in_total", "Messages received from clients.", &g_stats.messages_in},
    {"partyline_messages_out_total", "Events written to clients.", &g_stats.messages_out},
    {"partyline_script_reloads_total", "Successful script reloads.", &g_stats.script_reloads},
    {"partyline_script_errors_total", "Failed reloads and errors raised by scripts.", &g_stats.script_errors},
    {"partyline_slow_disconnects_total", "Connections dropped for falling queue_max behind.", &g_stats.slow_disconnects},
    {"partyline_slow_skipped_total", "Events skipped for slow readers (slow_policy=skip).", &g_stats.slow_skipped},
    {"partyline_slow_typing_dropped_total", "Typing events skipped for slow readers (soft tier).",
     &g_stats.slow_typing_dropped},
    {"partyline_slow_chatter_dropped_total", "Room chatter skipped for slow readers (soft tier).",
     &g_stats.slow_chatter_dropped},
    {"partyline_rate_limited_total", "Messages that waited for the input rate limit (or were dropped, for what cannot wait).",
     &g_stats.rate_limited},
    {"partyline_flood_disconnects_total", "Connections closed for flooding.", &g_stats.flood_disconnects},
    {"partyline_addr_refused_total", "Connections refused: too many from one address.", &g_stats.addr_refused},
    {"partyline_login_failures_total", "Failed or refused logins.", &g_stats.login_failures},
    {"partyline_login_timeouts_total", "Sessions closed for not logging in in time.", &g_stats.login_timeouts},
    {"partyline_idle_timeouts_total", "Users logged off for idling.", &g_stats.idle_timeouts},
};

static void metrics_text(Buf *b) {
    metric(b, "partyline_connections", "gauge", "Open WebSocket and telnet connections.", g_conn_count);
    metric(b, "partyline_sessions", "gauge", "Sessions, attached or detached.", g_session_count);
    metric(b, "partyline_rooms", "gauge", "Rooms with at least one member.", room_total());
    for (size_t i = 0; i < sizeof g_counters / sizeof g_counters[0]; i++)
        metric(b, g_counters[i].name, "counter", g_counters[i].help, *g_counters[i].value);
    lua_host_fault_metrics(b);
    store_metrics(b);
    hist_text(&g_event_hist, b);
    hist_text(&g_fanout_hist, b);
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    HttpReq *r = (HttpReq *)user;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        // `in` is the URL below the mount point: "" for /healthz, /metrics
        char uri[64];
        if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0) return -1;
        memset(r, 0, sizeof *r);
        const char *type = "text/plain; charset=utf-8";
        if (!strcmp(uri, "/healthz")) {
            buf_adds(&r->body, "ok\n", 1024);
        } else if (!strcmp(uri, "/metrics")) {
            metrics_text(&r->body);
            type = "text/plain; version=0.0.4; charset=utf-8";
        } else {
            return lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL) ? -1 : 0;
        }
        unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
        if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, type, r->body.len, &p, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8, &p,
                                         end) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
            return 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!r || !r->body.p) break;
        Buf out = {};
        buf_reserve(&out, LWS_PRE + r->body.len, 1 << 21);
        memcpy(out.p + LWS_PRE, r->body.p, r->body.len);
        int n = lws_write(wsi, (unsigned char *)out.p + LWS_PRE, r->body.len, LWS_WRITE_HTTP_FINAL);
        buf_free(&out);
        buf_free(&r->body);
        if (n < 0) return -1;
        if (lws_http_transaction_completed(wsi)) return -1;
        return 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (r) buf_free(&r->body);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols g_http_protocol = {"partyline-http", cb_http, sizeof(HttpReq), 0, 0, NULL, 0};
