/*
 * gso_send: the C floor for UDP GSO on loopback (benches/process/udp_compare.py).
 *
 *   gso_send {x54|gso|gso-gro} SECONDS [SENDER_CPU DRAIN_CPU]
 *
 * For SECONDS, a sender thread (pinned to SENDER_CPU, default 0) sends
 * iterations of 54 datagrams of 1,200 bytes to a 127.0.0.1 UDP socket that
 * a second thread (pinned to DRAIN_CPU, default 1) drains with recvmmsg:
 *
 *   x54  54 sendto calls of 1,200 bytes each;
 *   gso  one sendmsg of 64,800 bytes with a UDP_SEGMENT (GSO) control
 *        message of 1,200: the kernel cuts it into the same 54 datagrams;
 *   gso-gro  the same send, to a receiving socket with UDP_GRO on.
 *
 * On loopback the receive path up to the socket queue runs in the sender's
 * context, and so is part of its CPU. In x54 and gso the receiving socket
 * does not enable UDP_GRO, so it gets 54 separate datagrams per iteration
 * (in gso, the kernel segments the 64,800-byte packet on its way into the
 * socket); in gso-gro it gets the 64,800 bytes whole, never segmented, and
 * the drainer counts ceil(length / 1,200) datagrams per buffer.
 * The sender keeps at most WINDOW datagrams ahead of the drainer (it sleeps
 * 20 us at a time while it is further ahead, and counts the sleeps), so the
 * receive queue never overflows and no datagram is dropped unseen.
 *
 * Prints one JSON line: mode, datagrams sent and drained, and the sender
 * thread's CPU (CLOCK_THREAD_CPUTIME_ID) per datagram: sender_cpu_ns (the
 * result: the thread's CPU less what its waits for the drainer cost, as
 * measured around them), thread_cpu_ns (all of it) and wait_cpu_ns; wall
 * time, rate, sleeps. Exit 0, or 2 for a bad argument, 1 for any failure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define SEG 1200
#define SEGS 54
#define SIZE (SEG * SEGS) /* 64,800 */
#define WINDOW 2048       /* datagrams the sender may be ahead */
#define DRAIN_BATCH 64

static atomic_ullong drained;
static atomic_int stop;
static int rx;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* pid 0: the calling thread */
	if (sched_setaffinity(0, sizeof set, &set) < 0)
		die("sched_setaffinity");
}

static double now_ns(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) < 0)
		die("clock_gettime");
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *out >= lo && *out <= hi;
}

/* The drainer: recvmmsg batches (blocking for the first datagram only,
 * MSG_WAITFORONE) until told to stop; the receive timeout lets it look at
 * the flag when nothing comes. */
static void *drain(void *arg)
{
	static unsigned char bufs[DRAIN_BATCH][65536]; /* room for a GRO buffer */
	static struct iovec iov[DRAIN_BATCH];
	static struct mmsghdr msgs[DRAIN_BATCH];
	long cpu = *(const long *)arg;

	pin((int)cpu);
	for (int i = 0; i < DRAIN_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof bufs[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (!atomic_load(&stop)) {
		int n = recvmmsg(rx, msgs, DRAIN_BATCH, MSG_WAITFORONE, NULL);
		unsigned long long got = 0;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			die("recvmmsg");
		}
		for (int i = 0; i < n; i++)
			got += (msgs[i].msg_len + SEG - 1) / SEG;
		atomic_fetch_add(&drained, got);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static unsigned char payload[SIZE];
	struct sockaddr_in to;
	socklen_t tolen = sizeof to;
	struct timeval tick = { .tv_sec = 0, .tv_usec = 10000 };
	int gso, tx, size = 16 << 20, one = 1, err;
	long seconds, cpus[2] = { 0, 1 };
	unsigned long long sent = 0, sleeps = 0;
	double cpu0, wall0, deadline, cpu_ns, wall_ns, wait_ns = 0;
	pthread_t drainer;

	if ((argc != 3 && argc != 5) ||
	    (strcmp(argv[1], "x54") != 0 && strcmp(argv[1], "gso") != 0 && strcmp(argv[1], "gso-gro") != 0) ||
	    !parse_int(argv[2], 1, 3600, &seconds) ||
	    (argc == 5 && (!parse_int(argv[3], 0, CPU_SETSIZE - 1, &cpus[0]) ||
			   !parse_int(argv[4], 0, CPU_SETSIZE - 1, &cpus[1])))) {
		fprintf(stderr, "usage: gso_send {x54|gso|gso-gro} SECONDS [SENDER_CPU DRAIN_CPU]\n");
		return 2;
	}
	gso = strcmp(argv[1], "x54") != 0;
	for (int i = 0; i < SIZE; i++)
		payload[i] = (unsigned char)(i % 251);

	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rx < 0)
		die("socket");
	if (setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0 &&
	    setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0)
		die("SO_RCVBUF");
	if (setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick) < 0)
		die("SO_RCVTIMEO");
	if (strcmp(argv[1], "gso-gro") == 0 && setsockopt(rx, SOL_UDP, UDP_GRO, &one, sizeof one) < 0)
		die("UDP_GRO");
	memset(&to, 0, sizeof to);
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(rx, (struct sockaddr *)&to, sizeof to) < 0)
		die("bind");
	if (getsockname(rx, (struct sockaddr *)&to, &tolen) < 0)
		die("getsockname");
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (tx < 0)
		die("socket");

	err = pthread_create(&drainer, NULL, drain, &cpus[1]);
	if (err != 0) {
		errno = err;
		die("pthread_create");
	}
	pin((int)cpus[0]);

	cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	wall0 = now_ns(CLOCK_MONOTONIC);
	deadline = wall0 + (double)seconds * 1e9;
	while (now_ns(CLOCK_MONOTONIC) < deadline) {
		/* Every send so far is counted in sent, so drained <= sent here. */
		if (sent - atomic_load(&drained) > WINDOW) {
			double wait0 = now_ns(CLOCK_THREAD_CPUTIME_ID);

			while (sent - atomic_load(&drained) > WINDOW && now_ns(CLOCK_MONOTONIC) < deadline) {
				struct timespec pause = { .tv_sec = 0, .tv_nsec = 20000 };

				sleeps++;
				if (nanosleep(&pause, NULL) < 0 && errno != EINTR)
					die("nanosleep");
			}
			wait_ns += now_ns(CLOCK_THREAD_CPUTIME_ID) - wait0;
		}
		if (gso) {
			/* cmsg buffer aligned for struct cmsghdr */
			union {
				char buf[CMSG_SPACE(sizeof(uint16_t))];
				struct cmsghdr align;
			} control;
			struct iovec iov = { .iov_base = payload, .iov_len = SIZE };
			struct msghdr msg = {
				.msg_name = &to,
				.msg_namelen = sizeof to,
				.msg_iov = &iov,
				.msg_iovlen = 1,
				.msg_control = control.buf,
				.msg_controllen = sizeof control.buf,
			};
			struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
			uint16_t seg = SEG;

			memset(&control, 0, sizeof control);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof seg);
			memcpy(CMSG_DATA(cm), &seg, sizeof seg);
			if (sendmsg(tx, &msg, 0) != SIZE)
				die("sendmsg UDP_SEGMENT");
		} else {
			for (int i = 0; i < SEGS; i++) {
				if (sendto(tx, payload + i * SEG, SEG, 0, (struct sockaddr *)&to, sizeof to) !=
				    SEG)
					die("sendto");
			}
		}
		sent += SEGS;
	}
	cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	wall_ns = now_ns(CLOCK_MONOTONIC) - wall0;

	/* Let the drainer catch up (at most a second), then stop it. */
	for (int i = 0; i < 1000 && atomic_load(&drained) < sent; i++) {
		struct timespec ms = { .tv_sec = 0, .tv_nsec = 1000000 };

		if (nanosleep(&ms, NULL) < 0 && errno != EINTR)
			die("nanosleep");
	}
	atomic_store(&stop, 1);
	err = pthread_join(drainer, NULL);
	if (err != 0) {
		errno = err;
		die("pthread_join");
	}
	printf("{\"mode\":\"%s\",\"datagrams\":%llu,\"drained\":%llu,\"sender_cpu_ns_per_datagram\":%.1f,"
	       "\"thread_cpu_ns_per_datagram\":%.1f,\"wait_cpu_ns_per_datagram\":%.1f,"
	       "\"wall_s\":%.3f,\"datagrams_per_s\":%.0f,\"sleeps\":%llu}\n",
	       argv[1], sent, (unsigned long long)atomic_load(&drained), (cpu_ns - wait_ns) / (double)sent,
	       cpu_ns / (double)sent, wait_ns / (double)sent, wall_ns / 1e9, (double)sent / (wall_ns / 1e9),
	       sleeps);
	if (fflush(stdout) != 0)
		die("stdout");
	return 0;
}
