/*
 * notify.c: `flowtrack serve` under systemd (Type=notify; contrib/flowtrack.service).
 *
 * READY=1 once the listener is bound (with the URL as STATUS= and MAINPID=), STOPPING=1 when
 * shutdown begins, and WATCHDOG=1 every half of the unit's WatchdogSec from a timer of the
 * loop itself: if the loop stops turning, the pings stop and systemd restarts the service.
 *
 * libsystemd's sd_notify() does the talking. It is loaded with dlopen() here, only when
 * NOTIFY_SOCKET is set, rather than linked: every CLI command is a short process of the same
 * binary, and loading libsystemd and its dependencies at each start would cost all of them
 * for the one command that runs as a service. Without libsystemd on the machine the server
 * says so once in its log and runs on.
 */
#include "internal.h"

#include "../util/ft_xalloc.h"

#include <dlfcn.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "../util/banned.h"

struct srv_notify {
    void *lib;
    __typeof__(sd_notify) *notify;
    __typeof__(sd_watchdog_enabled) *watchdog_enabled;
    struct event *ping;
    uint64_t every_us; /* half of WatchdogSec: the pings' period (0: no watchdog) */
};

static void send_state(struct srv_notify *n, const char *state)
{
    if (n && n->notify)
        n->notify(0, state);
}

static void on_ping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    send_state(arg, "WATCHDOG=1");
}

void srv_notify_ready(struct ft_server *srv)
{
    const char *sock = getenv("NOTIFY_SOCKET");
    if (!sock || !*sock)
        return;
    struct srv_notify *n = ft_xcalloc(1, sizeof(*n));
    srv->notify = n;
    n->lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (n->lib) {
        *(void **)&n->notify = dlsym(n->lib, "sd_notify");
        *(void **)&n->watchdog_enabled = dlsym(n->lib, "sd_watchdog_enabled");
    }
    if (!n->notify || !n->watchdog_enabled) {
        srv_log(srv, "warn", "systemd",
                "msg=\"NOTIFY_SOCKET is set but libsystemd.so.0 cannot be loaded: no readiness "
                "or watchdog notifications\" error=\"%s\"",
                n->lib ? "sd_notify not found" : "dlopen failed");
        n->notify = NULL;
        return;
    }
    char state[512];
    snprintf(state, sizeof(state), "READY=1\nSTATUS=listening on %s\nMAINPID=%ld", srv->url,
             (long)getpid());
    send_state(n, state);
    uint64_t usec = 0;
    int wd = n->watchdog_enabled(0, &usec);
    if (wd > 0 && usec > 0) {
        uint64_t half = usec / 2;
        struct timeval tv = {(time_t)(half / 1000000), (suseconds_t)(half % 1000000)};
        n->every_us = half;
        if (srv->base) { /* else the caller pings (a group's supervisor, group.c) */
            n->ping = event_new(srv->base, -1, EV_PERSIST, on_ping, n);
            event_add(n->ping, &tv);
        }
        send_state(n, "WATCHDOG=1");
    }
    srv_log(srv, "info", "systemd", "ready=1 watchdog_ms=%llu",
            (unsigned long long)(wd > 0 ? usec / 1000 : 0));
}

int64_t srv_notify_ping_ms(struct ft_server *srv)
{
    return srv->notify ? (int64_t)(srv->notify->every_us / 1000) : 0;
}

void srv_notify_ping(struct ft_server *srv)
{
    send_state(srv->notify, "WATCHDOG=1");
}

void srv_notify_status(struct ft_server *srv, const char *status)
{
    char state[512];
    snprintf(state, sizeof(state), "STATUS=%s", status);
    send_state(srv->notify, state);
}

void srv_notify_stopping(struct ft_server *srv)
{
    send_state(srv->notify, "STOPPING=1\nSTATUS=shutting down: ending the streams");
}

void srv_notify_stop(struct ft_server *srv)
{
    struct srv_notify *n = srv->notify;
    if (!n)
        return;
    if (n->ping)
        event_free(n->ping);
    if (n->lib)
        dlclose(n->lib);
    free(n);
    srv->notify = NULL;
}
