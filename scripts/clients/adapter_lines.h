/* The line side of the adapter protocol (docs/clients.md "Adapter protocol"), shared by the
 * C adapters: one event per stdout line, flushed at once and whole whatever thread writes
 * it, and the KEY=VALUE options of a `connect` command. */
#ifndef MQTTH_ADAPTER_LINES_H
#define MQTTH_ADAPTER_LINES_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* One event line on stdout. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  va_list ap;
  pthread_mutex_lock(&out_lock);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
  pthread_mutex_unlock(&out_lock);
}

/* The value of KEY=VALUE among the words after "connect", or `fallback`. */
static const char *option(char *line, const char *key, const char *fallback, char *buf, size_t size) {
  size_t n = strlen(key);
  for (char *w = strchr(line, ' '); w; w = strchr(w + 1, ' ')) {
    if (strncmp(w + 1, key, n) == 0 && w[1 + n] == '=') {
      size_t len = strcspn(w + 2 + n, " ");
      if (len >= size) len = size - 1;
      memcpy(buf, w + 2 + n, len);
      buf[len] = '\0';
      return buf;
    }
  }
  return fallback;
}

#endif
