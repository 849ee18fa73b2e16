// The model alone (base + model, nothing above them): the session ring,
// ports and the slow-reader rules, routing, and the calls the model makes
// upward. This binary links only core/base and core/model, so it also
// proves the model needs nothing of the layers above it.
#include <string.h>

#include <string>

#include "base/config.h"
#include "check.h"
#include "model/event.h"
#include "model/room.h"
#include "model/route.h"
#include "model/session.h"
#include "model/spy.h"
#include "model/up.h"
#include "model/up_stub.h"

static Msg *event(const char *type, const char *kind = NULL) {
    cJSON *ev = event_new(type);
    if (kind) cJSON_AddStringToObject(ev, "kind", kind);
    cJSON_AddStringToObject(ev, "text", "x");
    return event_encode(ev);
}

static void push(Session *s, const char *type, const char *kind = NULL) {
    Msg *m = event(type, kind);
    session_push(s, m);
    msg_unref(m);
}

static Port port(PortKind kind = PORT_WEB) {
    Port p = {};
    p.kind = kind;
    p.id = port_next_id();
    return p;
}

// What port_next hands p until it is up to date, as a string of type
// letters (t = text, c = chat, y = typing).
static std::string drain(Port *p) {
    std::string out;
    uint64_t seq;
    for (Msg *m; (m = port_next(p, &seq));) out += strstr(msg_json(m), "\"typing\"") ? 'y' : strstr(msg_json(m), "\"chat\"") ? 'c' : 't';
    return out;
}

static void reset_config(void) {
    config_defaults(&g_cfg);
    up_stub_install();
}

static void end_and_free(Session *s) {
    while (s->ports) session_detach(s, s->ports);
    session_end(s);
}

TEST(ring_grows_then_keeps_the_last_queue_max_events) {
    reset_config();
    g_cfg.queue_max = 16;
    g_cfg.slow_policy = SLOW_SKIP;
    Session *s = session_new();
    CHECK(s->ring_cap == 0 && s->first_seq == 1);
    push(s, "text");
    CHECK(s->ring_cap == 4); // what an idle user holds
    for (int i = 0; i < 15; i++) push(s, "text");
    CHECK(s->ring_len == 16 && s->ring_cap == 16 && s->first_seq == 1);
    for (int i = 0; i < 5; i++) push(s, "text");
    CHECK(s->ring_len == 16 && s->ring_cap == 16); // full: the oldest go
    CHECK(s->first_seq == 6 && session_next_seq(s) == 22);
    CHECK(session_event_at(s, 5) == NULL && session_event_at(s, 6) != NULL && session_event_at(s, 22) == NULL);
    Msg *m = session_event_at(s, 21);
    CHECK(m->refs == 1); // the ring's own reference, and nobody else's
    end_and_free(s);
}

TEST(a_port_sees_only_what_is_meant_for_it) {
    reset_config();
    Session *s = session_new();
    Port a = port(), b = port();
    a.typing = true;
    session_attach(s, &a, 1);
    session_attach(s, &b, 1);
    push(s, "text");
    push(s, "typing");
    Msg *m = event("text");
    m->target = b.id; // a reply to b's request
    session_push(s, m);
    msg_unref(m);
    CHECK(drain(&a) == "ty");
    CHECK(drain(&b) == "tt");
    CHECK(a.cursor == session_next_seq(s) && b.cursor == session_next_seq(s));
    end_and_free(s);
}

TEST(slow_readers_skip_typing_then_chatter_and_are_told_how_much) {
    reset_config();
    g_cfg.queue_max = 64;
    g_cfg.queue_soft = 8;
    Session *s = session_new();
    Port p = port();
    p.typing = true;
    session_attach(s, &p, 1);
    // seqs 1-14 held, 15 next: "behind" is 15 - seq
    push(s, "typing");                                  // 14 behind: past half the soft bound
    for (int i = 0; i < 6; i++) push(s, "chat", "say"); // 13..8 behind: 2-6 past the bound, 7 not
    push(s, "text");                                    // never skipped, however far behind
    for (int i = 0; i < 6; i++) push(s, "chat", "say"); // within the bound
    std::string got = drain(&p);
    CHECK(got == "ctcccccc");
    CHECK(p.missed == 5); // for the transport's `missed` notice
    end_and_free(s);
}

TEST(a_reader_queue_max_behind_is_dropped_or_skipped_per_policy) {
    reset_config();
    g_cfg.queue_max = 8;
    Session *s = session_new();
    Port p = port();
    session_attach(s, &p, 1);
    for (int i = 0; i < 9; i++) push(s, "text");
    CHECK(g_uplog.dropped == 1 && g_uplog.last_port == &p);
    p.closing = true; // what net does when it drops one
    for (int i = 0; i < 8; i++) push(s, "text");
    CHECK(g_uplog.dropped == 1); // once
    end_and_free(s);

    reset_config();
    g_cfg.queue_max = 8;
    g_cfg.slow_policy = SLOW_SKIP;
    s = session_new();
    Port q = port();
    session_attach(s, &q, 1);
    for (int i = 0; i < 11; i++) push(s, "text");
    CHECK(g_uplog.dropped == 0);
    CHECK(q.missed == 3 && q.cursor == s->first_seq);
    CHECK(drain(&q) == "tttttttt");
    end_and_free(s);
}

TEST(a_port_s_own_copy_replaces_one_event_and_is_let_go) {
    reset_config();
    Session *s = session_new();
    Port p = port();
    session_attach(s, &p, 1);
    push(s, "text");
    Msg *own = event("auth");
    p.own = own; // the port's reference now
    p.own_seq = session_next_seq(s);
    msg_ref(own); // and the test's, to watch it
    push(s, "auth");
    push(s, "text");
    uint64_t seq;
    CHECK(port_next(&p, &seq) != own);
    CHECK(port_next(&p, &seq) == own && seq == p.own_seq);
    CHECK(port_next(&p, &seq) != NULL && p.own == NULL && own->refs == 1); // written: given back
    CHECK(port_next(&p, &seq) == NULL);
    // one never written goes when its port leaves the session
    p.own = event("auth");
    p.own_seq = session_next_seq(s);
    push(s, "auth");
    session_detach(s, &p);
    CHECK(p.own == NULL && p.session == NULL);
    msg_unref(own);
    end_and_free(s);
}

TEST(the_last_port_out_detaches_and_the_first_back_attaches) {
    reset_config();
    Session *s = session_new();
    Port a = port(), b = port();
    session_attach(s, &a, 1);
    CHECK(g_uplog.attached == 1); // a new session counts as detached until then
    session_attach(s, &b, 1);
    CHECK(g_uplog.attached == 1);
    session_detach(s, &a);
    CHECK(g_uplog.detached == 0);
    session_detach(s, &b);
    CHECK(g_uplog.detached == 1 && g_uplog.last_session == s);
    session_attach(s, &a, 1);
    CHECK(g_uplog.attached == 2);
    end_and_free(s);
}

TEST(a_detach_says_whether_the_last_client_can_come_back) {
    reset_config();
    Session *s = session_new();
    Port web = port(PORT_WEB), term = port(PORT_TELNET);
    session_attach(s, &web, 1);
    session_detach(s, &web);
    CHECK(g_uplog.detached == 1 && g_uplog.can_return); // a web client resumes: grace
    session_attach(s, &term, 1);
    session_detach(s, &term);
    CHECK(g_uplog.detached == 2 && !g_uplog.can_return); // a terminal hung up: the end
    end_and_free(s);
}

TEST(ending_tells_the_scripts_first_frees_the_node_and_closes_ports) {
    reset_config();
    Session *s1 = session_new(), *s2 = session_new();
    uint32_t node = s1->node;
    SessionRef r1 = session_ref(s1);
    Port p = port();
    session_attach(s1, &p, 1);
    session_end(s1);
    CHECK(!strcmp(g_uplog.last_hook, "session_end") && g_uplog.ended == 1 && g_uplog.closed == 1);
    CHECK(session_deref(r1) == NULL && session_by_node(node) == NULL);
    Session *s3 = session_new(); // the lowest free node again, but not the same session
    CHECK(s3->node == node && session_deref(r1) == NULL);
    session_end(s1); // twice is harmless
    CHECK(g_uplog.ended == 1);
    session_detach(s1, &p); // the last port out frees an ended session
    end_and_free(s2);
    end_and_free(s3);
}

TEST(input_waits_during_a_password_check_and_is_cleaned) {
    reset_config();
    Session *s = session_new();
    s->auth_busy = true;
    session_input(s, 1, "first", 5);
    session_input(s, 2, "other", 5);
    CHECK(g_uplog.hooks == 0 && s->typeahead.len > 0);
    session_keep_typeahead_of(s, 1);
    s->auth_busy = false;
    session_replay_typeahead(s);
    CHECK(g_uplog.hooks == 1 && !strcmp(g_uplog.last_hook, "input"));
    session_input(s, 1, "a\x1b[2Jb", 6);
    CHECK(g_uplog.hooks == 2);
    end_and_free(s);
}

TEST(routing_skips_those_who_ignore_the_sender_and_typing_skips_the_sender) {
    reset_config();
    Session *a = session_new(), *b = session_new(), *c = session_new();
    snprintf(a->handle, sizeof a->handle, "alice");
    snprintf(b->handle, sizeof b->handle, "bob");
    snprintf(c->handle, sizeof c->handle, "carol");
    Room *r = room_join(a, "lobby");
    room_join(b, "lobby");
    room_join(c, "lobby");
    session_ignore(c, "ALICE", true);
    Msg *say = event("chat", "say");
    route_room(r, say, a);
    CHECK(a->ring_len == 1 && b->ring_len == 1 && c->ring_len == 0);
    Msg *typing = event("typing");
    route_room(r, typing, a);
    CHECK(a->ring_len == 1 && b->ring_len == 2 && c->ring_len == 0);
    CHECK(route_all(say) == 3);
    msg_unref(say);
    msg_unref(typing);
    end_and_free(a);
    end_and_free(b);
    end_and_free(c);
    CHECK(room_total() == 0);
}

TEST(a_spy_gets_a_copy_and_links_go_with_either_session) {
    reset_config();
    Session *w = session_new(), *t = session_new();
    CHECK(spy_start(w, t, "> "));
    CHECK(spy_target(w) == t->node);
    push(t, "text");
    push(t, "typing"); // silent: never copied
    CHECK(w->ring_len == 1);
    Msg *copy = session_event_at(w, 1);
    CHECK(strstr(msg_json(copy), "\"spy\"") && (copy->flags & MSG_SPY));
    end_and_free(t);
    CHECK(g_spy_count == 0 && spy_target(w) == 0);
    end_and_free(w);
}
