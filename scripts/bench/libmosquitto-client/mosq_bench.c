/* Reference 1 -> 1 closed-loop load with libmosquitto, the same shape as
 * `mqtt-harness bench --publishers 1 --subscribers 1 --messages N --window W`:
 * one publisher, one subscriber, at most W messages published and not yet received,
 * payload = 16 hex digits of the CLOCK_MONOTONIC send time + padding, latency from send
 * to delivery. Prints one JSON object. Built by scripts/bench/compare-brokers.sh:
 *   cc -O2 -o mosq_bench mosq_bench.c -lmosquitto -lpthread
 * usage: mosq_bench HOST PORT QOS MESSAGES PAYLOAD WINDOW
 *
 * Why the subscriber announces Receive Maximum 65535 (MOSQ_OPT_RECEIVE_MAXIMUM):
 * libmosquitto 2.0.11 announces 20 by default and enforces it strictly: a 21st
 * unacknowledged QoS 1/2 PUBLISH makes mosquitto_loop() return MOSQ_ERR_PROTOCOL and the
 * loop_start thread ends silently. mosquitto 2.0.11 (the broker) frees a QoS 2 slot at
 * PUBREC instead of PUBCOMP, so under load it sends more than 20 (MQTT-3.3.4-9) and the
 * subscriber died after a few hundred QoS 2 messages -- the "hang" of earlier runs. The
 * broker's own max_inflight_messages still bounds what it sends, so the load is the same.
 * The network loops run in our own threads so that a loop ending for any reason ends
 * the run at once (exit status 1, "loop_error" in the JSON) instead of waiting. */
#include <mosquitto.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long received = 0;
static int subscribed = 0, pub_connected = 0;
static uint64_t *latencies;
static long total;
static int loop_rc[2] = {-1, -1};      /* sub, pub: rc of mosquitto_loop_forever once it ended */
static volatile int stopping = 0;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_message(struct mosquitto *m, void *u, const struct mosquitto_message *msg) {
  (void)m; (void)u;
  uint64_t t = now_ns(), sent = 0;
  if (msg->payloadlen >= 16) {
    char hex[17];
    memcpy(hex, msg->payload, 16);
    hex[16] = 0;
    sent = strtoull(hex, NULL, 16);
  }
  pthread_mutex_lock(&lock);
  if (received < total) latencies[received] = t - sent;
  received++;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
}

static void on_subscribe(struct mosquitto *m, void *u, int mid, int n, const int *granted) {
  (void)m; (void)u; (void)mid; (void)n; (void)granted;
  pthread_mutex_lock(&lock);
  subscribed = 1;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
}

static void on_connect_sub(struct mosquitto *m, void *u, int rc) {
  if (rc == 0) mosquitto_subscribe(m, NULL, (const char *)u, atoi(getenv("MOSQ_BENCH_QOS")));
}

static void on_connect_pub(struct mosquitto *m, void *u, int rc) {
  (void)m; (void)u;
  pthread_mutex_lock(&lock);
  pub_connected = rc == 0;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
}

struct loop_arg { struct mosquitto *mosq; int index; };

static void *run_loop(void *p) {
  struct loop_arg *arg = p;
  int rc = mosquitto_loop_forever(arg->mosq, 100, 1);
  pthread_mutex_lock(&lock);
  loop_rc[arg->index] = rc;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
  if (!stopping) fprintf(stderr, "mosq_bench: %s loop ended: %s\n", arg->index ? "publisher" : "subscriber", mosquitto_strerror(rc));
  return NULL;
}

static int loop_failed(void) { return loop_rc[0] != -1 || loop_rc[1] != -1; }

/* Waits (lock held) until done() or no delivery for 5 s or a loop ended; returns 0 on done. */
static int wait_for(int (*done)(long), long arg) {
  long last = received;
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 5;
  while (!done(arg)) {
    if (loop_failed()) return -1;
    if (pthread_cond_timedwait(&cond, &lock, &dl) != 0) {
      if (received == last) return -1;   /* no progress for 5 s: a message was lost */
      last = received;
      clock_gettime(CLOCK_REALTIME, &dl);
      dl.tv_sec += 5;
    }
  }
  return 0;
}

static long window_limit;
static int window_open(long i) { return i - received < window_limit; }
static int all_received(long n) { return received >= n; }

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *sorted, long n, double q) {
  long rank = (long)(q / 100.0 * n + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s HOST PORT QOS MESSAGES PAYLOAD WINDOW\n", argv[0]);
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]), qos = atoi(argv[3]);
  total = atol(argv[4]);
  int payload = atoi(argv[5]) < 16 ? 16 : atoi(argv[5]);
  long window = atol(argv[6]);
  setenv("MOSQ_BENCH_QOS", argv[3], 1);
  latencies = calloc((size_t)total, sizeof *latencies);
  char topic[64];
  snprintf(topic, sizeof topic, "mosq-bench/%ld", (long)now_ns());

  mosquitto_lib_init();
  struct mosquitto *sub = mosquitto_new(NULL, true, topic);
  struct mosquitto *pub = mosquitto_new(NULL, true, NULL);
  mosquitto_int_option(sub, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_int_option(pub, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_int_option(sub, MOSQ_OPT_RECEIVE_MAXIMUM, 65535);
  mosquitto_connect_callback_set(sub, on_connect_sub);
  mosquitto_subscribe_callback_set(sub, on_subscribe);
  mosquitto_message_callback_set(sub, on_message);
  mosquitto_connect_callback_set(pub, on_connect_pub);
  if (mosquitto_connect(sub, host, port, 60) || mosquitto_connect(pub, host, port, 60)) {
    fprintf(stderr, "cannot connect to %s:%d\n", host, port);
    return 2;
  }
  struct loop_arg sub_arg = {sub, 0}, pub_arg = {pub, 1};
  pthread_t sub_thread, pub_thread;
  mosquitto_threaded_set(sub, true);
  mosquitto_threaded_set(pub, true);
  pthread_create(&sub_thread, NULL, run_loop, &sub_arg);
  pthread_create(&pub_thread, NULL, run_loop, &pub_arg);
  pthread_mutex_lock(&lock);
  while ((!subscribed || !pub_connected) && !loop_failed()) pthread_cond_wait(&cond, &lock);
  int setup_failed = loop_failed();
  pthread_mutex_unlock(&lock);
  if (setup_failed) return 2;

  char *buf = malloc((size_t)payload + 1);
  memset(buf, 'x', (size_t)payload);
  clock_t cpu0 = clock();
  uint64_t start = now_ns();
  window_limit = window;
  int aborted = 0;
  for (long i = 0; i < total && !aborted; ++i) {
    pthread_mutex_lock(&lock);
    aborted = wait_for(window_open, i) != 0;
    pthread_mutex_unlock(&lock);
    if (aborted) break;
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)now_ns());
    memcpy(buf, hex, 16);
    mosquitto_publish(pub, NULL, topic, payload, buf, qos, false);
  }
  uint64_t sent_end = now_ns();
  pthread_mutex_lock(&lock);
  if (!aborted) wait_for(all_received, total);
  long got = received;
  int loop_error = loop_rc[0] != -1 ? loop_rc[0] : loop_rc[1];
  pthread_mutex_unlock(&lock);
  uint64_t end = now_ns();
  double cpu = (double)(clock() - cpu0) / CLOCKS_PER_SEC;
  long n = got < total ? got : total;
  qsort(latencies, (size_t)n, sizeof *latencies, cmp);
  printf("{\"tool\": \"libmosquitto reference\", \"qos\": %d, \"sent\": %ld, \"received\": %ld, "
         "\"loop_error\": \"%s\", \"sent_per_s\": %.1f, \"received_per_s\": %.1f, \"cpu_s\": %.3f, "
         "\"latency\": {\"unit\": \"ns\", \"p50\": %llu, \"p90\": %llu, \"p99\": %llu, \"p99_9\": %llu, \"max\": %llu}}\n",
         qos, total, got, loop_error == -1 ? "" : mosquitto_strerror(loop_error), total / ((sent_end - start) / 1e9), got / ((end - start) / 1e9), cpu,
         (unsigned long long)(n ? pct(latencies, n, 50) : 0), (unsigned long long)(n ? pct(latencies, n, 90) : 0),
         (unsigned long long)(n ? pct(latencies, n, 99) : 0), (unsigned long long)(n ? pct(latencies, n, 99.9) : 0),
         (unsigned long long)(n ? latencies[n - 1] : 0));
  stopping = 1;
  mosquitto_disconnect(pub);
  mosquitto_disconnect(sub);
  pthread_join(pub_thread, NULL);
  pthread_join(sub_thread, NULL);
  mosquitto_lib_cleanup();
  return loop_error == -1 && (got == total || qos == 0) ? 0 : 1;
}
