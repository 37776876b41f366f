/*
 * sc_tcp_block: a child listens on 127.0.0.1 (port chosen by the kernel),
 * accepts one connection and never answers; the parent connects and blocks
 * reading the socket.
 */
#include "sc_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

int main(void)
{
    sc_arm();
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 4) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &len) != 0)
        return 1;
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        sc_arm();
        int c = accept(ls, NULL, NULL);
        (void)c;
        sc_forever(); /* holds the connection, never writes */
    }
    close(ls);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
        return 1;
    SC_SAY("client %d reads from 127.0.0.1:%d served by listener %d\n", (int)getpid(),
           ntohs(a.sin_port), (int)pid);
    char buf[16];
    ssize_t n = read(s, buf, sizeof(buf));
    return n > 0 ? 0 : 1;
}
