// A session's life on the board, and the board's own: login and idle
// timeouts, the grace period of a detached session, ending sessions on the
// next loop turn, and the one state the whole server is in while it stops.
#pragma once
#include <uv.h>

struct Session;

enum BoardState {
    BOARD_RUNNING,  // serving
    BOARD_DRAINING, // a stop signal came: everyone is told, connections close after their queues
    BOARD_STOPPED,  // the listeners are closing and the loop is left to drain: nothing new starts
};

BoardState lifecycle_state(void);

// On a board of many processes (cluster/): whether this process reaches the
// others (WHOLE) or serves its own users alone for now (ALONE: Redis away).
enum ClusterState { CLUSTER_OFF, CLUSTER_WHOLE, CLUSTER_ALONE };
ClusterState lifecycle_cluster(void);
void lifecycle_set_cluster(ClusterState st);

void lifecycle_init(uv_loop_t *loop);
// Starts draining: no more grace periods or deferred ends; every port closes
// once its queue is written.
void lifecycle_drain(void);
// The end of draining: our timers close (grace periods included).
void lifecycle_stop(void);

// Ends s on the next loop turn: ending one from inside a script call or an
// lws callback would re-enter both.
void lifecycle_end_soon(Session *s);

// Installed in g_up (model/up.h): the grace period starts when a session
// loses its last port, stops when one comes back or the session ends. A
// session whose last client cannot come back (a telnet hang-up) ends at once
// instead: its leave is announced and its node freed, as a BBS hangs up.
void lifecycle_detached(Session *s, bool can_return);
void lifecycle_attached(Session *s);
void lifecycle_ended(Session *s);
