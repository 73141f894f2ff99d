/* The raw-syscall floor of the TCP echo servers: the same single-threaded
 * loop as the examples' (echo/src/server.rs: one read and one write per
 * readiness, level triggered), on epoll or on io_uring readiness, with
 * nothing between the loop and the kernel. benches/process/tcp_compare.py
 * runs it against the examples, pinned and driven by examples/echo_load.
 *
 *   cc -O2 -o tcp_echo benches/process/c/tcp_echo.c
 *   tcp_echo epoll|uring|uring-oneshot [ADDR:PORT]   (default 127.0.0.1:0)
 *   tcp_echo probe-level
 *
 * Prints "listening on IP:PORT" once bound, then serves until killed.
 * probe-level asks the running kernel whether a POLL_ADD takes
 * IORING_POLL_ADD_LEVEL (a level-triggered multishot poll would make
 * Mode::Level without a re-arm per event), prints the answer and exits.
 *
 *   epoll          epoll_wait, EPOLLIN level-triggered (what echo_epoll does)
 *   uring          multishot IORING_OP_POLL_ADD per connection, re-armed
 *                  when a completion comes without IORING_CQE_F_MORE; a ring
 *                  set up SINGLE_ISSUER | DEFER_TASKRUN, waited on with one
 *                  io_uring_enter(GETEVENTS) per round (the issue's C server)
 *   uring-oneshot  the same ring, a single-shot POLL_ADD re-armed after each
 *                  completion, in the next round's io_uring_enter (what
 *                  UringSelector does for Mode::Level)
 *
 * Neither io_uring server checks a file's identity at each event: that is
 * the cost UringSelector pays for its closed-fd contract, measured apart.
 * No liburing: the ring is mapped by hand (IORING_FEAT_SINGLE_MMAP).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAXFD 65536
static char buf[65536];
/* Per fd number, bumped at each close: a completion of an earlier
 * connection on the number (a cancelled multishot's last word) is dropped. */
static uint32_t gen[MAXFD];

static void die(const char *what) {
    perror(what);
    exit(1);
}

static int listen_on(const char *spec) {
    char host[64] = "127.0.0.1";
    int port = 0;
    if (spec) {
        const char *colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host) {
            fprintf(stderr, "bad address %s\n", spec);
            exit(2);
        }
        memcpy(host, spec, colon - spec);
        host[colon - spec] = 0;
        port = atoi(colon + 1);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "bad address %s\n", spec);
        exit(2);
    }
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (l < 0 || bind(l, (void *)&sa, sizeof sa) || listen(l, 4096)) die("listen");
    socklen_t n = sizeof sa;
    getsockname(l, (void *)&sa, &n);
    printf("listening on %s:%d (tcp, c %s)\n", host, ntohs(sa.sin_port), "floor");
    fflush(stdout);
    return l;
}

static int accept_one(int l) {
    int c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return -1;
    if (c >= MAXFD) {
        close(c);
        return -1;
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return c;
}

/* One read, one write back; returns 0 when the connection is done. */
static int echo_once(int fd) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN)) return 0;
    if (n > 0) {
        ssize_t off = 0;
        while (off < n) {
            ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN) continue; /* never seen: ping-pong fits */
                return 0;
            }
            off += w;
        }
    }
    return 1;
}

static void run_epoll(int l) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    struct epoll_event evs[1024];
    for (;;) {
        int n = epoll_wait(ep, evs, 1024, -1);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l) {
                int c;
                while ((c = accept_one(l)) >= 0) {
                    struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
                }
            } else if (!echo_once(fd)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
        }
    }
}

/* A hand-mapped ring. */
static struct {
    int fd;
    unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
    unsigned sq_entries;
    unsigned to_submit;
} R;

static void ring_init(unsigned entries) {
    struct io_uring_params p = {0};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    R.fd = syscall(__NR_io_uring_setup, entries, &p);
    if (R.fd < 0) die("io_uring_setup");
    if (!(p.features & IORING_FEAT_SINGLE_MMAP) || !(p.features & IORING_FEAT_NODROP)) {
        fprintf(stderr, "kernel too old\n");
        exit(1);
    }
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    size_t len = sq_len > cq_len ? sq_len : cq_len;
    char *sq = mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, R.fd, IORING_OFF_SQ_RING);
    if (sq == MAP_FAILED) die("mmap sq");
    R.sq_head = (unsigned *)(sq + p.sq_off.head);
    R.sq_tail = (unsigned *)(sq + p.sq_off.tail);
    R.sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    R.sq_array = (unsigned *)(sq + p.sq_off.array);
    R.cq_head = (unsigned *)(sq + p.cq_off.head);
    R.cq_tail = (unsigned *)(sq + p.cq_off.tail);
    R.cq_mask = (unsigned *)(sq + p.cq_off.ring_mask);
    R.cqes = (struct io_uring_cqe *)(sq + p.cq_off.cqes);
    R.sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_POPULATE, R.fd, IORING_OFF_SQES);
    if (R.sqes == MAP_FAILED) die("mmap sqes");
    R.sq_entries = p.sq_entries;
}

static int enter(unsigned want) {
    unsigned flags = want ? IORING_ENTER_GETEVENTS : 0;
    int r = syscall(__NR_io_uring_enter, R.fd, R.to_submit, want, flags, NULL, 0);
    if (r >= 0) R.to_submit -= (unsigned)r < R.to_submit ? (unsigned)r : R.to_submit;
    return r;
}

static void push_poll(int fd, int multi) {
    unsigned tail = *R.sq_tail;
    if (tail - atomic_load_explicit((_Atomic unsigned *)R.sq_head, memory_order_acquire) == R.sq_entries)
        enter(0); /* full: submit what is queued */
    tail = *R.sq_tail;
    unsigned i = tail & *R.sq_mask;
    struct io_uring_sqe *s = &R.sqes[i];
    memset(s, 0, sizeof *s);
    s->opcode = IORING_OP_POLL_ADD;
    s->fd = fd;
    s->poll32_events = POLLIN | POLLRDHUP;
    s->len = multi ? IORING_POLL_ADD_MULTI : 0;
    s->user_data = (uint64_t)(uint32_t)fd | (uint64_t)gen[fd] << 32;
    R.sq_array[i] = i;
    atomic_store_explicit((_Atomic unsigned *)R.sq_tail, tail + 1, memory_order_release);
    R.to_submit++;
}

/* Queues an IORING_OP_ASYNC_CANCEL of the request tagged `target` (its own
 * answer is tagged UINT64_MAX) and submits it. */
static void cancel(uint64_t target) {
    unsigned t = *R.sq_tail, i = t & *R.sq_mask;
    struct io_uring_sqe *s = &R.sqes[i];
    memset(s, 0, sizeof *s);
    s->opcode = IORING_OP_ASYNC_CANCEL;
    s->fd = -1;
    s->addr = target;
    s->user_data = UINT64_MAX;
    R.sq_array[i] = i;
    atomic_store_explicit((_Atomic unsigned *)R.sq_tail, t + 1, memory_order_release);
    R.to_submit++;
    enter(0);
}

static void run_uring(int l, int multi) {
    ring_init(4096);
    push_poll(l, 1);
    for (;;) {
        if (enter(1) < 0 && errno != EINTR && errno != EBUSY) die("io_uring_enter");
        unsigned head = *R.cq_head;
        unsigned tail = atomic_load_explicit((_Atomic unsigned *)R.cq_tail, memory_order_acquire);
        for (; head != tail; head++) {
            struct io_uring_cqe *c = &R.cqes[head & *R.cq_mask];
            if (c->user_data == UINT64_MAX) continue; /* a cancel's own answer */
            int fd = (int)(uint32_t)c->user_data;
            int more = c->flags & IORING_CQE_F_MORE;
            if ((uint32_t)(c->user_data >> 32) != gen[fd]) continue;
            if (fd == l) {
                int s;
                while ((s = accept_one(l)) >= 0) push_poll(s, multi);
                if (!more) push_poll(l, 1);
            } else if (c->res < 0 || !echo_once(fd)) {
                /* Cancel the multishot before the close lets the number go. */
                if (more) cancel(c->user_data);
                gen[fd]++;
                close(fd);
            } else if (!more) {
                push_poll(fd, multi);
            }
        }
        atomic_store_explicit((_Atomic unsigned *)R.cq_head, head, memory_order_release);
    }
}

/* Submits one POLL_ADD of a socketpair end with readable data, with
 * sqe->len = flags, and prints its first completion. */
static void probe_level(void) {
    ring_init(8);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || write(sv[1], "x", 1) != 1) die("socketpair");
    const struct {
        unsigned flags;
        const char *name;
    } tries[] = {{IORING_POLL_ADD_MULTI, "MULTI"},
                 {IORING_POLL_ADD_MULTI | IORING_POLL_ADD_LEVEL, "MULTI|LEVEL"},
                 {IORING_POLL_ADD_LEVEL, "LEVEL"}};
    for (unsigned k = 0; k < sizeof tries / sizeof tries[0]; k++) {
        gen[sv[0]] = k;
        push_poll(sv[0], 0);
        unsigned i = (*R.sq_tail - 1) & *R.sq_mask;
        R.sqes[i].len = tries[k].flags;
        if (enter(1) < 0) die("io_uring_enter");
        unsigned head = *R.cq_head;
        struct io_uring_cqe *c = &R.cqes[head & *R.cq_mask];
        printf("POLL_ADD with IORING_POLL_ADD_%s: %s%s\n", tries[k].name,
               c->res < 0 ? strerror(-c->res) : "accepted",
               c->res < 0 ? "" : (c->flags & IORING_CQE_F_MORE ? " (multishot)" : " (single shot)"));
        atomic_store_explicit((_Atomic unsigned *)R.cq_head, head + 1, memory_order_release);
        if (c->res >= 0 && (c->flags & IORING_CQE_F_MORE)) {
            /* Cancel it, and drain the answers. */
            cancel((uint64_t)(uint32_t)sv[0] | (uint64_t)k << 32);
            enter(2);
            *R.cq_head = atomic_load_explicit((_Atomic unsigned *)R.cq_tail, memory_order_acquire);
        }
    }
    exit(0);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: tcp_echo epoll|uring|uring-oneshot [ADDR:PORT] | probe-level\n");
        return 2;
    }
    if (!strcmp(argv[1], "probe-level")) probe_level();
    int l = listen_on(argc > 2 ? argv[2] : NULL);
    if (!strcmp(argv[1], "epoll")) run_epoll(l);
    else if (!strcmp(argv[1], "uring")) run_uring(l, 1);
    else if (!strcmp(argv[1], "uring-oneshot")) run_uring(l, 0);
    fprintf(stderr, "unknown backend %s\n", argv[1]);
    return 2;
}
