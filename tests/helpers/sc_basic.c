/*
 * sc_basic MODE [ARG]: the simple outcomes.
 *   exit N      print a line on stdout and one on stderr, exit N
 *   crash       die of SIGSEGV
 *   sleep SECS  sleep (a plain hang when SECS is over the timeout)
 *   spew BYTES  write BYTES of numbered lines, then exit 0 (log truncation)
 *   badutf8     write bytes that are not UTF-8, and a NUL, then exit 0
 *   stdin       copy stdin to stdout, then exit 0
 */
#include "sc_common.h"

#include <signal.h>
#include <string.h>

int main(int argc, char **argv)
{
    sc_arm();
    const char *mode = argc > 1 ? argv[1] : "exit";
    const char *arg = argc > 2 ? argv[2] : "0";
    if (strcmp(mode, "exit") == 0) {
        SC_SAY("sc_basic stdout line\n");
        fprintf(stderr, "sc_basic stderr line\n");
        return (int)strtol(arg, NULL, 10);
    }
    if (strcmp(mode, "crash") == 0) {
        SC_SAY("about to crash\n");
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        return 1;
    }
    if (strcmp(mode, "sleep") == 0) {
        SC_SAY("sleeping %s s\n", arg);
        sleep((unsigned)strtol(arg, NULL, 10));
        return 0;
    }
    if (strcmp(mode, "spew") == 0) {
        long n = strtol(arg, NULL, 10);
        long line = 0;
        for (long done = 0; done < n;) {
            int k = printf("line %08ld ........................................\n", line++);
            done += k > 0 ? k : 1;
        }
        return 0;
    }
    if (strcmp(mode, "badutf8") == 0) {
        static const char bytes[] = "ok \xff\xfe bad \xc3( half \xe2\x82 nul[\0] end \xc3\xa9\n";
        fwrite(bytes, 1, sizeof(bytes) - 1, stdout);
        return 0;
    }
    if (strcmp(mode, "stdin") == 0) {
        int c;
        while ((c = getchar()) != EOF)
            putchar(c);
        return 0;
    }
    fprintf(stderr, "sc_basic: unknown mode %s\n", mode);
    return 2;
}
