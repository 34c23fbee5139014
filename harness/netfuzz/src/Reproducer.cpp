// A finding as a scenario file (Findings.hpp): the minimised packets as `send_raw` steps,
// in the hex the scenario loader reads (mqtt/hex.hpp), each with its packet type.
#include "Findings.hpp"
#include "Oracles.hpp"

#include <mqtt/hex.hpp>

#include <filesystem>
#include <fstream>
#include <set>

namespace mqtth::netfuzz {
namespace {

const std::string kPingreq("\xC0\x00", 2);

// The client that carries connection `k` of a case written under `base`: `base` itself for
// a one-connection case, `base`_cK for a stateful one.
std::string client_of(const std::string& base, const Case& c, std::uint8_t k) {
  return c.stateful() ? base + "_c" + std::to_string(k) : base;
}

// The case's packets as send_raw steps, each connection on its own client, closed where
// the run closed it (docs/netfuzz.md "Stateful cases"): an empty packet is a half-close,
// and with `close_at_end` every connection still open is half-closed after the last
// packet, as the fuzz run ends a case. Where a stateful case's turn ends (the next entry
// is on another connection or a pause), the run sent a PINGREQ (unless the turn ended with
// one) and waited for its PINGRESP or the broker's close; so does the scenario. After packet
// `close_owed_after` the broker must close that connection (a stateful spec finding).
void write_case(std::ostream& f, const std::string& base, const Case& c, bool close_at_end,
                std::size_t close_owed_after = kNoPacket) {
  std::set<std::uint8_t> opened, closed;
  for (std::size_t i = 0; i < c.packets.size(); ++i) {
    const auto& p = c.packets[i];
    if (c.connection_of(i) == Case::kClock) {
      f << "  - sleep: " << Case::pause_ms(p) << "ms  # the case's pause (expiry, will delay)\n";
      continue;
    }
    const auto client = client_of(base, c, c.connection_of(i));
    if (p.empty()) {
      // A close of a connection that minimisation left without packets: nothing to close.
      if (opened.count(c.connection_of(i)) && !closed.count(c.connection_of(i)))
        f << "  - disconnect: {client: " << client << ", half_close: true}\n";
      closed.insert(c.connection_of(i));
      continue;
    }
    opened.insert(c.connection_of(i));
    f << "  - send_raw: {client: " << client << ", hex: \"" << mqtt::to_hex(p, " ") << "\"}  # " << packet_type_name(p) << "\n";
    if (i == close_owed_after)
      f << "  # The broker must close the connection after a packet it must reject (5.0: DISCONNECT first).\n"
        << "  - expect_disconnect: {client: " << client << ", within: 2s}\n";
    if (!c.stateful() || i + 1 == c.packets.size() || c.connection_of(i + 1) == c.connection_of(i)) continue;
    if (p != kPingreq)
      f << "  - send_raw: {client: " << client << ", hex: \"" << mqtt::to_hex(kPingreq, " ") << "\"}  # PINGREQ: end of turn\n";
    f << "  - any_of: {within: 2s, branches: [{steps: [{expect_packet: {client: " << client
        << ", type: PINGRESP}}]}, {steps: [{expect_disconnect: {client: " << client << "}}]}]}\n";
  }
  if (!close_at_end) return;
  for (const auto k : c.connections())
    if (opened.count(k) && !closed.count(k)) f << "  - disconnect: {client: " << client_of(base, c, k) << ", half_close: true}\n";
}

void list_clients(std::ostream& f, const std::string& base, const Case& c) {
  if (!c.stateful()) {
    f << "  " << base << ": {}\n";
    return;
  }
  std::set<std::uint8_t> listed;
  for (std::size_t i = 0; i < c.packets.size(); ++i)
    if (!c.packets[i].empty() && c.connection_of(i) != Case::kClock && listed.insert(c.connection_of(i)).second) f << "  " << client_of(base, c, c.connection_of(i)) << ": {}\n";
}

}  // namespace

std::string write_reproducer(const std::string& dir, std::size_t n, const std::string& kind,
                             const std::string& signature, mqtt::Version version, const Finding& fd,
                             const std::string& evidence) {
  const auto name = "finding-" + std::to_string(n) + "-" + kind + ".yaml";
  std::ofstream f(std::filesystem::path(dir) / name);
  f << "# Found by `mqtt-harness fuzz` (docs/netfuzz.md); reproduce with\n"
    << "#   mqtt-harness run --broker HOST:PORT " << name << "\n"
    << "# signature: " << signature << "\n";
  if (!evidence.empty()) {
    f << "# What the broker showed:\n";
    for (std::size_t at = 0; at < evidence.size();) {
      auto nl = evidence.find('\n', at);
      if (nl == std::string::npos) nl = evidence.size();
      f << "#   " << evidence.substr(at, nl - at) << "\n";
      at = nl + 1;
    }
  }
  if (!fd.before.empty())
    f << "# The cases on clients before_1.. ran first (on their own they do not reproduce it).\n";
  if (fd.last.stateful())
    f << "# A stateful case: connection K of the case is client raw_cK (docs/netfuzz.md \"Stateful cases\").\n";
  f << "name: \"netfuzz finding " << n << " (" << kind << ")\"\n";
  f << "protocol: " << mqtt::to_string(version) << "\n";
  f << "timeout: 10s\n";
  f << "clients:\n";
  for (std::size_t i = 0; i < fd.before.size(); ++i) list_clients(f, "before_" + std::to_string(i + 1), fd.before[i]);
  if (!fd.last.stateful() || fd.last.packets.empty()) f << "  raw: {}\n";
  else list_clients(f, "raw", fd.last);
  f << "  probe: {}\n";
  f << "steps:\n";
  // The earlier cases ended before the next one started: each connection closed.
  for (std::size_t i = 0; i < fd.before.size(); ++i) write_case(f, "before_" + std::to_string(i + 1), fd.before[i], true);
  // The case itself: a spec finding's connections stay open for the checks.
  const bool spec_kind = kind.rfind("spec_", 0) == 0;
  write_case(f, "raw", fd.last, !spec_kind, fd.close_owed_after);
  // A case minimised to no packet has no link for the broker to close; a stateful case
  // expects the close after the packet that broke the rule (write_case).
  if (kind == "spec_accepted_malformed" && !fd.last.packets.empty() && !fd.last.stateful())
    f << "  # A broker must close the connection after a malformed packet (5.0: DISCONNECT 0x81 first).\n"
      << "  - expect_disconnect: {client: raw, within: 2s}\n";
  f << "  # Liveness: a fresh connection still gets CONNACK and PINGRESP.\n"
    << "  - send_raw: {client: probe, hex: \"" << mqtt::to_hex(probe_bytes(version, "nf-probe"), " ") << "\"}\n"
    << "  - expect_connack: {client: probe, within: 5s}\n"
    << "  - expect_packet: {client: probe, type: PINGRESP, within: 5s}\n";
  return name;
}

}  // namespace mqtth::netfuzz
