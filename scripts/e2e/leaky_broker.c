/* A tiny MQTT 3.1.1 broker with two real bugs, built with -fsanitize=address by
 * scripts/e2e/test_run_spawn.py so that `run --spawn` meets genuine AddressSanitizer and
 * LeakSanitizer reports, not printed imitations.
 *
 *   leaky_broker PORT
 *
 * Answers CONNECT with CONNACK, QoS 1 PUBLISH with PUBACK, PINGREQ with PINGRESP; routes
 * nothing. A PUBLISH to "t/leak" keeps a copy of its topic that nothing frees (LeakSanitizer
 * reports it when the process exits after SIGTERM); a PUBLISH to "t/uaf" reads freed memory
 * (AddressSanitizer aborts); a PUBLISH to "fz/..." (topics the live fuzzer uses) overflows a
 * signed int, which UndefinedBehaviorSanitizer reports and survives when the test builds it
 * with -fsanitize=undefined too (scripts/e2e/test_netfuzz_sanitizers.py). Single-threaded
 * poll() loop on 127.0.0.1. */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 64

struct conn {
  int fd;
  unsigned char buf[65536];
  size_t len;
};

static volatile sig_atomic_t stopping;

static void on_term(int sig) { (void)sig; stopping = 1; }

static void send_all(int fd, const void *p, size_t n) {
  const unsigned char *b = p;
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w <= 0) return;
    b += w;
    n -= (size_t)w;
  }
}

static void on_publish(int fd, unsigned char first, const unsigned char *body, size_t n) {
  if (n < 2) return;
  size_t tlen = (size_t)body[0] << 8 | body[1];
  if (2 + tlen > n) return;
  char topic[256] = {0};
  memcpy(topic, body + 2, tlen < 255 ? tlen : 255);
  if (strcmp(topic, "t/leak") == 0) {
    char *copy = strdup(topic);  /* nothing keeps the pointer: a real leak */
    copy[0] = 'T';
  } else if (strncmp(topic, "fz/", 3) == 0) {
    volatile int base = INT_MAX;
    volatile int sum = base + (int)n; /* signed overflow: recoverable under UBSan */
    (void)sum;
  } else if (strcmp(topic, "t/uaf") == 0) {
    char *volatile session = malloc(32);  /* volatile: the compiler's own check stays quiet */
    strcpy(session, topic);
    free(session);
    if (session[0] == 't') puts("unreachable under ASan");  /* heap-use-after-free */
  }
  if (((first >> 1) & 3) == 1 && n >= 2 + tlen + 2) {
    unsigned char ack[4] = {0x40, 2, body[2 + tlen], body[3 + tlen]};
    send_all(fd, ack, 4);
  }
}

/* false: close the connection */
static int handle(struct conn *c) {
  for (;;) {
    if (c->len < 2) return 1;
    size_t value = 0, at = 1;
    int shift = 0;
    for (;;) {
      if (at >= c->len) return 1;
      if (at > 4) return 0;
      unsigned char b = c->buf[at++];
      value |= (size_t)(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    if (c->len < at + value) return 1;
    unsigned char first = c->buf[0];
    const unsigned char *body = c->buf + at;
    switch (first >> 4) {
      case 1: {
        static const unsigned char connack[4] = {0x20, 2, 0, 0};
        send_all(c->fd, connack, 4);
        break;
      }
      case 3: on_publish(c->fd, first, body, value); break;
      case 12: {
        static const unsigned char pingresp[2] = {0xd0, 0};
        send_all(c->fd, pingresp, 2);
        break;
      }
      case 14: return 0;
      default: break;
    }
    memmove(c->buf, c->buf + at + value, c->len - at - value);
    c->len -= at + value;
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: leaky_broker PORT\n");
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0) {
    perror("listen");
    return 1;
  }
  printf("listening on 127.0.0.1:%s\n", argv[1]);
  fflush(stdout);
  static struct conn conns[MAX_CONNS];
  for (int i = 0; i < MAX_CONNS; ++i) conns[i].fd = -1;
  while (!stopping) {
    struct pollfd p[MAX_CONNS + 1];
    int map[MAX_CONNS + 1], n = 0;
    p[n].fd = lfd;
    p[n].events = POLLIN;
    map[n++] = -1;
    for (int i = 0; i < MAX_CONNS; ++i)
      if (conns[i].fd >= 0) {
        p[n].fd = conns[i].fd;
        p[n].events = POLLIN;
        map[n++] = i;
      }
    if (poll(p, (nfds_t)n, 200) <= 0) continue;
    for (int k = 0; k < n; ++k) {
      if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (map[k] < 0) {
        int fd = accept(lfd, NULL, NULL);
        int slot = -1;
        for (int i = 0; i < MAX_CONNS && slot < 0; ++i)
          if (conns[i].fd < 0) slot = i;
        if (fd >= 0 && slot >= 0) {
          conns[slot].fd = fd;
          conns[slot].len = 0;
        } else if (fd >= 0) {
          close(fd);
        }
        continue;
      }
      struct conn *c = &conns[map[k]];
      ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
      if (r <= 0 || (c->len += (size_t)r, !handle(c))) {
        close(c->fd);
        c->fd = -1;
      }
    }
  }
  /* A clean exit after SIGTERM: LeakSanitizer runs now. */
  return 0;
}
