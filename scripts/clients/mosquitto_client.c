/* mqtt-harness client adapter for libmosquitto (libmosquitto-dev 2.0).
 *
 * build: cc -O1 -o mosquitto_client mosquitto_client.c -lmosquitto -lpthread (adapter_lines.h beside it)
 * usage: mosquitto_client HOST PORT
 *
 * Speaks the adapter protocol of docs/clients.md: one command per stdin line, one event per
 * stdout line. The client under test is libmosquitto's own: its network thread
 * (mosquitto_loop_start), its reconnects (after 1 s), its in-flight store and re-sends.
 */
#include "adapter_lines.h"
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_connect(struct mosquitto *m, void *u, int rc, int flags, const mosquitto_property *p) {
  (void)m; (void)u; (void)p;
  if (rc == 0) say("connected %d", flags & 1);
  else say("refused %d", rc);
}

static void on_message(struct mosquitto *m, void *u, const struct mosquitto_message *msg, const mosquitto_property *p) {
  (void)m; (void)u; (void)p;
  say("received %s %d %.*s", msg->topic, msg->qos, msg->payloadlen, (const char *)msg->payload);
}

static void on_disconnect(struct mosquitto *m, void *u, int rc, const mosquitto_property *p) {
  (void)m; (void)u; (void)rc; (void)p;
  say("closed");
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  struct mosquitto *mosq = NULL;
  char line[4096];
  mosquitto_lib_init();
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (strncmp(line, "connect", 7) == 0) {
      char b1[64], b2[64], b3[64], b4[256];
      int v5 = strcmp(option(line, "protocol", "3.1.1", b1, sizeof b1), "5") == 0;
      int clean = strcmp(option(line, "clean", "1", b2, sizeof b2), "1") == 0;
      int keepalive = atoi(option(line, "keepalive", "60", b3, sizeof b3));
      const char *id = option(line, "client_id", "mqtth-mosquitto", b4, sizeof b4);
      mosq = mosquitto_new(id, clean, NULL);
      mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
      mosquitto_connect_v5_callback_set(mosq, on_connect);
      mosquitto_message_v5_callback_set(mosq, on_message);
      mosquitto_disconnect_v5_callback_set(mosq, on_disconnect);
      mosquitto_reconnect_delay_set(mosq, 1, 1, false);
      mosquitto_property *props = NULL;
      /* A session outlives the connection only with a Session Expiry Interval (5.0). */
      if (v5 && !clean) mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 300);
      int rc = mosquitto_connect_bind_v5(mosq, host, port, keepalive, NULL, props);
      mosquitto_property_free_all(&props);
      if (rc != MOSQ_ERR_SUCCESS) say("error connect: %s", mosquitto_strerror(rc));
      mosquitto_loop_start(mosq);
    } else if (strncmp(line, "publish ", 8) == 0 && mosq) {
      char *topic = line + 8, *qos = strchr(topic, ' ');
      if (!qos) continue;
      *qos++ = '\0';
      char *payload = strchr(qos, ' ');
      payload = payload ? payload + 1 : qos + strlen(qos);
      int rc = mosquitto_publish(mosq, NULL, topic, (int)strlen(payload), payload, atoi(qos), false);
      if (rc != MOSQ_ERR_SUCCESS) say("error publish: %s", mosquitto_strerror(rc));
    } else if (strncmp(line, "subscribe ", 10) == 0 && mosq) {
      char *filter = line + 10, *qos = strchr(filter, ' ');
      if (!qos) continue;
      *qos++ = '\0';
      int rc = mosquitto_subscribe(mosq, NULL, filter, atoi(qos));
      if (rc != MOSQ_ERR_SUCCESS) say("error subscribe: %s", mosquitto_strerror(rc));
    } else if (strcmp(line, "disconnect") == 0 && mosq) {
      mosquitto_disconnect(mosq);
    } else {
      say("error unknown command %s", line);
    }
  }
  if (mosq) {
    mosquitto_disconnect(mosq);
    mosquitto_loop_stop(mosq, true);
    mosquitto_destroy(mosq);
  }
  mosquitto_lib_cleanup();
  return 0;
}
