/* mqtt-harness client adapter for Eclipse Paho C (libpaho-mqtt-dev 1.3, async API).
 *
 * build: cc -O1 -o paho_c_client paho_c_client.c -lpaho-mqtt3as (adapter_lines.h beside it)
 * usage: paho_c_client HOST PORT
 *
 * Speaks the adapter protocol of docs/clients.md: one command per stdin line, one event per
 * stdout line. The client under test is Paho's own: its threads, its automatic reconnect
 * (after 1 s), its in-flight store (in memory) and its re-sends.
 */
#include "adapter_lines.h"
#include <MQTTAsync.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static MQTTAsync client;
static int v5;

/* After an automatic reconnect Paho C calls only this (no onSuccess): Session Present is not
 * passed here, so the event has no SP field. */
static void on_connected(void *context, char *cause) {
  (void)context;
  if (cause && strstr(cause, "automatic")) say("connected");
}

static void on_connect_success(void *context, MQTTAsync_successData *data) {
  (void)context;
  say("connected %d", data ? data->alt.connect.sessionPresent : 0);
}

static void on_connect_success5(void *context, MQTTAsync_successData5 *data) {
  (void)context;
  say("connected %d", data ? data->alt.connect.sessionPresent : 0);
}

static void on_connect_failure(void *context, MQTTAsync_failureData *data) {
  (void)context;
  say("refused %d", data ? data->code : -1);
}

static void on_connect_failure5(void *context, MQTTAsync_failureData5 *data) {
  (void)context;
  say("refused %d", data ? (int)data->reasonCode : -1);
}

static void on_lost(void *context, char *cause) {
  (void)context; (void)cause;
  say("closed");
}

static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *m) {
  (void)context; (void)topic_len;
  say("received %s %d %.*s", topic, m->qos, m->payloadlen, (const char *)m->payload);
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(topic);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
    return 2;
  }
  char uri[512];
  snprintf(uri, sizeof uri, "tcp://%s:%s", argv[1], argv[2]);
  char line[4096];
  int created = 0;
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (strncmp(line, "connect", 7) == 0 && !created) {
      char b1[64], b2[64], b3[64], b4[256];
      v5 = strcmp(option(line, "protocol", "3.1.1", b1, sizeof b1), "5") == 0;
      int clean = strcmp(option(line, "clean", "1", b2, sizeof b2), "1") == 0;
      int keepalive = atoi(option(line, "keepalive", "60", b3, sizeof b3));
      const char *id = option(line, "client_id", "mqtth-paho-c", b4, sizeof b4);
      MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer;
      if (v5) create.MQTTVersion = MQTTVERSION_5;
      int rc = MQTTAsync_createWithOptions(&client, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &create);
      if (rc != MQTTASYNC_SUCCESS) {
        say("error connect: create %d", rc);
        continue;
      }
      created = 1;
      MQTTAsync_setCallbacks(client, NULL, on_lost, on_message, NULL);
      MQTTAsync_setConnected(client, NULL, on_connected);
      MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
      MQTTAsync_connectOptions opts5 = MQTTAsync_connectOptions_initializer5;
      MQTTProperties props = MQTTProperties_initializer;
      MQTTAsync_connectOptions *o = v5 ? &opts5 : &opts;
      o->keepAliveInterval = keepalive;
      o->automaticReconnect = 1;
      o->minRetryInterval = 1;
      o->maxRetryInterval = 1;
      if (v5) {
        o->cleanstart = clean;
        o->onSuccess5 = on_connect_success5;
        o->onFailure5 = on_connect_failure5;
        if (!clean) {
          /* A session outlives the connection only with a Session Expiry Interval (5.0). */
          MQTTProperty p;
          p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
          p.value.integer4 = 300;
          MQTTProperties_add(&props, &p);
          o->connectProperties = &props;
        }
      } else {
        o->cleansession = clean;
        o->MQTTVersion = MQTTVERSION_3_1_1;
        o->onSuccess = on_connect_success;
        o->onFailure = on_connect_failure;
      }
      rc = MQTTAsync_connect(client, o);
      if (rc != MQTTASYNC_SUCCESS) say("error connect: %d", rc);
    } else if (strncmp(line, "publish ", 8) == 0 && created) {
      char *topic = line + 8, *qos = strchr(topic, ' ');
      if (!qos) continue;
      *qos++ = '\0';
      char *payload = strchr(qos, ' ');
      payload = payload ? payload + 1 : qos + strlen(qos);
      MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
      int rc = MQTTAsync_send(client, topic, (int)strlen(payload), payload, atoi(qos), 0, &ro);
      if (rc != MQTTASYNC_SUCCESS) say("error publish: %d", rc);
    } else if (strncmp(line, "subscribe ", 10) == 0 && created) {
      char *filter = line + 10, *qos = strchr(filter, ' ');
      if (!qos) continue;
      *qos++ = '\0';
      MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
      int rc = MQTTAsync_subscribe(client, filter, atoi(qos), &ro);
      if (rc != MQTTASYNC_SUCCESS) say("error subscribe: %d", rc);
    } else if (strcmp(line, "disconnect") == 0 && created) {
      MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
      MQTTAsync_disconnect(client, &d);
    } else {
      say("error unknown command %s", line);
    }
  }
  if (created) MQTTAsync_destroy(&client);
  return 0;
}
