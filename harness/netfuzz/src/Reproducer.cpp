// A finding as a scenario file (Findings.hpp): the minimised packets as `send_raw` steps,
// in the hex the scenario loader reads (mqtt/hex.hpp), each with its packet type.
#include "Findings.hpp"
#include "Oracles.hpp"

#include <mqtt/hex.hpp>

#include <filesystem>
#include <fstream>

namespace mqtth::netfuzz {
namespace {

void write_case(std::ostream& f, const std::string& client, const Case& c) {
  for (const auto& p : c.packets)
    f << "  - send_raw: {client: " << client << ", hex: \"" << mqtt::to_hex(p, " ") << "\"}  # " << packet_type_name(p) << "\n";
}

}  // namespace

std::string write_reproducer(const std::string& dir, std::size_t n, const std::string& kind,
                             const std::string& signature, mqtt::Version version, const Finding& fd) {
  const auto name = "finding-" + std::to_string(n) + "-" + kind + ".yaml";
  std::ofstream f(std::filesystem::path(dir) / name);
  f << "# Found by `mqtt-harness fuzz` (docs/netfuzz.md); reproduce with\n"
    << "#   mqtt-harness run --broker HOST:PORT " << name << "\n"
    << "# signature: " << signature << "\n";
  if (!fd.before.empty())
    f << "# The cases on clients before_1.. ran first (on their own they do not reproduce it).\n";
  f << "name: \"netfuzz finding " << n << " (" << kind << ")\"\n";
  f << "protocol: " << mqtt::to_string(version) << "\n";
  f << "timeout: 10s\n";
  f << "clients:\n";
  for (std::size_t i = 0; i < fd.before.size(); ++i) f << "  before_" << i + 1 << ": {}\n";
  f << "  raw: {}\n  probe: {}\n";
  f << "steps:\n";
  for (std::size_t i = 0; i < fd.before.size(); ++i) write_case(f, "before_" + std::to_string(i + 1), fd.before[i]);
  write_case(f, "raw", fd.last);
  // A case minimised to no packet has no link for the broker to close.
  if (kind == "spec_accepted_malformed" && !fd.last.packets.empty())
    f << "  # A broker must close the connection after a malformed packet (5.0: DISCONNECT 0x81 first).\n"
      << "  - expect_disconnect: {client: raw, within: 2s}\n";
  f << "  # Liveness: a fresh connection still gets CONNACK and PINGRESP.\n"
    << "  - send_raw: {client: probe, hex: \"" << mqtt::to_hex(probe_bytes(version, "nf-probe"), " ") << "\"}\n"
    << "  - expect_connack: {client: probe, within: 5s}\n"
    << "  - expect_packet: {client: probe, type: PINGRESP, within: 5s}\n";
  return name;
}

}  // namespace mqtth::netfuzz
