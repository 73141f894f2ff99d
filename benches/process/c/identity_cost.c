/* What one file-identity check can cost: the system calls a readiness
 * backend could make per delivered event to learn whether fd number N still
 * names the registered file, timed on one end of a socketpair (the caller
 * pins it; benches/process/tcp_compare.py runs it on CPU 1). getpid is the
 * floor of any system call here; F_GETFD says only "open or not"; fstat, statx and
 * SO_COOKIE name the file.
 *
 *   cc -O2 -o identity_cost benches/process/c/identity_cost.c
 *   identity_cost [CALLS]        (default 2000000; prints one JSON line)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    int sv[2];
    if (n <= 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return 1;
    int fd = sv[0];
    struct stat st;
    struct statx sx;
    unsigned long long cookie;
    socklen_t len;
    double t, ns[6];
#define TIME(i, call)                                  \
    t = now();                                         \
    for (long k = 0; k < n; k++) call;                 \
    ns[i] = (now() - t) / n * 1e9;
    TIME(0, getpid());
    TIME(1, fcntl(fd, F_GETFD));
    TIME(2, fstat(fd, &st));
#ifdef SYS_fstat
    TIME(3, syscall(SYS_fstat, fd, &st));
#else
    ns[3] = -1;
#endif
    TIME(4, syscall(SYS_statx, fd, "", AT_EMPTY_PATH, 0, &sx));
    TIME(5, (len = sizeof cookie, getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len)));
    printf("{\"calls\":%ld,\"getpid_ns\":%.0f,\"fcntl_getfd_ns\":%.0f,\"libc_fstat_ns\":%.0f,"
           "\"sys_fstat_ns\":%.0f,\"statx_ns\":%.0f,\"so_cookie_ns\":%.0f}\n",
           n, ns[0], ns[1], ns[2], ns[3], ns[4], ns[5]);
    return 0;
}
