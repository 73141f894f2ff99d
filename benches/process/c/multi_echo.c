/* The raw-syscall floor of echo_multi (echo/src/multi.rs): N echo loops,
 * one thread and one epoll instance each, on one address, sharing the
 * connections in one of three ways. Each loop is tcp_echo.c's epoll loop
 * (level triggered, one read and one write back per readiness), with
 * nothing between it and the kernel.
 *
 *   cc -O2 -pthread -o multi_echo benches/process/c/multi_echo.c
 *   multi_echo [--loops N] [--balance reuseport|exclusive|handoff]
 *              [--rearm K] [--pin] [ADDR]        (default 127.0.0.1:0)
 *
 *   reuseport  (default) one SO_REUSEPORT listener per loop on the same
 *              port; the kernel hashes each connection to one
 *   exclusive  one listener in every loop's epoll, EPOLLIN|EPOLLEXCLUSIVE,
 *              removed and re-added (EPOLL_CTL_DEL + ADD: the kernel
 *              refuses MOD of an exclusive entry) after every K accepts of
 *              the loop (--rearm, default 16, 0 = never): nginx's pattern
 *   handoff    one acceptor thread takes every connection and hands it to
 *              the loop with fewer live connections of two picked at random
 *              (power of two choices), through a mutex-protected queue and
 *              the loop's eventfd
 *
 * --loops N: default 2. --pin: loop i runs on CPU i modulo the CPUs of the
 * process's affinity mask.
 *
 * Prints "listening on IP:PORT (tcp, c, loops N, balance MODE)" once bound;
 * on SIGINT or SIGTERM stops every loop, prints one line per loop and a
 * summary, and exits 0:
 *
 *   loop=0 accepted=512 messages=88123 bytes=5639872 cpu_ms=1830.2
 *   loop=1 accepted=488 messages=86001 bytes=5504064 cpu_ms=1790.7
 *   total loops=2 balance=reuseport accepted=1000 messages=174124 bytes=11143936 cpu_ms=3620.9 accept_max_min=1.049
 *
 * messages: reads that returned data; cpu_ms: the loop thread's CPU time;
 * accept_max_min: most accepted by one loop over fewest (inf when a loop
 * accepted none, nan when none did). Exit 2 on a bad argument, 1 when a
 * system call fails at setup. Linux only, C11 + pthreads.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: multi_echo [--loops N] [--balance reuseport|exclusive|handoff] [--rearm K] [--pin] [ADDR]"
#define BUFSZ 65536

enum balance { REUSEPORT, EXCLUSIVE, HANDOFF };
static const char *const balance_names[] = {"reuseport", "exclusive", "handoff"};
enum kind { CONN, LISTENER, WAKE };

/* What an epoll entry's data.ptr points to. A connection's unsent bytes
 * (the peer's window was full) wait in `pending`; while they do, the
 * connection is registered for EPOLLOUT only, so nothing more is read. */
struct conn {
    int fd;
    enum kind kind;
    char *pending;
    size_t off, len;
};

/* One cache line apart from its neighbours: each loop's counters are
 * written by its own thread only. */
struct loop {
    _Alignas(64) int ep;
    int wake; /* eventfd: stop, and handed-off connections */
    struct conn wake_entry;
    int listener; /* own (reuseport) or shared (exclusive); -1 in handoff */
    struct conn listener_entry;
    unsigned since; /* accepts since the exclusive listener was re-added */
    atomic_long live; /* connections served now, plus queued for it */
    pthread_mutex_t lock;
    int *queue; /* handed-off fds */
    size_t queued, cap;
    pthread_t thread;
    uint64_t accepted, messages, bytes;
    double cpu_ms;
};

static int nloops = 2;
static enum balance balance = REUSEPORT;
static unsigned rearm = 16;
static int pin;
static atomic_int stopping;
static struct loop *loops;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void die_errno(const char *what, int err) {
    errno = err;
    die(what);
}

static void bad_argument(const char *what, const char *value) {
    fprintf(stderr, "multi_echo: %s%s; %s\n", what, value ? value : "", USAGE);
    exit(2);
}

static unsigned long parse_number(const char *opt, const char *v, unsigned long max) {
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || errno || n > max || v[0] == '-') {
        fprintf(stderr, "multi_echo: bad value for %s: \"%s\"; %s\n", opt, v, USAGE);
        exit(2);
    }
    return n;
}

static void parse_addr(const char *spec, struct sockaddr_in *sa) {
    char host[64];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host) bad_argument("bad address ", spec);
    memcpy(host, spec, colon - spec);
    host[colon - spec] = 0;
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (!colon[1] || *end || errno || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        bad_argument("bad address ", spec);
}

/* A listening socket on `sa`, SO_REUSEADDR and (with `reuseport`)
 * SO_REUSEPORT, non-blocking. */
static int listen_on(const struct sockaddr_in *sa, int reuseport) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l < 0) die("socket");
    int one = 1;
    if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)) die("setsockopt SO_REUSEADDR");
    if (reuseport && setsockopt(l, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one))
        die("setsockopt SO_REUSEPORT");
    if (bind(l, (const void *)sa, sizeof *sa)) die("bind");
    if (listen(l, 4096)) die("listen");
    return l;
}

static void ctl(int ep, int op, int fd, uint32_t events, void *ptr) {
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    if (epoll_ctl(ep, op, fd, &ev)) die("epoll_ctl");
}

static void wake(int efd) {
    uint64_t one = 1;
    /* EAGAIN (counter full) still leaves it readable: nothing to do. */
    while (write(efd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

/* Takes a connection: TCP_NODELAY, registered for reading. */
static void add_conn(struct loop *lp, int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = calloc(1, sizeof *c);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (!c || epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev)) {
        free(c);
        close(fd);
        atomic_fetch_sub(&lp->live, 1);
        return;
    }
    c->fd = fd;
    c->kind = CONN;
    lp->accepted++;
}

static void close_conn(struct loop *lp, struct conn *c) {
    epoll_ctl(lp->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->pending);
    free(c);
    atomic_fetch_sub(&lp->live, 1);
}

/* Sends buf[0..n) until done or EAGAIN; returns the bytes sent, -1 on an
 * error. */
static ssize_t send_all(int fd, const char *buf, size_t n) {
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            return -1;
        }
        off += (size_t)w;
    }
    return (ssize_t)off;
}

/* Readable: one read, the same bytes back; what does not fit is kept and
 * the connection waits for EPOLLOUT. Returns 0 when it is done. */
static int echo_once(struct loop *lp, struct conn *c, char *buf) {
    ssize_t n = recv(c->fd, buf, BUFSZ, 0);
    if (n == 0) return 0;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    lp->messages++;
    lp->bytes += (uint64_t)n;
    ssize_t sent = send_all(c->fd, buf, (size_t)n);
    if (sent < 0) return 0;
    if (sent < n) {
        size_t rest = (size_t)(n - sent);
        c->pending = malloc(rest);
        if (!c->pending) return 0;
        memcpy(c->pending, buf + sent, rest);
        c->off = 0;
        c->len = rest;
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
        if (epoll_ctl(lp->ep, EPOLL_CTL_MOD, c->fd, &ev)) return 0;
    }
    return 1;
}

/* Writable with bytes pending: sends them; once all are out, back to
 * reading. Returns 0 when the connection is done. */
static int flush(struct loop *lp, struct conn *c) {
    ssize_t sent = send_all(c->fd, c->pending + c->off, c->len - c->off);
    if (sent < 0) return 0;
    c->off += (size_t)sent;
    if (c->off < c->len) return 1;
    free(c->pending);
    c->pending = NULL;
    c->off = c->len = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    return epoll_ctl(lp->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

/* The listener is readable: accept until EAGAIN; the exclusive one is
 * re-added after every `rearm` accepts. */
static void accept_ready(struct loop *lp) {
    unsigned accepted = 0;
    for (;;) {
        int fd = accept4(lp->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            break; /* EAGAIN; EMFILE and the like: retried at the next wait */
        }
        atomic_fetch_add(&lp->live, 1);
        add_conn(lp, fd);
        accepted++;
    }
    if (balance == EXCLUSIVE && rearm && (lp->since += accepted) >= rearm) {
        ctl(lp->ep, EPOLL_CTL_DEL, lp->listener, 0, NULL);
        ctl(lp->ep, EPOLL_CTL_ADD, lp->listener, EPOLLIN | EPOLLEXCLUSIVE, &lp->listener_entry);
        lp->since = 0;
    }
}

/* The eventfd is readable: the stop, or handed-off connections to take.
 * Returns 0 to stop. */
static int woken(struct loop *lp) {
    uint64_t v;
    if (read(lp->wake, &v, sizeof v) < 0 && errno != EAGAIN) die("read eventfd");
    if (atomic_load(&stopping)) return 0;
    if (balance != HANDOFF) return 1;
    pthread_mutex_lock(&lp->lock);
    int *fds = lp->queue;
    size_t n = lp->queued;
    lp->queue = NULL;
    lp->queued = lp->cap = 0;
    pthread_mutex_unlock(&lp->lock);
    for (size_t i = 0; i < n; i++) {
        int fl = fcntl(fds[i], F_GETFL);
        if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK)) {
            close(fds[i]);
            atomic_fetch_sub(&lp->live, 1);
            continue;
        }
        add_conn(lp, fds[i]);
    }
    free(fds);
    return 1;
}

static void *run_loop(void *arg) {
    struct loop *lp = arg;
    char *buf = malloc(BUFSZ);
    if (!buf) die("malloc");
    struct epoll_event evs[1024];
    for (int run = 1; run;) {
        int n = epoll_wait(lp->ep, evs, 1024, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n && run; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->kind == WAKE) {
                run = woken(lp);
            } else if (c->kind == LISTENER) {
                accept_ready(lp);
            } else if (c->pending ? !flush(lp, c) : !echo_once(lp, c, buf)) {
                close_conn(lp, c); /* EPOLLHUP, EPOLLERR: the read or send fails */
            }
        }
    }
    free(buf);
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
        lp->cpu_ms = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
    return NULL;
}

/* xorshift64*, as echo_multi's. */
static uint64_t rng_state;

static size_t below(size_t n) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (size_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32) % n;
}

/* Power of two choices: two distinct loops at random, the one with fewer
 * connections (served and queued) wins. */
static struct loop *two_choices(void) {
    if (nloops == 1) return &loops[0];
    size_t a = below((size_t)nloops);
    size_t b = (a + 1 + below((size_t)nloops - 1)) % (size_t)nloops;
    return atomic_load(&loops[b].live) < atomic_load(&loops[a].live) ? &loops[b] : &loops[a];
}

struct acceptor {
    int listener, stop;
    pthread_t thread;
};

static void *run_acceptor(void *arg) {
    struct acceptor *ac = arg;
    struct pollfd pfd[2] = {{.fd = ac->listener, .events = POLLIN}, {.fd = ac->stop, .events = POLLIN}};
    while (!atomic_load(&stopping)) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        if (pfd[1].revents) break;
        for (;;) {
            int fd = accept4(ac->listener, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno == EMFILE || errno == ENFILE) {
                    /* The loops free descriptors as connections close. */
                    struct timespec ms10 = {0, 10000000};
                    nanosleep(&ms10, NULL);
                }
                break;
            }
            struct loop *lp = two_choices();
            atomic_fetch_add(&lp->live, 1);
            pthread_mutex_lock(&lp->lock);
            if (lp->queued == lp->cap) {
                size_t cap = lp->cap ? lp->cap * 2 : 64;
                int *q = realloc(lp->queue, cap * sizeof *q);
                if (!q) die("realloc");
                lp->queue = q;
                lp->cap = cap;
            }
            lp->queue[lp->queued++] = fd;
            pthread_mutex_unlock(&lp->lock);
            wake(lp->wake);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *addr = "127.0.0.1:0";
    int have_addr = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            puts(USAGE);
            return 0;
        } else if (!strcmp(a, "--pin")) {
            pin = 1;
        } else if (!strcmp(a, "--loops") || !strcmp(a, "--balance") || !strcmp(a, "--rearm")) {
            if (!v) {
                fprintf(stderr, "multi_echo: %s needs a value; %s\n", a, USAGE);
                return 2;
            }
            i++;
            if (!strcmp(a, "--loops")) {
                nloops = (int)parse_number(a, v, 1024);
                if (nloops < 1) bad_argument("bad value for --loops: 0 (1 to 1024)", NULL);
            } else if (!strcmp(a, "--rearm")) {
                rearm = (unsigned)parse_number(a, v, UINT32_MAX);
            } else if (!strcmp(v, "reuseport")) {
                balance = REUSEPORT;
            } else if (!strcmp(v, "exclusive")) {
                balance = EXCLUSIVE;
            } else if (!strcmp(v, "handoff")) {
                balance = HANDOFF;
            } else {
                bad_argument("bad value for --balance: ", v);
            }
        } else if (a[0] == '-' && a[1]) {
            bad_argument("unknown option ", a);
        } else if (have_addr) {
            bad_argument("unexpected argument ", a);
        } else {
            addr = a;
            have_addr = 1;
        }
    }
    struct sockaddr_in sa;
    parse_addr(addr, &sa);

    /* Signals first: from now on a SIGINT or SIGTERM is a clean stop. The
     * threads inherit the mask; the main thread takes them in sigwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    int err = pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    if (err) die_errno("pthread_sigmask", err);

    /* As many descriptors as allowed (echo_multi does the same). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    /* Bind: the first socket on the given port (maybe 0), the others (one
     * per loop with reuseport) on the port it got. */
    int first = listen_on(&sa, balance == REUSEPORT);
    socklen_t salen = sizeof sa;
    if (getsockname(first, (void *)&sa, &salen)) die("getsockname");

    loops = aligned_alloc(64, (size_t)nloops * sizeof *loops);
    if (!loops) die("aligned_alloc");
    memset(loops, 0, (size_t)nloops * sizeof *loops);
    for (int i = 0; i < nloops; i++) {
        struct loop *lp = &loops[i];
        atomic_init(&lp->live, 0);
        err = pthread_mutex_init(&lp->lock, NULL);
        if (err) die_errno("pthread_mutex_init", err);
        lp->ep = epoll_create1(EPOLL_CLOEXEC);
        if (lp->ep < 0) die("epoll_create1");
        lp->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (lp->wake < 0) die("eventfd");
        lp->wake_entry = (struct conn){.fd = lp->wake, .kind = WAKE};
        ctl(lp->ep, EPOLL_CTL_ADD, lp->wake, EPOLLIN, &lp->wake_entry);
        lp->listener = -1;
        if (balance == REUSEPORT) {
            lp->listener = i == 0 ? first : listen_on(&sa, 1);
            lp->listener_entry = (struct conn){.fd = lp->listener, .kind = LISTENER};
            ctl(lp->ep, EPOLL_CTL_ADD, lp->listener, EPOLLIN, &lp->listener_entry);
        } else if (balance == EXCLUSIVE) {
            lp->listener = first;
            lp->listener_entry = (struct conn){.fd = first, .kind = LISTENER};
            ctl(lp->ep, EPOLL_CTL_ADD, first, EPOLLIN | EPOLLEXCLUSIVE, &lp->listener_entry);
        }
    }

    /* --pin: loop i on the i-th CPU (modulo) of the process's mask. */
    cpu_set_t allowed;
    int ncpus = 0, cpus[CPU_SETSIZE];
    if (pin) {
        if (sched_getaffinity(0, sizeof allowed, &allowed)) die("sched_getaffinity");
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &allowed)) cpus[ncpus++] = c;
        if (!ncpus) die_errno("sched_getaffinity", EINVAL);
    }
    for (int i = 0; i < nloops; i++) {
        pthread_attr_t attr;
        err = pthread_attr_init(&attr);
        if (err) die_errno("pthread_attr_init", err);
        if (pin) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpus[i % ncpus], &one);
            err = pthread_attr_setaffinity_np(&attr, sizeof one, &one);
            if (err) die_errno("pthread_attr_setaffinity_np", err);
        }
        err = pthread_create(&loops[i].thread, &attr, run_loop, &loops[i]);
        if (err) die_errno("pthread_create", err);
        pthread_attr_destroy(&attr);
    }
    struct acceptor ac = {.listener = first, .stop = -1};
    if (balance == HANDOFF) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        rng_state = ((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec) | 1;
        ac.stop = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (ac.stop < 0) die("eventfd");
        err = pthread_create(&ac.thread, NULL, run_acceptor, &ac);
        if (err) die_errno("pthread_create", err);
    }

    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
    printf("listening on %s:%d (tcp, c, loops %d, balance %s)\n", ip, ntohs(sa.sin_port), nloops,
           balance_names[balance]);
    fflush(stdout);

    int sig;
    while ((err = sigwait(&sigs, &sig)) == EINTR) {
    }
    if (err) die_errno("sigwait", err);
    atomic_store(&stopping, 1);
    if (balance == HANDOFF) {
        wake(ac.stop);
        pthread_join(ac.thread, NULL);
    }
    for (int i = 0; i < nloops; i++) wake(loops[i].wake);
    for (int i = 0; i < nloops; i++) pthread_join(loops[i].thread, NULL);

    uint64_t accepted = 0, messages = 0, bytes = 0, max = 0, min = UINT64_MAX;
    double cpu = 0;
    for (int i = 0; i < nloops; i++) {
        struct loop *lp = &loops[i];
        printf("loop=%d accepted=%llu messages=%llu bytes=%llu cpu_ms=%.1f\n", i,
               (unsigned long long)lp->accepted, (unsigned long long)lp->messages,
               (unsigned long long)lp->bytes, lp->cpu_ms);
        accepted += lp->accepted;
        messages += lp->messages;
        bytes += lp->bytes;
        cpu += lp->cpu_ms;
        if (lp->accepted > max) max = lp->accepted;
        if (lp->accepted < min) min = lp->accepted;
    }
    char ratio[32];
    if (max == 0) snprintf(ratio, sizeof ratio, "nan");
    else if (min == 0) snprintf(ratio, sizeof ratio, "inf");
    else snprintf(ratio, sizeof ratio, "%.3f", (double)max / (double)min);
    printf("total loops=%d balance=%s accepted=%llu messages=%llu bytes=%llu cpu_ms=%.1f "
           "accept_max_min=%s\n",
           nloops, balance_names[balance], (unsigned long long)accepted,
           (unsigned long long)messages, (unsigned long long)bytes, cpu, ratio);
    fflush(stdout);
    return 0;
}
