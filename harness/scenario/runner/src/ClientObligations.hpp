// What a client under test must do, judged from both sides of its link (role: server,
// docs/clients.md "What every client is held to"). Pure C++, no Qt: the server role's
// execution feeds it every packet the client sent (after the strict codec decoded it) and
// every packet the harness sent, and fails the scenario on the first breach, whether or not
// the scenario looked for it. Each breach names a client-side statement of docs/spec/*.tsv.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <mqtt/codec.hpp>

namespace mqtth::runner {

struct ObligationBreach {
  std::string statement;  // "MQTT-3.3.1-1"; "" when the spec numbers no statement for it
  std::string message;
};

class ClientObligations {
 public:
  explicit ClientObligations(mqtt::Version version) : version_(version) {}

  // A new TCP connection from the client under test.
  void connection_opened();
  // A packet the client sent on the current connection; `now_ms` is the scenario clock.
  std::vector<ObligationBreach> client_sent(const mqtt::PacketView& packet, double now_ms);
  // A packet the harness sent on the current connection.
  void server_sent(const mqtt::PacketView& packet, double now_ms);
  // The connection ended (either side): keep alive is no longer judged.
  void connection_closed() { keep_alive_ms_.reset(); }
  // When the client's silence becomes a breach of Keep Alive (nullopt: not judged now).
  std::optional<double> keep_alive_due_ms() const;
  std::optional<ObligationBreach> idle_check(double now_ms) const;

 private:
  struct InFlight {
    bool released = false;     // the harness sent PUBREC: the client owes PUBREL, not PUBLISH
    unsigned connection = 0;   // the connection it was first sent on
    std::string topic;
    std::string payload;
  };
  bool v5() const { return version_ == mqtt::Version::v5; }
  std::string id(const char* v311, const char* v50) const { return v5() ? v50 : v311; }

  mqtt::Version version_;
  unsigned connection_ = 0;
  bool connect_seen_ = false;    // on the current connection
  bool disconnect_seen_ = false; // on the current connection
  bool refused_ = false;         // the harness refused its CONNECT: the connection is not established
  std::uint16_t connect_keep_alive_ = 0;
  std::optional<double> keep_alive_ms_;  // judged once a successful CONNACK went out
  double last_client_packet_ms_ = 0;
  // What the harness announced in its last successful CONNACK (5.0; defaults otherwise).
  std::uint8_t maximum_qos_ = 2;
  bool retain_available_ = true;
  std::uint16_t receive_maximum_ = 65535;
  std::uint16_t topic_alias_maximum_ = 0;
  bool server_keep_alive_ = false;  // the CONNACK's Server Keep Alive replaced the client's
  std::map<std::uint16_t, InFlight> in_flight_;  // the client's QoS 1/2 PUBLISHes not finished
  std::set<std::uint16_t> discarded_releases_;   // PUBRELs owed in a session a Session Present 0 ended
};

}  // namespace mqtth::runner
