/*
 * sc_fifo_open read|write PATH: a program that opens a FIFO no one else opens (a control
 * pipe whose other side never started): open(2) blocks until a partner opens the other end.
 * A child does the open, so the diagnosis must find the blocked process below the main one.
 */
#include "sc_common.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "read") != 0 && strcmp(argv[1], "write") != 0)) {
        fprintf(stderr, "usage: sc_fifo_open read|write PATH\n");
        return 2;
    }
    sc_arm();
    if (mkfifo(argv[2], 0600) != 0) {
        perror("sc_fifo_open: mkfifo");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        sc_arm();
        SC_SAY("opener %d opens %s for %sing\n", (int)getpid(), argv[2], argv[1]);
        int fd = open(argv[2], strcmp(argv[1], "read") == 0 ? O_RDONLY : O_WRONLY);
        return fd < 0;
    }
    int st;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
