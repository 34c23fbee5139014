// Stateful cases (docs/netfuzz.md "Stateful cases"): several connections of one case drive
// the broker through subscription, session, will and QoS-flow state, with any packet type
// thrown in at any point. Bugs that need a sequence across connections (a takeover while a
// QoS 2 message is in flight, a will published into a retained topic a resumed session
// subscribes to, ...) are out of reach of one connection per case.
#include "mqtth/netfuzz/NetFuzz.hpp"

#include "Mutations.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace mqtth::netfuzz {

Case Case::without(std::size_t i) const {
  Case t = *this;
  t.packets.erase(t.packets.begin() + static_cast<std::ptrdiff_t>(i));
  if (t.stateful()) t.connection.erase(t.connection.begin() + static_cast<std::ptrdiff_t>(i));
  return t;
}

Case Case::without_connection(std::uint8_t k) const {
  Case t;
  t.mutations = mutations;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (connection_of(i) == k) continue;
    t.packets.push_back(packets[i]);
    if (stateful()) t.connection.push_back(connection[i]);
  }
  return t;
}

std::vector<std::uint8_t> Case::connections() const {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < packets.size(); ++i)
    if (connection_of(i) != kClock && std::find(out.begin(), out.end(), connection_of(i)) == out.end())
      out.push_back(connection_of(i));
  return out;
}

int Case::pause_ms(const std::string& entry) {
  int ms = 0;
  for (const char ch : entry) {
    if (ch < '0' || ch > '9' || ms > 10000) break;  // minimisation may cut digits, never adds any
    ms = ms * 10 + (ch - '0');
  }
  return std::min(ms, 10000);
}

namespace {

using mqtt::PropertyId;
using mqtt::Version;

const std::string kPingreq("\xC0\x00", 2);

// The largest length a length-prefixed field can carry: a Two Byte Integer (1.5.4, 1.5.6).
constexpr std::size_t kMaxTwoByteLength = 65535;

// Length-bearing fields one case may push to an extreme (empty, or 65535 bytes).
enum class Field {
  none, client_id, will_topic, will_payload, username, password, topic, filter, payload,
  user_property, correlation_data, response_topic, content_type, auth_data
};
constexpr std::array<std::string_view, 14> kFieldNames = {
    "", "client id", "will topic", "will payload", "user name", "password", "topic name", "topic filter",
    "payload", "user property", "correlation data", "response topic", "content type", "authentication data"};

// Roles of the connections: the subscriber's client id is taken over (connection 2) and
// resumed (connection 3); a connection not used for either may carry a refused CONNECT.
constexpr std::uint8_t kSubscriber = 0, kPublisher = 1, kTakeover = 2, kResume = 3;

struct Connection {
  bool used = false;       // a packet went on it
  bool connected = false;  // its CONNECT went out
  bool closed = false;     // the case closed it (close or DISCONNECT), or the broker refused it
  bool taken_over = false; // another connection took its client id over
  std::uint16_t next_id = 1;
  std::vector<std::uint16_t> qos2_unreleased;  // PUBLISH QoS 2 sent, no PUBREL yet
  std::vector<std::string> filters;            // subscribed, for UNSUBSCRIBE
};

class StatefulBuilder {
 public:
  StatefulBuilder(Rng& rng, Version v, std::uint64_t index)
      : rng_(rng), v_(v), prefix_("sf" + std::to_string(index % 1000)), client_a_(prefix_ + "-a"),
        client_b_(prefix_ + "-b") {
    if (rng_.chance(20)) {
      extreme_ = static_cast<Field>(1 + rng_.below(kFieldNames.size() - 1));
      extreme_empty_ = rng_.chance(40);
      note(std::string("size extreme: ") + (extreme_empty_ ? "empty " : "65535-byte ") + std::string(kFieldNames[static_cast<std::size_t>(extreme_)]));
    }
  }

  Case build() {
    // The subscriber first (so it holds its subscriptions before anything is published),
    // or now and then the publisher first (retained messages then wait for it).
    const bool publisher_first = rng_.chance(25);
    connect(publisher_first ? kPublisher : kSubscriber);
    connect(publisher_first ? kSubscriber : kPublisher);
    const auto steps = 4 + rng_.below(10);
    // One case in 400 waits once, 1.1-2.5 s, somewhere in the middle: long enough for the
    // 1-2 s message expiry, will delay and session expiry the case sets to run out
    // (3.3.2.3.3, 3.1.3.2.2, 3.1.2.11.2). Rare: a pause costs a worker the time of 100-200
    // cases (one in a hundred halved the embedded broker's rate, 167 -> 75 cases/s).
    const auto pause_at = rng_.below(400) == 0 ? rng_.below(steps) : steps;
    for (std::uint32_t i = 0; i < steps; ++i) {
      if (i == pause_at) {
        const auto ms = 1100 + rng_.below(1400);
        note("pause " + std::to_string(ms) + " ms");
        put(Case::kClock, std::to_string(ms));
      }
      action();
    }
    if (rng_.chance(10)) {
      const auto at = rng_.below(static_cast<std::uint32_t>(out_.packets.size()));
      if (!out_.packets[at].empty() && out_.connection[at] != Case::kClock) mutate_bytes(rng_, out_.packets[at], out_.mutations);
    }
    // The sentinel: on the last connection used when it is still open, else on the
    // publisher, which the case never closes.
    const std::uint8_t last = out_.connection.empty() ? kPublisher : out_.connection.back();
    put(last == Case::kClock || conns_[last].closed || conns_[last].taken_over ? kPublisher : last, kPingreq);
    return std::move(out_);
  }

 private:
  void note(std::string what) { out_.mutations.push_back(std::move(what)); }

  // A field at its extreme when this case pushes `f` there.
  std::string field(Field f, std::string normal, char fill = 'x') {
    if (f != extreme_) return normal;
    return extreme_empty_ ? std::string() : std::string(kMaxTwoByteLength, fill);
  }

  // The connection the subscriber's client id lives on now (after a takeover or resume).
  std::uint8_t subscriber() const { return subscriber_on_; }

  // Packet `bytes` on connection `k`. Where the turn passes to another connection the
  // executor ends it with a PINGREQ and waits for the PINGRESP (exchange_stateful).
  void put(std::uint8_t k, std::string bytes) {
    if (k != Case::kClock) conns_[k].used = true;
    out_.packets.push_back(std::move(bytes));
    out_.connection.push_back(k);
  }
  bool put_packet(std::uint8_t k, const mqtt::Packet& p) {
    auto enc = mqtt::encode_to_string(p, v_);
    if (!enc.ok()) return false;
    put(k, std::move(enc.value));
    return true;
  }

  mqtt::Properties user_properties() {
    mqtt::Properties props;
    if (v_ == Version::v5 && (rng_.chance(20) || extreme_ == Field::user_property))
      props.add_user(field(Field::user_property, "k", 'k'), field(Field::user_property, "v", 'v'));
    return props;
  }

  mqtt::Connect base_connect(const std::string& client_id) {
    mqtt::Connect c;
    c.protocol_name = "MQTT";
    c.protocol_version = v_;
    // At 65535 bytes the ids stay distinct (the subscriber's is not the publisher's).
    c.client_id = field(Field::client_id, client_id, 'c');
    if (c.client_id.size() == kMaxTwoByteLength) c.client_id.replace(c.client_id.size() - client_id.size(), client_id.size(), client_id);
    c.keep_alive = static_cast<std::uint16_t>(rng_.chance(90) ? 60 : 0);
    return c;
  }

  // A will with the 5.0 properties that interact with session state (3.1.3.2): a delay
  // shorter or longer than the session, an expiry, and the forwarded ones.
  mqtt::Will will() {
    mqtt::Will w;
    w.topic = field(Field::will_topic, prefix_ + (rng_.chance(70) ? "/w" : "/t"), 'w');
    w.payload = field(Field::will_payload, rng_.chance(20) ? std::string() : "will", 'p');
    w.qos = static_cast<std::uint8_t>(rng_.below(3));
    w.retain = rng_.chance(40);
    if (v_ == Version::v5) {
      static constexpr std::array<std::uint32_t, 4> kDelays = {0, 1, 3, 0xFFFFFFFF};
      if (rng_.chance(60)) w.properties.add_number(PropertyId::will_delay_interval, kDelays[rng_.below(kDelays.size())]);
      if (rng_.chance(40)) w.properties.add_number(PropertyId::message_expiry_interval, rng_.below(3));
      if (rng_.chance(20)) w.properties.add_number(PropertyId::payload_format_indicator, 1);
      if (rng_.chance(20) || extreme_ == Field::content_type) w.properties.add_string(PropertyId::content_type, field(Field::content_type, "text/plain"));
      if (rng_.chance(20) || extreme_ == Field::response_topic) w.properties.add_string(PropertyId::response_topic, field(Field::response_topic, prefix_ + "/r"));
      if (rng_.chance(20) || extreme_ == Field::correlation_data) w.properties.add_string(PropertyId::correlation_data, field(Field::correlation_data, "id"));
      for (auto& p : user_properties()) w.properties.push_back(p);
    }
    return w;
  }

  // CONNECT of a client of the case: the subscriber's id on connections 0, 2 and 3.
  void connect(std::uint8_t k) {
    const bool subscriber_id = k != kPublisher;
    auto c = base_connect(subscriber_id ? client_a_ : client_b_);
    c.clean_start = k == kResume ? rng_.chance(10) : rng_.chance(60);
    if (v_ == Version::v5) {
      static constexpr std::array<std::uint32_t, 4> kExpiry = {0, 2, 60, 0xFFFFFFFF};
      if (rng_.chance(60)) c.properties.add_number(PropertyId::session_expiry_interval, kExpiry[rng_.below(kExpiry.size())]);
      if (rng_.chance(20)) c.properties.add_number(PropertyId::receive_maximum, 1 + rng_.below(2));
      if (rng_.chance(15)) c.properties.add_number(PropertyId::topic_alias_maximum, rng_.below(3));
      if (rng_.chance(10)) c.properties.add_number(PropertyId::maximum_packet_size, 20 + rng_.below(100));
    }
    if (subscriber_id && rng_.chance(40)) c.will = will();
    if (rng_.chance(10) || extreme_ == Field::username) c.username = field(Field::username, "u");
    if (rng_.chance(10) || extreme_ == Field::password) c.password = field(Field::password, "p");
    if (put_packet(k, c)) {
      conns_[k].connected = true;
      if (subscriber_id) subscriber_on_ = k;
    }
  }

  // A CONNECT the broker has to refuse, carrying every optional part (will with
  // properties, user name, password, the 5.0 properties): an unsupported protocol level
  // (MQTT-3.1.2-2), a 3.1.1 empty client id without a clean session (MQTT-3.1.3-8), or a
  // 5.0 authentication method the broker does not know (3.1.2.11.9, reason 0x8C).
  void refused_connect(std::uint8_t k) {
    auto c = base_connect(client_b_ + "-x");
    c.clean_start = false;
    c.will = will();
    c.username = field(Field::username, "u");
    c.password = field(Field::password, "p");
    if (v_ == Version::v5) {
      c.properties.add_number(PropertyId::session_expiry_interval, 10);
      c.properties.add_number(PropertyId::receive_maximum, 5);
      c.properties.add_number(PropertyId::maximum_packet_size, 1024);
      c.properties.add_number(PropertyId::topic_alias_maximum, 2);
      c.properties.add_number(PropertyId::request_response_information, 1);
      c.properties.add_number(PropertyId::request_problem_information, 0);
      for (auto& p : user_properties()) c.properties.push_back(p);
    }
    const auto reason = rng_.below(3);
    if (reason == 1) c.client_id.clear();
    if (reason == 2 && v_ == Version::v5) {
      c.properties.add_string(PropertyId::authentication_method, "nf-unknown-method");
      c.properties.add_string(PropertyId::authentication_data, field(Field::auth_data, "a"));
    }
    auto enc = mqtt::encode_to_string(c, v_);
    if (!enc.ok()) return;
    if (reason == 0) {
      // The protocol level byte follows the protocol name "MQTT" (fixed header, 2 + 4).
      const auto at = enc.value.find("MQTT");
      static constexpr std::array<char, 4> kLevels = {0x00, 0x03, 0x06, static_cast<char>(0xFF)};
      if (at != std::string::npos) enc.value[at + 4] = kLevels[rng_.below(kLevels.size())];
    }
    note("refused CONNECT on connection " + std::to_string(k) + (reason == 0 ? " (protocol level)" : reason == 1 ? " (empty client id, no clean start)" : " (unknown authentication method)"));
    put(k, std::move(enc.value));
    conns_[k].connected = true;
    conns_[k].closed = true;  // the broker closes it; nothing more is sent on it
  }

  std::string topic_name() {
    switch (rng_.below(6)) {
      case 0: return prefix_ + "/x/y";
      case 1: return "$" + prefix_ + "/t";  // a '$' topic: wildcards at level 1 do not match it (MQTT-4.7.2-1)
      case 2: return prefix_ + "/w";
      default: return prefix_ + "/t";
    }
  }

  std::string topic_filter() {
    switch (rng_.below(9)) {
      case 0: return prefix_ + "/+";
      case 1: return prefix_ + "/#";
      case 2: return "$share/g/" + prefix_ + "/t";
      case 3: return "$share/g/" + prefix_ + "/#";
      case 4: return "$" + prefix_ + "/#";
      case 5: return "+/t";
      case 6: return prefix_ + "/x/+";
      default: return prefix_ + "/t";
    }
  }

  void subscribe(std::uint8_t k) {
    mqtt::Subscribe s;
    s.packet_id = conns_[k].next_id++;
    s.properties = user_properties();
    if (v_ == Version::v5 && rng_.chance(30)) s.properties.add_number(PropertyId::subscription_identifier, rng_.chance(80) ? 1 + rng_.below(3) : 268435455);
    const auto n = 1 + rng_.below(2);
    for (std::uint32_t i = 0; i < n; ++i) {
      mqtt::Subscription sub;
      sub.filter = field(Field::filter, topic_filter(), 'f');
      sub.options.qos = static_cast<std::uint8_t>(rng_.below(3));
      if (v_ == Version::v5) {
        // No Local on a shared subscription is a Protocol Error (MQTT-3.8.3-4): now and then.
        sub.options.no_local = rng_.chance(15) && (sub.filter.rfind("$share/", 0) != 0 || rng_.chance(20));
        sub.options.retain_as_published = rng_.chance(30);
        sub.options.retain_handling = static_cast<std::uint8_t>(rng_.below(3));
      }
      conns_[k].filters.push_back(sub.filter);
      s.subscriptions.push_back(std::move(sub));
    }
    put_packet(k, s);
  }

  void unsubscribe(std::uint8_t k) {
    mqtt::Unsubscribe u;
    u.packet_id = conns_[k].next_id++;
    u.properties = user_properties();
    const auto& filters = conns_[k].filters;
    u.filters.push_back(!filters.empty() && rng_.chance(80) ? filters[rng_.below(static_cast<std::uint32_t>(filters.size()))] : topic_filter());
    put_packet(k, u);
  }

  // A PUBLISH; retained set (payload) or cleared (empty payload, 3.3.1.3).
  void publish(std::uint8_t k) {
    mqtt::Publish p;
    p.qos = static_cast<std::uint8_t>(rng_.below(3));
    p.retain = rng_.chance(35);
    p.topic = field(Field::topic, topic_name(), 't');
    p.payload = field(Field::payload, p.retain && rng_.chance(30) ? std::string() : "m" + std::to_string(rng_.below(100)), 'p');
    if (p.qos) p.packet_id = conns_[k].next_id++;
    if (v_ == Version::v5) {
      p.properties = user_properties();
      if (rng_.chance(25)) p.properties.add_number(PropertyId::message_expiry_interval, rng_.chance(50) ? 1 : 0xFFFFFFFF);
      if (rng_.chance(15)) {
        p.properties.add_number(PropertyId::topic_alias, 1 + rng_.below(2));
        if (rng_.chance(40)) p.topic.clear();  // an alias used alone (3.3.2.3.4)
      }
      if (extreme_ == Field::correlation_data) p.properties.add_string(PropertyId::correlation_data, field(Field::correlation_data, "c"));
      if (extreme_ == Field::response_topic) p.properties.add_string(PropertyId::response_topic, field(Field::response_topic, "r"));
      if (extreme_ == Field::content_type) p.properties.add_string(PropertyId::content_type, field(Field::content_type, "t"));
    }
    if (put_packet(k, p) && p.qos == 2) conns_[k].qos2_unreleased.push_back(p.packet_id);
  }

  // The subscriber's side of a delivery flow, or the publisher's PUBREL: the broker picks
  // the ids of what it delivers, so the subscriber acknowledges the first few.
  void acknowledge(std::uint8_t k) {
    auto& c = conns_[k];
    if (!c.qos2_unreleased.empty() && rng_.chance(60)) {
      const auto id = c.qos2_unreleased.front();
      c.qos2_unreleased.erase(c.qos2_unreleased.begin());
      put_packet(k, mqtt::Pubrel{id, 0, {}});
      return;
    }
    const auto id = static_cast<std::uint16_t>(1 + rng_.below(3));
    switch (rng_.below(3)) {
      case 0: put_packet(k, mqtt::Puback{id, 0, {}}); break;
      case 1: put_packet(k, mqtt::Pubrec{id, 0, {}}); break;  // PUBCOMP may never follow: half done
      default: put_packet(k, mqtt::Pubcomp{id, 0, {}}); break;
    }
  }

  // Any packet type, in whatever state connection `k` is: before its CONNECT, on a live
  // session, on a session taken over, on a resumed one. Server-to-client types (CONNACK,
  // SUBACK, UNSUBACK, PINGRESP) and the reserved ones (0; 15 in 3.1.1) included: 3.1.1
  // 2.2.1 / 5.0 2.1.2 say who may send which.
  void any_packet(std::uint8_t k) {
    const auto type = rng_.below(16);
    const auto id = static_cast<std::uint16_t>(1 + rng_.below(3));
    note("packet type " + std::to_string(type) + " on connection " + std::to_string(k) + (conns_[k].connected ? "" : " before CONNECT"));
    switch (type) {
      case 0: put(k, std::string("\x00\x00", 2)); break;
      case 1: { auto c = base_connect(client_a_); put_packet(k, c); conns_[k].connected = true; break; }
      case 2: put_packet(k, mqtt::Connack{rng_.chance(50), 0, {}}); break;
      case 3: publish(k); break;
      case 4: put_packet(k, mqtt::Puback{id, 0, {}}); break;
      case 5: put_packet(k, mqtt::Pubrec{id, 0, {}}); break;
      case 6: put_packet(k, mqtt::Pubrel{id, 0, {}}); break;
      case 7: put_packet(k, mqtt::Pubcomp{id, 0, {}}); break;
      case 8: subscribe(k); break;
      case 9: put_packet(k, mqtt::Suback{id, {}, {0x00}}); break;
      case 10: unsubscribe(k); break;
      case 11: put_packet(k, mqtt::Unsuback{id, {}, v_ == Version::v5 ? std::vector<std::uint8_t>{0x00} : std::vector<std::uint8_t>{}}); break;
      case 12: put(k, kPingreq); break;
      case 13: put(k, std::string("\xD0\x00", 2)); break;
      case 14: put_packet(k, mqtt::Disconnect{}); break;
      default:
        if (v_ == Version::v5) {
          mqtt::Auth a;
          a.reason_code = rng_.chance(50) ? 0x18 : 0x19;
          a.properties.add_string(PropertyId::authentication_method, "nf-unknown-method");
          if (extreme_ == Field::auth_data) a.properties.add_string(PropertyId::authentication_data, field(Field::auth_data, "a"));
          put_packet(k, a);
        } else {
          put(k, std::string("\xF0\x00", 2));  // reserved in 3.1.1 (2.2.1)
        }
        break;
    }
  }

  // The subscriber's client leaves: DISCONNECT (5.0: 0x04 sends the will; a new session
  // expiry, which is a Protocol Error when the CONNECT had 0, MQTT-3.14.2-2), or a close
  // without DISCONNECT (the will is published, 3.1.2.5).
  void leave(std::uint8_t k) {
    if (rng_.chance(50)) {
      mqtt::Disconnect d;
      if (v_ == Version::v5) {
        d.reason_code = rng_.chance(40) ? 0x04 : 0x00;
        if (rng_.chance(40)) d.properties.add_number(PropertyId::session_expiry_interval, rng_.chance(50) ? 0 : 30);
      }
      put_packet(k, d);
      note("DISCONNECT on connection " + std::to_string(k));
    } else {
      note("connection " + std::to_string(k) + " closed without DISCONNECT");
    }
    put(k, std::string());  // the close
    conns_[k].closed = true;
  }

  void action() {
    const auto a = subscriber();
    auto& sub = conns_[a];
    switch (rng_.below(14)) {
      case 0:
      case 1: if (!sub.closed) subscribe(a); break;
      case 2: subscribe(kPublisher); break;
      case 3:
      case 4:
      case 5: publish(kPublisher); break;
      case 6: if (!sub.closed) publish(a); break;
      case 7: acknowledge(sub.closed ? kPublisher : (rng_.chance(50) ? a : kPublisher)); break;
      case 8: if (!sub.closed) unsubscribe(a); break;  // often while a delivery to it is in flight
      case 9: {
        // Any packet: on a connection of the case, or on an unused one (before CONNECT).
        std::uint8_t k = static_cast<std::uint8_t>(rng_.below(Case::kMaxConnections));
        if (conns_[k].closed) k = kPublisher;
        any_packet(k);
        break;
      }
      case 10:
        // A takeover (MQTT-3.1.4-3): the subscriber's client id connects again while its
        // connection is open; the broker must close the old one.
        if (!conns_[kTakeover].used && !sub.closed) {
          note("takeover of " + client_a_ + " on connection 2");
          const auto filters = sub.filters;
          sub.taken_over = true;  // the broker closes it; what still goes there is "after takeover"
          connect(kTakeover);
          conns_[kTakeover].filters = filters;
        } else if (!sub.closed) {
          leave(a);
        }
        break;
      case 11:
        if (!sub.closed) leave(a);
        else if (!conns_[kResume].used) {
          // The session resumed (clean start 0, MQTT-3.1.2-4 / 3.1.2-5): what was queued or in
          // flight for it is sent again.
          note("session of " + client_a_ + " resumed on connection 3");
          connect(kResume);
          conns_[kResume].filters = conns_[a].filters;
        }
        break;
      case 12: {
        const std::uint8_t k = !conns_[kResume].used && !sub.closed ? kResume : kTakeover;
        if (!conns_[k].used) refused_connect(k);
        else publish(kPublisher);
        break;
      }
      default:
        if (!sub.closed && rng_.chance(50)) any_packet(a);
        else put(sub.closed ? kPublisher : a, kPingreq);
        break;
    }
  }

  Rng& rng_;
  Version v_;
  std::string prefix_, client_a_, client_b_;
  std::array<Connection, Case::kMaxConnections> conns_{};
  std::uint8_t subscriber_on_ = kSubscriber;
  Field extreme_ = Field::none;
  bool extreme_empty_ = false;
  Case out_;
};

}  // namespace

Case generate_stateful_case(std::uint64_t seed, std::uint64_t index, Version version) {
  // Its own stream: a stateful case is not the one-connection case of the same index.
  Rng rng((seed * 0x100000001B3ULL ^ (index + 1) * 0x9E3779B97F4A7C15ULL) + 0x5354415445ULL);
  return StatefulBuilder(rng, version, index).build();
}

}  // namespace mqtth::netfuzz
