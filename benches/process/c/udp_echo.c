/*
 * udp_echo: the C floor for the UDP echo comparison (benches/process/udp_compare.py).
 *
 *   udp_echo {single|mmsg32} [PORT_FILE]
 *
 * A single-threaded, level-triggered epoll UDP echo server on 127.0.0.1:0.
 * Once bound it prints `listening on 127.0.0.1:PORT (udp, c MODE)` on
 * stdout (the line the echo_<backend> examples print, so the same tooling
 * parses it) and, if PORT_FILE is given, writes PORT to that file.
 *
 *   single  recvfrom until EAGAIN, each datagram answered at once by sendto;
 *   mmsg32  recvmmsg(32, MSG_DONTWAIT), then sendmmsg of what arrived; a
 *           batch shorter than 32 ends the turn (back to epoll_wait).
 *
 * A reply the send buffer refuses (EAGAIN) or the kernel rejects is dropped
 * and counted; nothing is queued. The socket buffers are those of the Rust
 * example (echo/src/server.rs asks for 4 MiB each way with SO_RCVBUF /
 * SO_SNDBUF, which the kernel doubles to 8 MiB where net.core.[rw]mem_max
 * allows 4 MiB): here 4 MiB each way with SO_RCVBUFFORCE / SO_SNDBUFFORCE
 * (root), falling back to the plain options without CAP_NET_ADMIN; the
 * sizes obtained are printed on stderr.
 *
 * SIGINT/SIGTERM (through a signalfd) end it with exit status 0 after one
 * line of counts on stderr; a bad argument exits 2, any failure 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 32
#define BUF 65536 /* room for any UDP payload */
#define SOCKBUF (4 << 20)

enum mode { SINGLE, MMSG };

struct counts {
	unsigned long long datagrams, dropped, recv_calls, send_calls;
};

static unsigned char bufs[BATCH][BUF];

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Sets a buffer size with the FORCE option, or the plain one without the
 * privilege for it; returns the size the kernel reports afterwards. */
static int set_buf(int fd, int force, int plain, const char *name)
{
	int size = SOCKBUF, got = 0;
	socklen_t len = sizeof got;

	if (setsockopt(fd, SOL_SOCKET, force, &size, sizeof size) < 0) {
		if (errno != EPERM)
			die(name);
		if (setsockopt(fd, SOL_SOCKET, plain, &size, sizeof size) < 0)
			die(name);
	}
	if (getsockopt(fd, SOL_SOCKET, plain, &got, &len) < 0)
		die("getsockopt");
	return got;
}

/* One reply; a refusal costs that datagram only. */
static void reply(int fd, const void *buf, size_t len, const struct sockaddr_in *to,
		  struct counts *c)
{
	c->send_calls++;
	if (sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof *to) < 0)
		c->dropped++;
}

/* mode single: recvfrom until EAGAIN, each answered at once. */
static void serve_single(int fd, struct counts *c)
{
	for (;;) {
		struct sockaddr_in from;
		socklen_t fromlen = sizeof from;
		ssize_t n;

		c->recv_calls++;
		n = recvfrom(fd, bufs[0], BUF, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			die("recvfrom");
		}
		c->datagrams++;
		reply(fd, bufs[0], (size_t)n, &from, c);
	}
}

/* mode mmsg32: batches of 32 until one comes back short. */
static void serve_mmsg(int fd, struct counts *c)
{
	static struct mmsghdr msgs[BATCH];
	static struct iovec iov[BATCH];
	static struct sockaddr_in peers[BATCH];

	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_name = &peers[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		iov[i].iov_base = bufs[i];
	}
	for (;;) {
		int n, done = 0;

		/* What the last batch changed: the lengths of names and data. */
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_len = BUF;
			msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
		}
		c->recv_calls++;
		n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			die("recvmmsg");
		}
		c->datagrams += (unsigned)n;
		/* Each reply: the bytes received, to the address they came from
		 * (msg_name and msg_namelen are as recvmmsg left them). */
		for (int i = 0; i < n; i++)
			iov[i].iov_len = msgs[i].msg_len;
		while (done < n) {
			int k;

			c->send_calls++;
			k = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);
			if (k > 0) {
				done += k;
			} else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				c->dropped += (unsigned)(n - done); /* the buffer is full */
				break;
			} else {
				c->dropped++; /* the first one failed: skip it */
				done++;
			}
		}
		if (n < BATCH)
			return;
	}
}

int main(int argc, char **argv)
{
	enum mode mode;
	struct sockaddr_in addr;
	socklen_t addrlen = sizeof addr;
	struct counts c = { 0 };
	sigset_t sigs;
	int fd, ep, sfd, rcv, snd, running = 1;
	struct epoll_event ev;

	if (argc < 2 || argc > 3 || (strcmp(argv[1], "single") != 0 && strcmp(argv[1], "mmsg32") != 0)) {
		fprintf(stderr, "usage: udp_echo {single|mmsg32} [PORT_FILE]\n");
		return 2;
	}
	mode = strcmp(argv[1], "single") == 0 ? SINGLE : MMSG;

	/* The signals arrive through a signalfd, so block them first. */
	if (sigemptyset(&sigs) < 0 || sigaddset(&sigs, SIGINT) < 0 || sigaddset(&sigs, SIGTERM) < 0)
		die("sigset");
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0)
		die("sigprocmask");
	sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd");

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	rcv = set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, "SO_RCVBUF");
	snd = set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, "SO_SNDBUF");
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		die("bind");
	if (getsockname(fd, (struct sockaddr *)&addr, &addrlen) < 0)
		die("getsockname");

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN; /* level-triggered */
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
	ev.data.fd = sfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		die("epoll_ctl");

	if (argc == 3) {
		FILE *f = fopen(argv[2], "w");

		if (f == NULL)
			die(argv[2]);
		if (fprintf(f, "%u\n", (unsigned)ntohs(addr.sin_port)) < 0 || fclose(f) != 0)
			die(argv[2]);
	}
	fprintf(stderr, "udp_echo: SO_RCVBUF %d, SO_SNDBUF %d\n", rcv, snd);
	if (printf("listening on 127.0.0.1:%u (udp, c %s)\n", (unsigned)ntohs(addr.sin_port), argv[1]) < 0 ||
	    fflush(stdout) != 0)
		die("stdout");

	while (running) {
		struct epoll_event evs[2];
		int n = epoll_wait(ep, evs, 2, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == sfd) {
				running = 0;
			} else if (mode == SINGLE) {
				serve_single(fd, &c);
			} else {
				serve_mmsg(fd, &c);
			}
		}
	}
	fprintf(stderr,
		"udp_echo: %llu datagrams, %llu dropped, %llu receive calls, %llu send calls\n",
		c.datagrams, c.dropped, c.recv_calls, c.send_calls);
	return 0;
}
