// Helpers for the codec tests: hex input, a field-by-field description of decoded packets,
// golden-vector files, and a guard page that turns any over-read into a crash.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "mqtt/codec.hpp"
#include "mqtt/hex.hpp"

namespace mqtt::test {

// Test inputs are written as hex (mqtt/hex.hpp grammar); a typo in one is a broken test.
inline std::string from_hex(std::string_view hex) {
  auto bytes = parse_hex(hex);
  if (!bytes) throw std::invalid_argument("not hex: '" + std::string(hex) + "'");
  return *bytes;
}

inline Bytes bytes(std::string_view s) { return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }

// Printable ASCII as is, anything else as "hex:...".
inline std::string text(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e) return "hex:" + to_hex(s);
  return std::string(s);
}

using Fields = std::vector<std::string>;

inline void describe_properties(Fields& f, const std::string& prefix, const PropertiesView& props) {
  for (const auto& p : props) {
    const auto type = property_type(static_cast<std::uint8_t>(p.id));
    std::string v;
    switch (*type) {
      case PropertyType::utf8:
      case PropertyType::binary: v = text(p.value); break;
      case PropertyType::utf8_pair: v = text(p.key) + ":" + text(p.value); break;
      default: v = std::to_string(p.number);
    }
    f.push_back(prefix + "property." + std::string(property_name(p.id)) + "=" + v);
  }
}

// Every decoded field, in wire order (optional parts only when present).
inline Fields describe(const PacketView& packet, Version v) {
  Fields f;
  f.push_back("type=" + std::string(to_string(packet_type(packet))));
  auto b = [](bool x) { return std::string(x ? "1" : "0"); };
  std::visit(
      [&](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, ConnectView>) {
          f.push_back("protocol_name=" + text(p.protocol_name));
          f.push_back("protocol_version=" + std::string(to_string(p.protocol_version)));
          f.push_back("clean_start=" + b(p.clean_start));
          f.push_back("keep_alive=" + std::to_string(p.keep_alive));
          describe_properties(f, "", p.properties);
          f.push_back("client_id=" + text(p.client_id));
          if (p.will) {
            describe_properties(f, "will.", p.will->properties);
            f.push_back("will.topic=" + text(p.will->topic));
            f.push_back("will.payload=" + text(p.will->payload));
            f.push_back("will.qos=" + std::to_string(p.will->qos));
            f.push_back("will.retain=" + b(p.will->retain));
          }
          if (p.username) f.push_back("username=" + text(*p.username));
          if (p.password) f.push_back("password=" + text(*p.password));
        } else if constexpr (std::is_same_v<P, ConnackView>) {
          f.push_back("session_present=" + b(p.session_present));
          f.push_back("reason_code=" + hex_byte(p.reason_code));
          describe_properties(f, "", p.properties);
        } else if constexpr (std::is_same_v<P, PublishView>) {
          f.push_back("dup=" + b(p.dup));
          f.push_back("qos=" + std::to_string(p.qos));
          f.push_back("retain=" + b(p.retain));
          f.push_back("topic=" + text(p.topic));
          if (p.qos) f.push_back("packet_id=" + std::to_string(p.packet_id));
          describe_properties(f, "", p.properties);
          f.push_back("payload=" + text(p.payload));
        } else if constexpr (std::is_same_v<P, PubackView> || std::is_same_v<P, PubrecView> ||
                             std::is_same_v<P, PubrelView> || std::is_same_v<P, PubcompView>) {
          f.push_back("packet_id=" + std::to_string(p.packet_id));
          f.push_back("reason_code=" + hex_byte(p.reason_code));
          describe_properties(f, "", p.properties);
        } else if constexpr (std::is_same_v<P, SubscribeView>) {
          f.push_back("packet_id=" + std::to_string(p.packet_id));
          describe_properties(f, "", p.properties);
          for (const auto& s : p.subscriptions)
            f.push_back("subscription=" + text(s.filter) + " qos=" + std::to_string(s.options.qos) +
                        " nl=" + b(s.options.no_local) + " rap=" + b(s.options.retain_as_published) +
                        " rh=" + std::to_string(s.options.retain_handling));
        } else if constexpr (std::is_same_v<P, SubackView> || std::is_same_v<P, UnsubackView>) {
          f.push_back("packet_id=" + std::to_string(p.packet_id));
          describe_properties(f, "", p.properties);
          if (!p.reason_codes.empty()) {
            std::string s;
            for (auto c : p.reason_codes) s += (s.empty() ? "" : ",") + hex_byte(c);
            f.push_back("reason_codes=" + s);
          }
        } else if constexpr (std::is_same_v<P, UnsubscribeView>) {
          f.push_back("packet_id=" + std::to_string(p.packet_id));
          describe_properties(f, "", p.properties);
          for (const auto& s : p.filters) f.push_back("filter=" + text(s));
        } else if constexpr (std::is_same_v<P, DisconnectView> || std::is_same_v<P, AuthView>) {
          if (v == Version::v5) {
            f.push_back("reason_code=" + hex_byte(p.reason_code));
            describe_properties(f, "", p.properties);
          }
        }
      },
      packet);
  return f;
}

struct Vector {
  std::string name, source, file;
  Version version = Version::v5;
  std::string bytes;
  Fields fields;
  bool roundtrip = true;
};

inline void PrintTo(const Vector& v, std::ostream* os) { *os << v.name; }

inline std::vector<Vector> load_vectors(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<Vector> out;
  Vector cur;
  auto flush = [&] {
    if (!cur.name.empty()) out.push_back(cur);
    cur = Vector{};
    cur.file = path;
  };
  cur.file = path;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      flush();
      continue;
    }
    if (line[0] == '#') continue;
    const auto colon = line.find(": ");
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon), value = line.substr(colon + 2);
    if (key == "name") cur.name = value;
    else if (key == "source") cur.source = value;
    else if (key == "version") cur.version = *parse_version(value);
    else if (key == "hex") cur.bytes = from_hex(value);
    else if (key == "field") cur.fields.push_back(value);
    else if (key == "roundtrip") cur.roundtrip = value != "no";
  }
  flush();
  return out;
}

// A copy of `data` placed so that its last byte is immediately followed by a PROT_NONE
// page: reading one byte too far faults.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(std::string_view data) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t pages = (data.size() + page - 1) / page + 1;
    size_ = pages * page;
    base_ = static_cast<std::uint8_t*>(mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base_ == MAP_FAILED) throw std::runtime_error("mmap failed");
    std::uint8_t* guard = base_ + size_ - page;
    mprotect(guard, page, PROT_NONE);
    data_ = guard - data.size();
    if (!data.empty()) std::memcpy(data_, data.data(), data.size());
    len_ = data.size();
  }
  ~GuardedBuffer() { munmap(base_, size_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  Bytes bytes() const { return Bytes(data_, len_); }

 private:
  std::uint8_t* base_ = nullptr;
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0, len_ = 0;
};

}  // namespace mqtt::test
