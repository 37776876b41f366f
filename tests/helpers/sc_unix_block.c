/*
 * sc_unix_block: a process blocked reading a unix stream socket whose other end
 * a child holds and never writes to (a local daemon that never answers). The
 * diagnosis must name the reader, the socket, and the child holding the peer.
 */
#include "sc_common.h"

#include <sys/socket.h>
#include <sys/types.h>

int main(void)
{
    int sv[2];
    char c;
    sc_arm();
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 1;
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        sc_arm();
        close(sv[0]);
        sc_forever(); /* holds sv[1], writes nothing */
    }
    close(sv[1]);
    SC_SAY("reader %d waits on a unix socket; peer held by %d\n", (int)getpid(), (int)pid);
    return read(sv[0], &c, 1) < 0;
}
