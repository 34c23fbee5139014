#include "mqtth/runner/Probing.hpp"

#include <algorithm>
#include <cstdio>

namespace mqtth::runner {

namespace {

using Kind = ProbeAnswer::Kind;

std::string spaced_hex(std::string_view bytes, std::size_t limit = 16) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(bytes[i]));
    out += (i ? " " : "") + std::string(buf);
  }
  if (bytes.size() > limit) out += " ...";
  return out;
}

// Bytes that are no MQTT, as a person recognises them: the first line of text ("HTTP/1.1
// 400 Bad Request") when they are text, else hex.
std::string describe_bytes(std::string_view bytes) {
  const std::string_view head = bytes.substr(0, 64);
  const auto printable = std::count_if(head.begin(), head.end(), [](unsigned char ch) {
    return (ch >= 0x20 && ch < 0x7f) || ch == '\r' || ch == '\n' || ch == '\t';
  });
  if (!head.empty() && printable == static_cast<long>(head.size())) {
    std::string line(head.substr(0, head.find_first_of("\r\n")));
    return "text \"" + line + (line.size() < bytes.size() && bytes.find_first_of("\r\n") == std::string_view::npos ? "...\"" : "\"");
  }
  return "bytes " + spaced_hex(bytes);
}

bool alnum_id(std::string_view id) {
  return !id.empty() && id.size() <= 23 && std::all_of(id.begin(), id.end(), [](unsigned char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
  });
}

std::string mqtt_name(const std::string& version) { return "MQTT " + version; }

}  // namespace

std::string connack_code_text(mqtt::Version version, std::uint8_t code) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", code);
  const auto name = mqtt::reason_code_name(code, mqtt::PacketType::connack, version);
  return std::string(buf) + (name.empty() ? " (undefined)" : " (" + std::string(name) + ")");
}

std::string probe_connect_bytes(mqtt::Version version, const std::string& client_id) {
  mqtt::Connect connect;
  connect.protocol_name = "MQTT";
  connect.protocol_version = version;
  connect.clean_start = true;
  connect.keep_alive = kTypicalKeepAliveSeconds;
  connect.client_id = client_id;
  auto bytes = mqtt::encode_to_string(mqtt::Packet(connect), version);
  return bytes.ok() ? std::move(bytes.value) : std::string();
}

ProbeAnswer judge_probe_answer(mqtt::Version sent, std::string_view bytes, bool closed) {
  ProbeAnswer a;
  if (bytes.empty()) {
    a.kind = closed ? Kind::closed : Kind::silent;
    a.seen = closed ? "closed the connection without sending a byte" : "nothing";
    return a;
  }
  const auto frame = mqtt::peek_frame(mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  if (static_cast<unsigned char>(bytes[0]) != 0x20 || frame.status == mqtt::FrameInfo::Status::error) {
    a.kind = Kind::not_mqtt;
    a.seen = describe_bytes(bytes) + ", which is no CONNACK";
    return a;
  }
  if (frame.status == mqtt::FrameInfo::Status::need_more) {
    a.kind = Kind::not_mqtt;
    a.seen = "an incomplete CONNACK (" + spaced_hex(bytes) + ")" + (closed ? ", then closed the connection" : "");
    return a;
  }
  const std::string_view packet = bytes.substr(0, frame.size);
  // 5.0 3.1.2.2: a server that does not speak 5.0 may answer in its own (3.1.1) format.
  std::optional<mqtt::Version> format;
  for (auto v : {sent, mqtt::Version::v3_1_1}) {
    auto decoded = mqtt::decode(packet, mqtt::DecodeOptions{v});
    if (!decoded.ok()) continue;
    if (std::holds_alternative<mqtt::ConnackView>(decoded.value)) {
      a.connack = std::get<mqtt::Connack>(mqtt::to_owned(decoded.value));
      format = v;
      break;
    }
  }
  if (!a.connack) {
    a.kind = Kind::not_mqtt;
    a.seen = "a CONNACK that does not decode (" + spaced_hex(packet) + ")";
    return a;
  }
  const std::uint8_t code = a.connack->reason_code;
  a.seen = "CONNACK " + spaced_hex(packet) + " (" + (*format != sent ? "3.1.1 format: " : "") +
           connack_code_text(*format, code) + ")";
  if (*format != sent) a.kind = Kind::version_refused;
  else if (code == 0) a.kind = Kind::accepted;
  else if ((sent == mqtt::Version::v5 && code == 0x84) || (sent != mqtt::Version::v5 && code == 0x01))
    a.kind = Kind::version_refused;
  else a.kind = Kind::refused;
  return a;
}

bool rules_out_the_broker(const ProbeAnswer& answer) {
  return answer.kind == Kind::unreachable || answer.kind == Kind::silent || answer.kind == Kind::not_mqtt ||
         answer.kind == Kind::refused;
}

ProbeDecision decide_probes(const std::string& address, const std::vector<std::pair<std::string, ProbeAnswer>>& answers,
                            const std::vector<std::string>& versions_used,
                            const std::optional<std::vector<std::string>>& declared, const std::string& profile) {
  ProbeDecision d;
  auto is_declared = [&](const std::string& v) {
    return declared && std::find(declared->begin(), declared->end(), v) != declared->end();
  };
  for (const auto& [version, a] : answers) {
    const std::string what = "the " + mqtt_name(version) + " CONNECT";
    switch (a.kind) {
      case Kind::unreachable:
        d.fatal = "no MQTT broker at " + address + ": " + a.seen;
        return d;
      case Kind::silent:
        d.fatal = "no MQTT broker at " + address + ": it accepted the TCP connection but sent " + a.seen + " after " + what;
        return d;
      case Kind::not_mqtt:
        d.fatal = "no MQTT broker at " + address + ": it answered " + what + " with " + a.seen;
        return d;
      case Kind::refused:
        d.fatal = "the broker at " + address + " refuses the harness's " + mqtt_name(version) +
                  " CONNECT (clean start, Keep Alive " + std::to_string(kTypicalKeepAliveSeconds) +
                  " s, no user name): " + a.seen + "; every scenario client connects that way, so none can run";
        return d;
      default:
        break;
    }
  }
  bool any_accepted = false;
  for (const auto& [version, a] : answers) any_accepted = any_accepted || a.kind == Kind::accepted;
  std::vector<std::string> refusals;
  for (const auto& [version, a] : answers) {
    if (a.kind == Kind::accepted) continue;
    const std::string reason = "broker refuses " + mqtt_name(version) + ": " +
                               (a.kind == Kind::closed ? "it closed the connection after the CONNECT without a CONNACK"
                                                       : a.seen);
    refusals.push_back(reason);
    if (is_declared(version))
      d.warnings.push_back("profile " + profile + " says the broker speaks " + mqtt_name(version) + ", but the probe found: " +
                           reason + "; its scenarios run");
    else if (any_accepted)
      d.skipped[version] = reason;
  }
  for (const auto& v : versions_used) {
    const bool probed = std::any_of(answers.begin(), answers.end(), [&](const auto& a) { return a.first == v; });
    if (!probed && declared) {
      std::string list;
      for (const auto& x : *declared) list += (list.empty() ? "" : ", ") + x;
      d.skipped[v] = "profile " + profile + " says the broker speaks only MQTT " + list + " (protocols: [" + list + "])";
    }
  }
  const bool something_runs = std::any_of(versions_used.begin(), versions_used.end(), [&](const auto& v) {
    return !d.skipped.count(v) &&
           std::any_of(answers.begin(), answers.end(),
                       [&](const auto& a) { return a.first == v && (a.second.kind == Kind::accepted || is_declared(v)); });
  });
  if (something_runs) return d;
  const bool all_closed = !answers.empty() && std::all_of(answers.begin(), answers.end(),
                                                          [](const auto& a) { return a.second.kind == Kind::closed; });
  if (all_closed) {
    std::string versions;
    for (const auto& a : answers) versions += (versions.empty() ? "" : " and ") + mqtt_name(a.first);
    d.fatal = "no MQTT broker at " + address + ": it accepted the TCP connection and closed it without a CONNACK to the " +
              versions + " CONNECT";
  } else {
    std::string versions, why;
    for (const auto& v : versions_used) versions += (versions.empty() ? "" : " and ") + mqtt_name(v);
    for (const auto& r : refusals) why += (why.empty() ? "" : "; ") + r;
    for (const auto& [v, reason] : d.skipped)
      if (!std::any_of(answers.begin(), answers.end(), [&](const auto& a) { return a.first == v; }))
        why += (why.empty() ? "" : "; ") + reason;
    d.fatal = "nothing to run against " + address + ": the selected scenarios are for " + versions + ", and " + why;
  }
  d.skipped.clear();
  return d;
}

RefusalVerdict judge_connect_refusal(mqtt::Version version, std::uint8_t code, std::string_view client_id) {
  const bool v5 = version == mqtt::Version::v5;
  RefusalVerdict v;
  const std::string id = "client id '" + std::string(client_id) + "'";
  auto is = [&](std::initializer_list<int> v311, std::initializer_list<int> v50) {
    const auto& list = v5 ? v50 : v311;
    return std::find(list.begin(), list.end(), code) != list.end();
  };
  if (is({0x02}, {0x85})) {
    v.statement = "MQTT-3.1.3-5";
    if (alnum_id(client_id)) {
      v.status = report::Status::failed;
      v.reason = id + " is " + std::to_string(client_id.size()) +
                 " letters and digits, which every server must accept";
    } else {
      v.status = report::Status::skipped;
      v.reason = id + " is not 1-23 letters and digits, so a server may refuse it (--prefix none keeps ids as written)";
    }
  } else if (is({0x03}, {0x88, 0x89, 0x97, 0x9F})) {
    v.status = report::Status::error;
    v.reason = "the broker could not take the connection then (a load or quota limit): no verdict, run again or with fewer -j";
  } else if (is({0x01}, {0x84})) {
    v.status = report::Status::skipped;
    v.reason = "the broker does not accept this protocol version from this client";
  } else if (is({0x04, 0x05}, {0x86, 0x87, 0x8A, 0x8C, 0x9C, 0x9D})) {
    v.status = report::Status::skipped;
    v.reason = "the broker's authentication or authorisation refuses this client (its user name, password or "
               "client id): the scenario cannot run on this broker as configured";
  } else if (v5 && is({}, {0x9B})) {
    v.status = report::Status::skipped;
    v.statement = "MQTT-3.2.2-12";
    v.reason = "the broker does not support the will's QoS";
  } else if (v5 && is({}, {0x9A})) {
    v.status = report::Status::skipped;
    v.statement = "MQTT-3.2.2-13";
    v.reason = "the broker does not support retained wills";
  } else if (v5 && is({}, {0x90, 0x95, 0x99})) {
    v.status = report::Status::skipped;
    v.reason = "the broker refuses the CONNECT's will or size, as it may";
  } else {
    v.status = report::Status::error;
    v.reason = "a refusal the harness cannot judge (no specific reason given): no verdict";
  }
  return v;
}

}  // namespace mqtth::runner
