/* loadgen: a WebSocket load generator for partyline and the reference servers.
 *
 * One thread, one libuv loop, libwebsockets clients on it (lws does the
 * WebSocket framing). It connects N clients (spread over source addresses
 * 127.0.0.1..127.0.0.K to go past the ephemeral port limit), gets each one
 * ready, then has S of them send lines at a fixed rate and measures what
 * arrives: deliveries per second and publish-to-delivery latency, from the
 * send time each line carries ("~@<ns>", CLOCK_MONOTONIC: same machine).
 *
 * Servers (--server):
 *   partyline  logs in with a JWT (?token=), enters chat, joins its room; a
 *              client is ready when it sees its own join
 *   mirror     libwebsockets-test-server's lws-mirror-protocol (no rooms)
 *   plain      a server that broadcasts each message to its room; "/join r"
 *              picks the room (scripts/bench/ws_server.js)
 *
 * Modes (--mode):
 *   chat    senders send --rate lines/s each for --duration s
 *   idle    clients connect and sit for --duration s (memory, reloads)
 *   churn   each client connects, gets ready and quits, over and over
 *   login   partyline only: password logins (accounts made first)
 * --telnet-port P (partyline, chat mode, everyone in one room): the clients are
 * telnet users instead, on lws raw sockets: each registers through the real
 * prompts (so the server should hash passwords at a light cost), enters
 * chat, and reads the rendered lines its terminal would show.
 * --presence (partyline): each client also asks for `presence` events (the
 * web page's who and rooms panels); rx_bytes counts every byte the clients
 * received in the window, whatever it was.
 * --probe adds one more client that sends a request every 5 ms and times the
 * answer: its longest round trip is the longest the server's loop stalled.
 *
 * Prints one JSON object with the figures. */
#define _GNU_SOURCE
#include <libwebsockets.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <uv.h>

enum { SRV_PARTYLINE, SRV_MIRROR, SRV_PLAIN };
enum { MODE_CHAT, MODE_IDLE, MODE_CHURN, MODE_LOGIN };
enum { C_IDLE, C_CONNECTING, C_OPEN, C_READY, C_DONE };

typedef struct Client {
    struct lws *wsi;
    int idx, state, room;
    int sends_due;      /* lines to write at the next WRITEABLE */
    int out_pending;    /* setup messages still to write (partyline: "c", "/join") */
    int setup_step;
    uint64_t started_ns;
    int is_probe;
    int registered;     /* login mode: the account exists */
    int probe_armed;    /* probe: a request is out */
    int tn_len;         /* telnet: the line being read, for prompts and markers */
    char tn_line[512];
    char tn_out[96];    /* telnet: a setup answer waiting for WRITEABLE */
} Client;

static struct {
    int server, mode;
    const char *host, *path, *secret;
    int port, clients, senders, room_size, concurrency, spread, probe, menu;
    double rate, duration, warmup;
    const char *password;
    int telnet_port;
    int presence;
    uint64_t window_at; /* CLOCK_MONOTONIC ns: the window opens then (several generators at once) */
} O = {SRV_PARTYLINE, MODE_CHAT, "127.0.0.1", "/ws", "", 8080, 100, 0, 0, 200, 32, 0, 0, 10, 10, 1, "bench-pass", 0, 0, 0};

static int is_telnet(const Client *c) { return O.telnet_port && !c->is_probe; }

static uv_loop_t *g_loop;
static struct lws_context *g_ctx;
static Client *g_cl;
static Client g_probe;
static int g_next_connect, g_inflight, g_ready, g_closed_unexpected, g_conn_errors;
static uint64_t g_starts;
static uint64_t g_rx_bytes; /* received in the window, by every client but the probe */
static uint64_t g_t0, g_window_start, g_window_end, g_sent, g_delivered, g_churns, g_logins;
static int g_phase; /* 0 connecting, 1 warmup, 2 measuring, 3 draining, 4 done */
static uv_timer_t g_tick;

/* latency histogram: 1 us buckets to 100 ms, then 1 ms buckets to 10 s */
#define H_FINE 100000
#define H_N (H_FINE + 9900 + 1)
static uint32_t *g_hist, *g_probe_hist;
static uint64_t g_hist_n, g_probe_n, g_probe_max_us, g_login_max_us;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void hist_add(uint32_t *h, uint64_t *n, uint64_t us) {
    size_t b = us < H_FINE ? us : H_FINE + (us - H_FINE) / 1000;
    if (b >= H_N) b = H_N - 1;
    h[b]++;
    (*n)++;
}

static double hist_pct(const uint32_t *h, uint64_t n, double p) {
    if (!n) return 0;
    uint64_t want = (uint64_t)(p * (double)n), acc = 0;
    for (size_t b = 0; b < H_N; b++) {
        acc += h[b];
        if (acc > want) return b < H_FINE ? (double)b : (double)(H_FINE + (b - H_FINE) * 1000);
    }
    return (double)(H_FINE + (H_N - H_FINE) * 1000);
}

/* ---- JWT (HS256) for partyline's ?token= logins */
static size_t b64url(const unsigned char *in, size_t len, char *out) {
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    size_t j = 0;
    for (int i = 0; i < n; i++) {
        char c = out[i];
        if (c == '=') break;
        out[j++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[j] = 0;
    return j;
}

static void make_token(const char *sub, char *out, size_t outlen) {
    char header[64], payload[160], sig64[64], signing[400];
    unsigned char mac[32];
    unsigned maclen = 0;
    char p[128];
    b64url((const unsigned char *)"{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27, header);
    int pl = snprintf(p, sizeof p, "{\"sub\":\"%s\",\"exp\":%ld}", sub, (long)time(NULL) + 86400);
    b64url((const unsigned char *)p, (size_t)pl, payload);
    int sl = snprintf(signing, sizeof signing, "%s.%s", header, payload);
    HMAC(EVP_sha256(), O.secret, (int)strlen(O.secret), (unsigned char *)signing, (size_t)sl, mac, &maclen);
    b64url(mac, maclen, sig64);
    snprintf(out, outlen, "%s.%s", signing, sig64);
}

/* ---- connecting */
static void handle_of(const Client *c, char *out, size_t len) {
    if (c->is_probe) snprintf(out, len, "probe");
    else snprintf(out, len, "%s%d", is_telnet(c) ? "t" : "b", c->idx);
}

static void start_client(Client *c) {
    struct lws_client_connect_info i;
    char path[600], iface[32], handle[32];
    memset(&i, 0, sizeof i);
    handle_of(c, handle, sizeof handle);
    if (O.server == SRV_PARTYLINE && O.mode != MODE_LOGIN && !c->is_probe) {
        char tok[512];
        make_token(handle, tok, sizeof tok);
        snprintf(path, sizeof path, "%s?token=%s%s", O.path, tok, O.presence ? "&presence=1" : "");
    } else {
        snprintf(path, sizeof path, "%s", O.path);
    }
    snprintf(iface, sizeof iface, "127.0.0.%d", 1 + (O.spread > 1 ? c->idx % O.spread : 0));
    i.context = g_ctx;
    i.address = O.host;
    i.port = O.port;
    i.path = path;
    i.host = O.host;
    i.origin = O.host;
    i.protocol = O.server == SRV_MIRROR ? "lws-mirror-protocol" : NULL;
    i.iface = iface;
    i.userdata = c;
    i.pwsi = &c->wsi;
    if (is_telnet(c)) {
        i.port = O.telnet_port;
        i.method = "RAW";
        i.protocol = "bench-telnet";
        i.local_protocol_name = "bench-telnet";
        c->tn_len = 0;
    }
    c->state = C_CONNECTING;
    c->setup_step = 0;
    c->started_ns = now_ns();
    int counted = !c->is_probe; /* the probe is not part of the setup */
    g_inflight += counted;
    if (!lws_client_connect_via_info(&i)) {
        g_inflight -= counted;
        g_conn_errors++;
        c->state = C_DONE;
    }
}

/* Closing with a reset instead of a FIN leaves no TIME_WAIT socket behind:
 * tens of thousands of them would hold ports other programs want to bind. */
static void abortive_close(struct lws *wsi) {
    struct linger lg = {1, 0};
    int fd = wsi ? (int)lws_get_socket_fd(wsi) : -1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

static int room_of(const Client *c) { return O.room_size ? c->idx / O.room_size : 0; }

static void became_ready(Client *c) {
    if (c->state == C_READY) return;
    c->state = C_READY;
    g_inflight--;
    g_ready++;
    if (O.mode == MODE_CHURN) { /* ready: now leave, and another takes its place */
        g_churns++;
        c->out_pending = 1;
        c->setup_step = 100;
        lws_callback_on_writable(c->wsi);
    }
    if (O.mode == MODE_LOGIN) {
        c->registered = 1;
        uint64_t us = (now_ns() - c->started_ns) / 1000;
        if (us > g_login_max_us) g_login_max_us = us;
        g_logins++;
        c->out_pending = 1;
        c->setup_step = 100;
        lws_callback_on_writable(c->wsi);
    }
}

/* ---- the messages each kind of client writes */
static int write_text(struct lws *wsi, const char *s, size_t n) {
    unsigned char buf[LWS_PRE + 1024];
    if (n > 1024) n = 1024;
    memcpy(buf + LWS_PRE, s, n);
    return lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n ? -1 : 0;
}

static int write_raw(struct lws *wsi, const char *s, size_t n) {
    unsigned char buf[LWS_PRE + 256];
    if (n > 256) n = 256;
    memcpy(buf + LWS_PRE, s, n);
    return lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_RAW) < (int)n ? -1 : 0;
}

/* A chat line carrying its send time; padded to a typical line length. */
static int write_line(Client *c) {
    char line[256];
    int n;
    uint64_t t = now_ns();
    if (is_telnet(c)) {
        n = snprintf(line, sizeof line, "~@%llu the quick brown fox jumps over the lazy dog\r\n", (unsigned long long)t);
        if (g_phase == 2) g_sent++;
        return write_raw(c->wsi, line, (size_t)n);
    }
    if (O.server == SRV_PARTYLINE)
        n = snprintf(line, sizeof line, "{\"type\":\"input\",\"text\":\"~@%llu the quick brown fox jumps over the lazy dog\"}",
                     (unsigned long long)t);
    else
        n = snprintf(line, sizeof line, "~@%llu the quick brown fox jumps over the lazy dog", (unsigned long long)t);
    if (g_phase == 2) g_sent++;
    (void)c;
    return write_text(c->wsi, line, (size_t)n);
}

static int write_setup(Client *c) {
    char msg[256], handle[32];
    int n = 0;
    handle_of(c, handle, sizeof handle);
    if (c->setup_step == 100) { /* churn / login: log off from the main menu */
        c->setup_step = 101;
        if (O.server == SRV_PARTYLINE) n = snprintf(msg, sizeof msg, "{\"type\":\"input\",\"text\":\"g\"}");
        else {
            abortive_close(c->wsi);
            return -1; /* references: just close */
        }
    } else if (c->is_probe) {
        return 0;
    } else if (O.server == SRV_PARTYLINE) {
        if (O.mode == MODE_LOGIN) {
            n = snprintf(msg, sizeof msg, "{\"type\":\"%s\",\"handle\":\"%s\",\"password\":\"%s\"}",
                         c->setup_step == 50 ? "register" : "login", handle, O.password);
        } else if (c->setup_step == 0 && O.menu) { /* stay at the main menu */
            n = snprintf(msg, sizeof msg, "{\"type\":\"bench-sync\"}");
            c->setup_step = 3;
        } else if (c->setup_step == 0) {
            n = snprintf(msg, sizeof msg, "{\"type\":\"input\",\"text\":\"c\"}");
            c->setup_step = O.room_size ? 1 : 2;
            c->out_pending++;
        } else if (c->setup_step == 1) {
            n = snprintf(msg, sizeof msg, "{\"type\":\"input\",\"text\":\"/join r%d\"}", room_of(c));
            c->setup_step = 2;
            c->out_pending++;
        } else if (c->setup_step == 2) {
            n = snprintf(msg, sizeof msg, "{\"type\":\"bench-sync\"}");
            c->setup_step = 3;
        }
    } else if (O.server == SRV_PLAIN && O.room_size) {
        n = snprintf(msg, sizeof msg, "/join r%d", room_of(c));
    }
    if (!n) return 0;
    return write_text(c->wsi, msg, (size_t)n);
}

/* ---- what arrives */
static void on_rx(Client *c, const char *in, size_t len) {
    if (c->is_probe) {
        if (!c->probe_armed) return;
        c->probe_armed = 0;
        uint64_t us = (now_ns() - c->started_ns) / 1000;
        if (g_phase >= 1 && g_phase <= 3) {
            hist_add(g_probe_hist, &g_probe_n, us);
            if (us > g_probe_max_us) g_probe_max_us = us;
        }
        return;
    }
    if (c->state == C_OPEN && O.server == SRV_PARTYLINE) {
        if (O.mode == MODE_LOGIN || O.mode == MODE_CHURN) { /* at the main menu */
            if (memmem(in, len, "\"type\":\"menu\"", 13)) became_ready(c);
            if (O.mode == MODE_LOGIN && memmem(in, len, "\"handle_taken\"", 14)) {
                c->registered = 1;
                c->setup_step = 0; /* made earlier: log in instead */
                c->out_pending = 1;
                lws_callback_on_writable(c->wsi);
            }
            return;
        }
        /* the answer to the unknown request sent after the setup lines:
         * requests are handled in order, so the joins are done by then (a
         * join line itself may be skipped as chatter by a busy server) */
        if (memmem(in, len, "\"bad_request\"", 13)) became_ready(c);
        return;
    }
    const char *m = memmem(in, len, "~@", 2);
    if (!m) return;
    uint64_t t = strtoull(m + 2, NULL, 10);
    if (t < g_window_start || g_phase < 2) return;
    g_delivered++;
    hist_add(g_hist, &g_hist_n, (now_ns() - t) / 1000);
}

/* The lines the clock has given c to send, while the socket takes them. */
static int write_due_lines(Client *c, struct lws *wsi) {
    while (c->sends_due > 0 && !lws_send_pipe_choked(wsi)) {
        c->sends_due--;
        if (write_line(c) < 0) return -1;
    }
    if (c->sends_due > 0) lws_callback_on_writable(wsi);
    return 0;
}

/* expected: it was leaving (churn, login); anything else before the end counts */
static void client_closed(Client *c, int expected) {
    if (c->state == C_READY) g_ready--;
    else if (c->state == C_CONNECTING || c->state == C_OPEN) g_inflight--;
    if (!expected && g_phase < 4) g_closed_unexpected++;
    c->state = C_DONE;
    c->wsi = NULL;
}

static void connect_failed(Client *c) {
    g_conn_errors++;
    if (c->state != C_READY && !c->is_probe) g_inflight--;
    c->state = C_DONE;
    c->wsi = NULL;
}

/* Telnet: the registration prompts in order, each answered once it shows. */
static const struct { const char *prompt, *answer; } TN_STEPS[] = {
    {"Handle", "new"}, {"New handle", NULL /* the handle */}, {"Choose a password", NULL /* the password */},
    {"Repeat the password", NULL}, {"Your choice", "c"}, {"You are in #lobby", NULL /* ready */},
};

static void telnet_text(Client *c, const char *line, size_t n) {
    if (c->state == C_READY) {
        const char *m = memmem(line, n, "~@", 2);
        if (!m) return;
        uint64_t t = strtoull(m + 2, NULL, 10);
        if (t < g_window_start || g_phase < 2) return;
        g_delivered++;
        hist_add(g_hist, &g_hist_n, (now_ns() - t) / 1000);
        return;
    }
    int step = c->setup_step;
    if (step >= (int)(sizeof TN_STEPS / sizeof TN_STEPS[0]) || !memmem(line, n, TN_STEPS[step].prompt, strlen(TN_STEPS[step].prompt)))
        return;
    c->setup_step++;
    if (step == 5) {
        became_ready(c);
        return;
    }
    char handle[32];
    handle_of(c, handle, sizeof handle);
    const char *a = TN_STEPS[step].answer ? TN_STEPS[step].answer : step == 1 ? handle : O.password;
    snprintf(c->tn_out, sizeof c->tn_out, "%s\r\n", a);
    lws_callback_on_writable(c->wsi);
}

/* Telnet output, a line at a time (a prompt has no line end: it is looked at
 * as it stands too). IAC negotiation is left unanswered: the server then
 * keeps to its defaults (no echo). */
static void telnet_rx(Client *c, const unsigned char *in, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = in[i];
        if (ch == '\n' || c->tn_len == (int)sizeof c->tn_line - 1) {
            telnet_text(c, c->tn_line, (size_t)c->tn_len);
            c->tn_len = 0;
            continue;
        }
        if (ch >= 32 && ch < 255) c->tn_line[c->tn_len++] = (char)ch;
    }
    if (c->tn_len && c->state != C_READY) telnet_text(c, c->tn_line, (size_t)c->tn_len);
}

static int cb_telnet(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    Client *c = (Client *)user;
    switch (reason) {
    case LWS_CALLBACK_RAW_CONNECTED:
        if (c) c->state = C_OPEN;
        return 0;
    case LWS_CALLBACK_RAW_RX:
        if (c) telnet_rx(c, (const unsigned char *)in, len);
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        if (!c) return 0;
        if (c->tn_out[0]) {
            int rc = write_raw(wsi, c->tn_out, strlen(c->tn_out));
            c->tn_out[0] = 0;
            c->tn_len = 0; /* the prompt is answered */
            if (rc < 0) return -1;
        }
        return write_due_lines(c, wsi);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) connect_failed(c);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE:
        if (c && c->state != C_DONE) client_closed(c, 0);
        return 0;
    default:
        break;
    }
    return 0;
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    Client *c = (Client *)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->state = C_OPEN;
        if (c->is_probe) {
            c->state = C_READY;
            return 0;
        }
        if (O.server == SRV_PARTYLINE) {
            if (O.mode == MODE_LOGIN) c->setup_step = c->registered ? 0 : 50; /* handle_taken -> login */
            if (O.mode != MODE_CHURN) c->out_pending = 1;
        } else if (O.server == SRV_PLAIN && O.room_size) {
            c->out_pending = 1;
        }
        if (c->out_pending) lws_callback_on_writable(wsi);
        if (O.server != SRV_PARTYLINE) became_ready(c);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (c && !c->is_probe && g_phase == 2) g_rx_bytes += len;
        if (c) on_rx(c, (const char *)in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!c) return 0;
        if (c->is_probe) {
            c->started_ns = now_ns();
            c->probe_armed = 1;
            const char *q = O.server == SRV_PARTYLINE ? "{\"type\":\"ping-probe\"}" : "~probe";
            return write_text(wsi, q, strlen(q));
        }
        while (c->out_pending > 0) {
            c->out_pending--;
            if (write_setup(c) < 0) return -1;
            if (c->out_pending) {
                lws_callback_on_writable(wsi);
                return 0;
            }
        }
        return write_due_lines(c, wsi);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) connect_failed(c);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c) {
            int churn_end = (O.mode == MODE_CHURN || O.mode == MODE_LOGIN) && c->setup_step >= 100;
            if (c->is_probe) {
                if (g_phase < 4) g_closed_unexpected++;
                c->state = C_DONE;
                c->wsi = NULL;
                return 0;
            }
            client_closed(c, churn_end);
        }
        return 0;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols g_protocols[] = {
    {"bench", cb, 0, 4096, 0, NULL, 0},
    {"bench-telnet", cb_telnet, 0, 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- the clock: connects, sends at the fixed rate, moves through phases */
static double g_send_credit;

static void tick(uv_timer_t *t) {
    (void)t;
    uint64_t now = now_ns();
    double elapsed = (double)(now - g_t0) / 1e9;
    /* connect more while few are in flight */
    if (O.mode == MODE_CHURN || O.mode == MODE_LOGIN) {
        for (int i = 0; i < O.clients && g_inflight < O.concurrency && g_phase < 3; i++)
            if (g_cl[i].state == C_DONE || g_cl[i].state == C_IDLE) {
                if (O.rate > 0 && (double)g_starts >= O.rate * elapsed) break; /* paced to --rate per second */
                g_starts++;
                start_client(&g_cl[i]);
            }
    } else {
        while (g_next_connect < O.clients && g_inflight < O.concurrency) start_client(&g_cl[g_next_connect++]);
    }
    if (O.probe && g_probe.state == C_IDLE && g_phase >= 0) start_client(&g_probe);
    if (O.probe && g_probe.state == C_READY && g_probe.wsi) {
        static uint64_t last;
        if (now - last > 5000000 && !g_probe.probe_armed) {
            last = now;
            lws_callback_on_writable(g_probe.wsi);
        }
    }
    if (g_phase == 0) {
        int setup_done = O.mode == MODE_CHURN || O.mode == MODE_LOGIN ||
                         (g_next_connect == O.clients && g_inflight == 0);
        static double last_report;
        if (elapsed - last_report >= 5) {
            last_report = elapsed;
            fprintf(stderr, "loadgen: %d ready, %d connecting, %d errors, %d closed\n", g_ready, g_inflight,
                    g_conn_errors, g_closed_unexpected);
        }
        if (setup_done) {
            g_phase = 1;
            g_window_start = now + (uint64_t)(O.warmup * 1e9);
            if (O.window_at > g_window_start) g_window_start = O.window_at;
            fprintf(stderr, "loadgen: %d ready (%d errors) after %.1f s\n", g_ready, g_conn_errors, elapsed);
        }
        return;
    }
    if (g_phase == 1 && now >= g_window_start) {
        g_phase = 2;
        g_window_end = g_window_start + (uint64_t)(O.duration * 1e9);
        g_churns = g_logins = 0;
        fprintf(stderr, "loadgen: measuring for %.0f s\n", O.duration);
    }
    if (g_phase == 2 && O.mode == MODE_CHAT) {
        /* by the clock, not by ticks: a 1 ms timer fires less often than that */
        static uint64_t last_send_ns;
        if (!last_send_ns) last_send_ns = g_window_start;
        g_send_credit += O.rate * O.senders * (double)(now - last_send_ns) / 1e9;
        last_send_ns = now;
        int n = (int)g_send_credit;
        g_send_credit -= n;
        static int next_sender;
        int span = O.room_size ? O.room_size : O.clients;
        for (int k = 0; k < n; k++) {
            /* senders spread over the rooms: sender j is the first member of room j */
            int j = next_sender++ % O.senders;
            int idx = O.room_size ? (j * span) % O.clients : j;
            Client *c = &g_cl[idx];
            if (c->state != C_READY || !c->wsi) continue;
            c->sends_due++;
            lws_callback_on_writable(c->wsi);
        }
    }
    if (g_phase == 2 && now >= g_window_end) {
        g_phase = 3;
        fprintf(stderr, "loadgen: window over\n");
        g_window_end = now;
    }
    if (g_phase == 3 && now >= g_window_end + 1000000000ull) {
        g_phase = 4;
        uv_timer_stop(&g_tick);
        for (int i = 0; i < O.clients; i++)
            if (g_cl[i].wsi) abortive_close(g_cl[i].wsi);
        if (g_probe.wsi) abortive_close(g_probe.wsi);
        lws_context_destroy(g_ctx);
    }
}

static void usage(void) {
    fprintf(stderr,
            "loadgen --server partyline|mirror|plain --port P [--path /ws] [--secret S]\n"
            "        --mode chat|idle|churn|login --clients N [--senders S --rate R] [--room-size K]\n"
            "        [--duration D] [--warmup W] [--window-at MONOTONIC_NS] [--concurrency C] [--spread K] [--probe] [--menu] [--presence]\n"
            "        [--telnet-port P]\n");
    exit(2);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && ++i)
        if (ARG("--server")) O.server = !strcmp(v, "mirror") ? SRV_MIRROR : !strcmp(v, "plain") ? SRV_PLAIN : SRV_PARTYLINE;
        else if (ARG("--mode")) O.mode = !strcmp(v, "idle") ? MODE_IDLE : !strcmp(v, "churn") ? MODE_CHURN : !strcmp(v, "login") ? MODE_LOGIN : MODE_CHAT;
        else if (ARG("--port")) O.port = atoi(v);
        else if (ARG("--path")) O.path = v;
        else if (ARG("--secret")) O.secret = v;
        else if (ARG("--clients")) O.clients = atoi(v);
        else if (ARG("--senders")) O.senders = atoi(v);
        else if (ARG("--rate")) O.rate = atof(v);
        else if (ARG("--room-size")) O.room_size = atoi(v);
        else if (ARG("--duration")) O.duration = atof(v);
        else if (ARG("--warmup")) O.warmup = atof(v);
        else if (ARG("--window-at")) O.window_at = strtoull(v, NULL, 10);
        else if (ARG("--concurrency")) O.concurrency = atoi(v);
        else if (ARG("--spread")) O.spread = atoi(v);
        else if (ARG("--telnet-port")) O.telnet_port = atoi(v);
        else if (!strcmp(a, "--probe")) O.probe = 1;
        else if (!strcmp(a, "--menu")) O.menu = 1;
        else if (!strcmp(a, "--presence")) O.presence = 1;
        else usage();
#undef ARG
    }
    if (O.mode == MODE_CHAT && O.senders <= 0) O.senders = 1;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    g_cl = calloc((size_t)O.clients, sizeof *g_cl);
    g_hist = calloc(H_N, sizeof *g_hist);
    g_probe_hist = calloc(H_N, sizeof *g_probe_hist);
    if (!g_cl || !g_hist || !g_probe_hist) return 1;
    for (int i = 0; i < O.clients; i++) g_cl[i].idx = i;
    g_probe.idx = O.clients;
    g_probe.is_probe = 1;

    lws_set_log_level(LLL_ERR, NULL);
    g_loop = uv_default_loop();
    void *loops[] = {g_loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = g_protocols;
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.foreign_loops = loops;
    info.timeout_secs = 30;
    g_ctx = lws_create_context(&info);
    if (!g_ctx) {
        fprintf(stderr, "loadgen: lws_create_context failed\n");
        return 1;
    }
    g_t0 = now_ns();
    uv_timer_init(g_loop, &g_tick);
    uv_timer_start(&g_tick, tick, 1, 1);
    uv_run(g_loop, UV_RUN_DEFAULT);
    lws_context_destroy(g_ctx);

    double secs = O.duration;
    printf("{\"clients\":%d,\"conn_errors\":%d,\"closed_unexpected\":%d,\"sent\":%llu,\"delivered\":%llu,"
           "\"deliveries_per_s\":%.1f,\"p50_us\":%.0f,\"p99_us\":%.0f,\"p999_us\":%.0f,"
           "\"probe_n\":%llu,\"probe_p99_us\":%.0f,\"probe_max_us\":%llu,\"churns_per_s\":%.1f,"
           "\"logins_per_s\":%.1f,\"login_max_us\":%llu,\"rx_bytes\":%llu}\n",
           O.clients, g_conn_errors, g_closed_unexpected, (unsigned long long)g_sent,
           (unsigned long long)g_delivered, (double)g_delivered / secs, hist_pct(g_hist, g_hist_n, 0.50),
           hist_pct(g_hist, g_hist_n, 0.99), hist_pct(g_hist, g_hist_n, 0.999), (unsigned long long)g_probe_n,
           hist_pct(g_probe_hist, g_probe_n, 0.99), (unsigned long long)g_probe_max_us,
           (double)g_churns / secs, (double)g_logins / secs, (unsigned long long)g_login_max_us,
           (unsigned long long)g_rx_bytes);
    return 0;
}
