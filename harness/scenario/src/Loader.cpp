// Scenario loader. The format is documented in scenarios/README.md; the accepted keys
// are the tables at the top of this file (exported by accepted_keys() so the JSON Schema
// test can keep scenarios/schema.json in step).
//
// Robustness (the loader is fuzzed with arbitrary text): every yaml-cpp call that can
// throw runs inside load_string()'s try block; the walk counts visited nodes against a
// budget (YAML aliases can make a small file a huge tree); repeat expansion is bounded by
// max_steps and max_repeat_depth; recursion depth of the generic YAML->JSON conversion is
// bounded.
#include "mqtth/scenario/Loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>

namespace mqtth::scenario {

namespace {

using Keys = std::vector<std::string_view>;

// ---------------------------------------------------------------------------------------
// The accepted keys, per mapping. Keep scenarios/README.md and scenarios/schema.json in step
// (harness/scenario/tests checks the schema against these).

const Keys kScenarioKeys = {"name", "description", "spec", "protocol", "protocols", "timeout",
                            "requires", "vars", "clients", "steps", "explore"};
const Keys kExploreKeys = {"mode", "clients", "max_runs"};
const Keys kClientKeys = {"client_id", "clean_start", "session_expiry", "keep_alive",
                          "username", "password", "will", "properties", "receive_maximum",
                          "topic_alias_maximum", "maximum_packet_size", "protocol"};
const Keys kWillKeys = {"topic", "payload", "payload_hex", "qos", "retain", "properties", "delay"};
const Keys kConnackExpectKeys = {"reason_code", "session_present", "properties"};
const Keys kSubscriptionKeys = {"filter", "qos", "no_local", "retain_as_published", "retain_handling"};
const Keys kReasonCodesExpectKeys = {"reason_codes"};
const Keys kRepeatKeys = {"times", "as", "from", "steps"};
const Keys kStepItemExtraKeys = {"only"};  // allowed next to the kind key in a step item

const Keys kConnectKeys = {"client", "clean_start", "session_expiry", "keep_alive", "expect", "within"};
const Keys kReconnectKeys = {"client", "after", "clean_start", "session_expiry", "keep_alive", "expect", "within"};
const Keys kDisconnectKeys = {"client", "abrupt", "reason_code", "properties"};
const Keys kSubscribeKeys = {"client", "filter", "filters", "qos", "no_local", "retain_as_published",
                             "retain_handling", "subscription_identifier", "properties",
                             "packet_id", "expect", "wait", "within"};
const Keys kUnsubscribeKeys = {"client", "filter", "filters", "properties", "packet_id", "expect", "wait", "within"};
const Keys kPublishKeys = {"client", "topic", "qos", "retain", "payload", "payload_hex", "payload_size",
                           "count", "properties", "dup", "packet_id", "wait", "within"};
const Keys kSendRawKeys = {"client", "hex"};
const Keys kExpectPacketBaseKeys = {"client", "type", "within"};
const Keys kExpectNoPacketKeys = {"client", "type", "for"};
const Keys kExpectDeliveryKeys = {"subscriber", "publisher", "topic", "guarantee", "ordered", "count", "within"};
const Keys kExpectDisconnectKeys = {"client", "reason_code", "within"};
const Keys kExpectConnackKeys = {"client", "reason_code", "session_present", "properties", "within"};
const Keys kExpectSubackKeys = {"client", "reason_codes", "within"};
const Keys kFaultKeys = {"client", "cut", "delay", "throttle", "segment", "corrupt", "blackhole", "duplicate", "reorder"};
const Keys kMisbehaveKeys = {"client", "withhold", "skip_pubrel", "count", "reuse_packet_id", "auto_ack",
                             "fixed_packet_id", "suppress_pingreq", "ignore_receive_maximum"};

const std::array<Keys, 8> kFaultParamKeys = {
    Keys{"direction", "after", "nth", "at"},             // cut
    Keys{"direction", "by", "jitter", "for"},            // delay
    Keys{"direction", "bytes_per_second", "for"},        // throttle
    Keys{"direction", "size"},                           // segment
    Keys{"direction", "packet", "nth", "offset", "xor"}, // corrupt
    Keys{"direction", "after", "nth", "at", "for"},      // blackhole
    Keys{"direction", "packet", "nth"},                  // duplicate
    Keys{"direction", "window", "for"},                  // reorder
};

// expect_packet: decode-JSON fields per packet type (docs/decode-json.md), plus `payload`
// (text, converted to payload_hex) for PUBLISH.
const Keys& match_keys(PacketType type) {
  static const Keys connect = {"protocol_name", "protocol_version", "clean_start", "keep_alive",
                               "client_id", "will", "username", "password_hex", "properties"};
  static const Keys connack = {"session_present", "reason_code", "properties"};
  static const Keys publish = {"dup", "qos", "retain", "topic", "packet_id", "payload_hex", "payload", "properties"};
  static const Keys ack = {"packet_id", "reason_code", "properties"};
  static const Keys subscribe = {"packet_id", "subscriptions", "properties"};
  static const Keys suback = {"packet_id", "reason_codes", "properties"};
  static const Keys unsubscribe = {"packet_id", "filters", "properties"};
  static const Keys reason_only = {"reason_code", "properties"};
  static const Keys empty = {};
  switch (type) {
    case PacketType::connect: return connect;
    case PacketType::connack: return connack;
    case PacketType::publish: return publish;
    case PacketType::puback:
    case PacketType::pubrec:
    case PacketType::pubrel:
    case PacketType::pubcomp: return ack;
    case PacketType::subscribe: return subscribe;
    case PacketType::suback:
    case PacketType::unsuback: return suback;
    case PacketType::unsubscribe: return unsubscribe;
    case PacketType::disconnect:
    case PacketType::auth: return reason_only;
    case PacketType::pingreq:
    case PacketType::pingresp: return empty;
  }
  return empty;
}

constexpr std::array<std::string_view, 15> kPacketTypeNames = {
    "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE",
    "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"};

// decode-JSON keys whose values are always strings (so `topic: 123` matches "123").
const std::set<std::string_view> kStringValuedKeys = {
    "topic", "client_id", "filter", "filters", "protocol_name", "payload_hex", "username",
    "password_hex", "content_type", "response_topic", "correlation_data",
    "assigned_client_identifier", "authentication_method", "authentication_data",
    "response_information", "server_reference", "reason_string", "user_property"};

enum class PropType { byte, two_byte, four_byte, varint, utf8, binary, pair };
struct PropInfo {
  std::string_view name;
  PropType type;
};
constexpr std::array<PropInfo, 27> kProperties = {{
    {"payload_format_indicator", PropType::byte},
    {"message_expiry_interval", PropType::four_byte},
    {"content_type", PropType::utf8},
    {"response_topic", PropType::utf8},
    {"correlation_data", PropType::binary},
    {"subscription_identifier", PropType::varint},
    {"session_expiry_interval", PropType::four_byte},
    {"assigned_client_identifier", PropType::utf8},
    {"server_keep_alive", PropType::two_byte},
    {"authentication_method", PropType::utf8},
    {"authentication_data", PropType::binary},
    {"request_problem_information", PropType::byte},
    {"will_delay_interval", PropType::four_byte},
    {"request_response_information", PropType::byte},
    {"response_information", PropType::utf8},
    {"server_reference", PropType::utf8},
    {"reason_string", PropType::utf8},
    {"receive_maximum", PropType::two_byte},
    {"topic_alias_maximum", PropType::two_byte},
    {"topic_alias", PropType::two_byte},
    {"maximum_qos", PropType::byte},
    {"retain_available", PropType::byte},
    {"user_property", PropType::pair},
    {"maximum_packet_size", PropType::four_byte},
    {"wildcard_subscription_available", PropType::byte},
    {"subscription_identifier_available", PropType::byte},
    {"shared_subscription_available", PropType::byte},
}};

const PropInfo* find_property(std::string_view name) {
  for (const auto& p : kProperties)
    if (p.name == name) return &p;
  return nullptr;
}

std::string join(const Keys& keys) {
  std::string out;
  for (auto k : keys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

bool contains(const Keys& keys, std::string_view k) {
  return std::find(keys.begin(), keys.end(), k) != keys.end();
}

std::string version_text(Version v) {
  switch (v) {
    case Version::v3_1: return "3.1";
    case Version::v3_1_1: return "3.1.1";
    case Version::v5: return "5";
  }
  return "?";
}

std::optional<Version> parse_version_text(std::string_view s) {
  if (s == "3.1") return Version::v3_1;
  if (s == "3.1.1") return Version::v3_1_1;
  if (s == "5" || s == "5.0") return Version::v5;
  return std::nullopt;
}

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

bool valid_spec_id(std::string_view s) {
  // MQTT-<n>.<n>.<n>-<n>
  if (s.substr(0, 5) != "MQTT-") return false;
  std::size_t i = 5;
  auto digits = [&](void) {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start && i - start <= 3;
  };
  if (!digits() || i >= s.size() || s[i++] != '.') return false;
  if (!digits() || i >= s.size() || s[i++] != '.') return false;
  if (!digits() || i >= s.size() || s[i++] != '-') return false;
  return digits() && i == s.size();
}

std::optional<std::uint64_t> parse_uint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::string> parse_hex_text(std::string_view text) {
  std::string out;
  int nibble = -1;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':' || c == '_') {
      if (nibble >= 0) return std::nullopt;  // separators only between whole bytes
      continue;
    }
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return std::nullopt;
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<char>((nibble << 4) | v));
      nibble = -1;
    }
  }
  if (nibble >= 0) return std::nullopt;
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

// Durations: <number><unit>, unit ms | s | m | h; the number may have a fraction ("1.5s").
std::optional<Duration> parse_duration(std::string_view s) {
  std::size_t i = 0;
  std::uint64_t whole = 0;
  std::size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (++digits > 9) return std::nullopt;
    whole = whole * 10 + static_cast<std::uint64_t>(s[i] - '0');
    ++i;
  }
  double frac = 0, scale = 0.1;
  std::size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (++frac_digits > 6) return std::nullopt;
      frac += scale * (s[i] - '0');
      scale /= 10;
      ++i;
    }
    if (frac_digits == 0) return std::nullopt;
  }
  if (digits == 0) return std::nullopt;
  std::string_view unit = s.substr(i);
  double ms_per_unit;
  if (unit == "ms") ms_per_unit = 1;
  else if (unit == "s") ms_per_unit = 1000;
  else if (unit == "m" || unit == "min") ms_per_unit = 60000;
  else if (unit == "h") ms_per_unit = 3600000;
  else return std::nullopt;
  double ms = (static_cast<double>(whole) + frac) * ms_per_unit;
  if (ms > 24.0 * 3600000) return std::nullopt;  // a day is more than any scenario needs
  return Duration(static_cast<Duration::rep>(ms + 0.5));
}

struct BudgetExceeded {};

const char* node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------

class Parser {
 public:
  Parser(std::string file, const LoadOptions& options) : file_(std::move(file)), opt_(options) {}

  std::vector<LoadError> errors;

  void error(const YAML::Mark& m, std::string message) {
    LoadError e{file_, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0, std::move(message)};
    auto key = std::make_tuple(e.line, e.column, e.message);
    if (seen_.insert(key).second) errors.push_back(std::move(e));
  }
  void error(const YAML::Node& n, std::string message) { error(n.Mark(), std::move(message)); }

  std::vector<Scenario> parse_document(const YAML::Node& root);

 private:
  std::string file_;
  const LoadOptions& opt_;
  std::set<std::tuple<int, int, std::string>> seen_;
  std::size_t visited_ = 0;

  // Per-version parse state.
  Version version_ = Version::v5;
  std::vector<std::pair<std::string, std::string>> vars_;  // innermost last
  const ClientSpec* acting_client_ = nullptr;                // for {client}
  std::vector<ClientSpec> clients_;
  std::set<std::string> opened_;  // clients connected or opened by send_raw so far
  std::size_t step_count_ = 0;
  std::size_t repeat_depth_ = 0;
  bool step_budget_reported_ = false;

  void visit() {
    if (++visited_ > opt_.max_nodes_visited) throw BudgetExceeded{};
  }

  // ---- scalars -------------------------------------------------------------------------

  // Substitutes {name} templates. `seq_ok`: leave {seq} for the runner.
  std::optional<std::string> substitute(const YAML::Node& n, const std::string& text, bool seq_ok) {
    if (text.find('{') == std::string::npos) return text;
    std::string out;
    bool ok = true;
    for (std::size_t i = 0; i < text.size();) {
      if (text[i] == '{' && i + 1 < text.size() && is_ident_start(text[i + 1])) {
        std::size_t j = i + 1;
        while (j < text.size() && is_ident_char(text[j])) ++j;
        if (j < text.size() && text[j] == '}') {
          std::string name = text.substr(i + 1, j - i - 1);
          std::optional<std::string> value = lookup(name);
          if (name == "seq") {
            if (!seq_ok) {
              error(n, "{seq} is only available in a publish step's topic and payload");
              ok = false;
            }
            value = "{seq}";
          }
          if (!value) {
            std::string known;
            for (auto& [k, v] : vars_) known += (known.empty() ? "" : ", ") + k;
            if (acting_client_) known += std::string(known.empty() ? "" : ", ") + "client";
            error(n, "unknown variable {" + name + "}" + (known.empty() ? std::string(" (no variables are defined here)") : " (defined here: " + known + ", protocol)"));
            ok = false;
            value = "";
          }
          out += *value;
          i = j + 1;
          continue;
        }
      }
      out += text[i++];
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::optional<std::string> lookup(const std::string& name) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
      if (it->first == name) return it->second;
    if (name == "protocol") return version_text(version_);
    if (name == "client" && acting_client_) return acting_client_->client_id;
    return std::nullopt;
  }

  std::optional<std::string> text(const YAML::Node& n, std::string_view what, bool seq_ok = false) {
    visit();
    if (!n.IsScalar()) {
      error(n, std::string(what) + " must be a string, got " + node_kind(n));
      return std::nullopt;
    }
    return substitute(n, n.Scalar(), seq_ok);
  }

  template <class T>
  std::optional<T> uint(const YAML::Node& n, std::string_view what, std::uint64_t min, std::uint64_t max,
                        std::string_view expected = {}) {
    auto s = text(n, what);
    if (!s) return std::nullopt;
    auto v = parse_uint(*s);
    if (!v || *v < min || *v > max) {
      std::string exp = expected.empty()
                            ? "an integer " + std::to_string(min) + ".." + std::to_string(max)
                            : std::string(expected);
      error(n, std::string(what) + " must be " + exp + ", got '" + *s + "'");
      return std::nullopt;
    }
    return static_cast<T>(*v);
  }

  std::optional<std::uint8_t> qos(const YAML::Node& n, std::string_view what) {
    return uint<std::uint8_t>(n, what, 0, 2, "0, 1 or 2");
  }
  std::optional<std::uint8_t> reason_code(const YAML::Node& n, std::string_view what) {
    return uint<std::uint8_t>(n, what, 0, 255, "a reason code 0..255 (e.g. 0x81)");
  }

  std::optional<bool> boolean(const YAML::Node& n, std::string_view what) {
    auto s = text(n, what);
    if (!s) return std::nullopt;
    if (*s == "true" || *s == "True" || *s == "TRUE") return true;
    if (*s == "false" || *s == "False" || *s == "FALSE") return false;
    error(n, std::string(what) + " must be true or false, got '" + *s + "'");
    return std::nullopt;
  }

  std::optional<Duration> duration(const YAML::Node& n, std::string_view what) {
    auto s = text(n, what);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d) {
      error(n, std::string(what) + " must be a duration like 100ms, 10s or 2m (up to 24h), got '" + *s + "'");
      return std::nullopt;
    }
    return d;
  }

  std::optional<PacketType> packet_type(const YAML::Node& n, std::string_view what) {
    auto s = text(n, what);
    if (!s) return std::nullopt;
    std::string upper = *s;
    for (auto& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    for (std::size_t i = 0; i < kPacketTypeNames.size(); ++i)
      if (kPacketTypeNames[i] == upper) return static_cast<PacketType>(i + 1);
    error(n, std::string(what) + " must be a packet type (CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH), got '" + *s + "'");
    return std::nullopt;
  }

  std::optional<std::string> hex(const YAML::Node& n, std::string_view what) {
    auto s = text(n, what);
    if (!s) return std::nullopt;
    auto bytes = parse_hex_text(*s);
    if (!bytes) {
      error(n, std::string(what) + " must be hex bytes like \"30 02 00 01\" (pairs of hex digits, optional spaces between bytes), got '" + *s + "'");
      return std::nullopt;
    }
    return bytes;
  }

  std::optional<std::vector<std::uint8_t>> reason_code_list(const YAML::Node& n, std::string_view what) {
    visit();
    if (!n.IsSequence()) {
      error(n, std::string(what) + " must be a list of reason codes, got " + node_kind(n));
      return std::nullopt;
    }
    std::vector<std::uint8_t> out;
    bool ok = true;
    for (const auto& item : n) {
      auto v = reason_code(item, what);
      if (v) out.push_back(*v);
      else ok = false;
    }
    if (!ok) return std::nullopt;
    return out;
  }

  // ---- mappings ------------------------------------------------------------------------

  // Checks `n` is a mapping with only `allowed` keys. Returns false if not a mapping.
  bool check_map(const YAML::Node& n, const Keys& allowed, std::string_view context) {
    visit();
    if (!n.IsMap()) {
      error(n, std::string(context) + " must be a mapping with keys: " + join(allowed) + "; got " + node_kind(n));
      return false;
    }
    for (const auto& kv : n) {
      visit();
      if (!kv.first.IsScalar()) {
        error(kv.first, std::string(context) + ": keys must be plain names");
        continue;
      }
      if (!contains(allowed, kv.first.Scalar()))
        error(kv.first, std::string(context) + ": unknown key '" + kv.first.Scalar() + "'; expected one of: " + join(allowed));
    }
    return true;
  }

  // The value of `key` in mapping `m`, or an undefined node; `key_mark` gets its key's mark.
  static YAML::Node get(const YAML::Node& m, std::string_view key) {
    for (const auto& kv : m)
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
    return YAML::Node(YAML::NodeType::Undefined);
  }
  static bool has(const YAML::Node& m, std::string_view key) {
    for (const auto& kv : m)
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return true;
    return false;
  }

  void require(const YAML::Node& m, std::string_view key, std::string_view context, std::string_view expected) {
    if (!has(m, key)) error(m, std::string(context) + ": missing key '" + std::string(key) + "' (" + std::string(expected) + ")");
  }

  // ---- generic values (properties, expect_packet matches) -------------------------------

  Json generic(const YAML::Node& n, bool force_string, int depth) {
    visit();
    if (depth > 16) {
      error(n, "value nested too deeply (more than 16 levels)");
      return nullptr;
    }
    switch (n.Type()) {
      case YAML::NodeType::Scalar: {
        auto s = substitute(n, n.Scalar(), false);
        if (!s) return nullptr;
        if (force_string || n.Tag() == "!") return *s;
        if (*s == "true") return true;
        if (*s == "false") return false;
        if (*s == "null" || *s == "~") return nullptr;
        if (auto v = parse_uint(*s)) return *v;
        return *s;
      }
      case YAML::NodeType::Sequence: {
        Json arr = Json::array();
        for (const auto& item : n) arr.push_back(generic(item, force_string, depth + 1));
        return arr;
      }
      case YAML::NodeType::Map: {
        Json obj = Json::object();
        for (const auto& kv : n) {
          visit();
          std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
          obj[key] = generic(kv.second, force_string || kStringValuedKeys.count(key) > 0, depth + 1);
        }
        return obj;
      }
      default:
        return nullptr;
    }
  }

  // A `properties:` block to send. Checks names and value types.
  Json properties(const YAML::Node& n, std::string_view context) {
    visit();
    Json out = Json::object();
    if (n.IsNull()) return out;
    if (!n.IsMap()) {
      error(n, std::string(context) + ": properties must be a mapping of MQTT 5 property names to values");
      return out;
    }
    if (version_ != Version::v5 && n.size() > 0)
      error(n, std::string(context) + ": properties exist only in MQTT 5, but this scenario runs as " + version_text(version_) + " (mark the step `only: 5` or drop the properties)");
    for (const auto& kv : n) {
      visit();
      if (!kv.first.IsScalar()) {
        error(kv.first, std::string(context) + ": property names must be plain names");
        continue;
      }
      const std::string& name = kv.first.Scalar();
      const PropInfo* info = find_property(name);
      if (!info) {
        std::vector<std::string_view> names;
        for (const auto& p : kProperties) names.push_back(p.name);
        error(kv.first, std::string(context) + ": unknown property '" + name + "'; expected one of: " + join(names));
        continue;
      }
      std::string what = "property " + name;
      const YAML::Node& v = kv.second;
      switch (info->type) {
        case PropType::byte:
          if (auto x = uint<std::uint8_t>(v, what, 0, 255)) out[name] = *x;
          break;
        case PropType::two_byte:
          if (auto x = uint<std::uint16_t>(v, what, 0, 65535)) out[name] = *x;
          break;
        case PropType::four_byte:
          if (auto x = uint<std::uint32_t>(v, what, 0, 4294967295u)) out[name] = *x;
          break;
        case PropType::varint:
          if (auto x = uint<std::uint32_t>(v, what, 0, 268435455)) out[name] = *x;
          break;
        case PropType::utf8:
          if (auto x = text(v, what)) out[name] = *x;
          break;
        case PropType::binary:
          if (auto x = hex(v, what)) out[name] = to_hex(*x);
          break;
        case PropType::pair: {
          visit();
          if (!v.IsSequence()) {
            error(v, what + " must be a list of [key, value] pairs, got " + node_kind(v));
            break;
          }
          Json list = Json::array();
          for (const auto& pair : v) {
            visit();
            if (!pair.IsSequence() || pair.size() != 2) {
              error(pair, what + " entries must be [key, value] pairs of strings");
              continue;
            }
            auto k = text(pair[0], what + " key");
            auto val = text(pair[1], what + " value");
            if (k && val) list.push_back(Json::array({*k, *val}));
          }
          out[name] = list;
          break;
        }
      }
    }
    return out;
  }

  // ---- top level -----------------------------------------------------------------------
 public:
  std::optional<Scenario> parse_version(const YAML::Node& root, Version v, bool matrix);

 private:
  std::optional<ClientSpec> parse_client(const std::string& name, const YAML::Node& key, const YAML::Node& n);
  std::optional<WillSpec> parse_will(const YAML::Node& n);
  void parse_steps(const YAML::Node& list, std::vector<Step>& out, std::vector<std::string>& repeat_path);
  void parse_step_item(const YAML::Node& item, std::vector<Step>& out, std::vector<std::string>& repeat_path);
  std::optional<StepAction> parse_step(StepKind kind, const YAML::Node& key, const YAML::Node& n);

  // The client named by node `n` (must be declared).
  std::optional<std::string> client_ref(const YAML::Node& n, std::string_view what) {
    auto s = text(n, what);
    if (!s) return std::nullopt;
    for (const auto& c : clients_)
      if (c.name == *s) return s;
    std::string names;
    for (const auto& c : clients_) names += (names.empty() ? "" : ", ") + c.name;
    error(n, std::string(what) + ": unknown client '" + *s + "'" + (names.empty() ? std::string(" (no clients are declared under `clients:`)") : "; declared clients: " + names));
    return std::nullopt;
  }

  // A client the step acts on through an existing connection.
  void require_opened(const YAML::Node& n, const std::string& client, std::string_view step) {
    if (!opened_.count(client))
      error(n, std::string(step) + ": client '" + client + "' is never connected before this step (add a `connect: " + client + "` step before it)");
  }

  void set_acting(const std::string& name) {
    acting_client_ = nullptr;
    for (const auto& c : clients_)
      if (c.name == name) acting_client_ = &c;
  }

  void only_v5(const YAML::Node& n, std::string_view what) {
    if (version_ != Version::v5)
      error(n, std::string(what) + " exists only in MQTT 5, but this scenario runs as " + version_text(version_) + " (mark the step `only: 5` or drop it)");
  }

  ConnectOverrides parse_overrides(const YAML::Node& m) {
    ConnectOverrides o;
    if (auto n = get(m, "clean_start")) o.clean_start = boolean(n, "clean_start");
    if (auto n = get(m, "session_expiry")) o.session_expiry = uint<std::uint32_t>(n, "session_expiry", 0, 4294967295u);
    if (auto n = get(m, "keep_alive")) o.keep_alive = uint<std::uint16_t>(n, "keep_alive", 0, 65535);
    return o;
  }

  std::optional<ConnackExpectation> parse_connack_expect(const YAML::Node& n, std::string_view context) {
    if (!check_map(n, kConnackExpectKeys, context)) return std::nullopt;
    ConnackExpectation e;
    if (auto x = get(n, "reason_code")) e.reason_code = reason_code(x, "reason_code");
    if (auto x = get(n, "session_present")) e.session_present = boolean(x, "session_present");
    if (auto x = get(n, "properties")) e.properties = match_properties(x, context);
    return e;
  }

  Json match_properties(const YAML::Node& n, std::string_view context) {
    visit();
    if (!n.IsMap()) {
      error(n, std::string(context) + ": properties must be a mapping of MQTT 5 property names to values");
      return Json::object();
    }
    if (version_ != Version::v5)
      error(n, std::string(context) + ": properties exist only in MQTT 5, but this scenario runs as " + version_text(version_) + " (mark the step `only: 5`)");
    for (const auto& kv : n) {
      visit();
      if (!kv.first.IsScalar() || !find_property(kv.first.Scalar())) {
        std::vector<std::string_view> names;
        for (const auto& p : kProperties) names.push_back(p.name);
        error(kv.first, std::string(context) + ": unknown property '" + (kv.first.IsScalar() ? kv.first.Scalar() : std::string("?")) + "'; expected one of: " + join(names));
      }
    }
    Json j = generic(n, false, 0);
    // Binary and string properties compare as strings; binary ones as lowercase hex.
    for (auto& [k, v] : j.items()) {
      const PropInfo* info = find_property(k);
      if (info && info->type == PropType::binary && v.is_string()) {
        if (auto b = parse_hex_text(v.get<std::string>())) v = to_hex(*b);
        else error(get(n, k), "property " + k + " must be hex bytes");
      }
    }
    return j;
  }
};

// ---------------------------------------------------------------------------------------

std::vector<Scenario> Parser::parse_document(const YAML::Node& root) {
  visit();
  if (!root.IsMap()) {
    error(root, std::string("a scenario file must be a mapping with keys: ") + join(kScenarioKeys) + "; got " + node_kind(root));
    return {};
  }
  check_map(root, kScenarioKeys, "scenario");
  std::vector<Version> versions;
  bool matrix = false;
  YAML::Node p = get(root, "protocol"), ps = get(root, "protocols");
  if (p && ps) {
    error(ps, "use either 'protocol' or 'protocols', not both");
  } else if (p) {
    if (auto s = text(p, "protocol")) {
      if (auto v = parse_version_text(*s)) versions.push_back(*v);
      else error(p, "protocol must be 3.1, 3.1.1 or 5, got '" + *s + "'");
    }
  } else if (ps) {
    matrix = true;
    visit();
    if (!ps.IsSequence() || ps.size() == 0) {
      error(ps, std::string("protocols must be a non-empty list of versions (3.1, 3.1.1, 5), got ") + node_kind(ps));
    } else {
      for (const auto& item : ps) {
        auto s = text(item, "protocols");
        if (!s) continue;
        auto v = parse_version_text(*s);
        if (!v) error(item, "protocols: each version must be 3.1, 3.1.1 or 5, got '" + *s + "'");
        else if (std::find(versions.begin(), versions.end(), *v) != versions.end()) error(item, "protocols: version " + *s + " is listed twice");
        else versions.push_back(*v);
      }
    }
  } else {
    error(root, "scenario: missing key 'protocol' (3.1.1 or 5) or 'protocols' (e.g. [3.1.1, 5]); the checked statements differ per version");
  }
  if (versions.empty()) {
    // Still check the rest of the file (as MQTT 5) so every error is reported at once.
    versions.push_back(Version::v5);
    parse_version(root, Version::v5, false);
    return {};
  }
  std::vector<Scenario> out;
  for (Version v : versions)
    if (auto s = parse_version(root, v, matrix)) out.push_back(std::move(*s));
  return out;
}

std::optional<Scenario> Parser::parse_version(const YAML::Node& root, Version v, bool matrix) {
  version_ = v;
  vars_.clear();
  clients_.clear();
  opened_.clear();
  acting_client_ = nullptr;
  step_count_ = 0;
  repeat_depth_ = 0;
  Scenario s;
  s.file = file_;
  s.protocol = v;
  s.from_matrix = matrix;

  // vars first: every other value may use them.
  if (auto n = get(root, "vars")) {
    visit();
    if (!n.IsMap()) {
      error(n, std::string("vars must be a mapping of names to values, got ") + node_kind(n));
    } else {
      for (const auto& kv : n) {
        visit();
        if (!kv.first.IsScalar() || kv.first.Scalar().empty() || !is_ident_start(kv.first.Scalar()[0]) ||
            !std::all_of(kv.first.Scalar().begin(), kv.first.Scalar().end(), is_ident_char)) {
          error(kv.first, "vars: a variable name must be letters, digits and _ (not starting with a digit)");
          continue;
        }
        const std::string& name = kv.first.Scalar();
        if (name == "seq" || name == "client" || name == "protocol") {
          error(kv.first, "vars: '" + name + "' is a built-in variable and cannot be redefined");
          continue;
        }
        auto value = text(kv.second, "vars: " + name);
        if (value) vars_.emplace_back(name, *value);
      }
    }
  }


  if (auto n = get(root, "name")) {
    s.where = {n.Mark().line + 1, n.Mark().column + 1};
    if (auto t = text(n, "name")) {
      if (t->empty()) error(n, "name must not be empty");
      s.name = *t;
    }
  } else {
    error(root, "scenario: missing key 'name' (a sentence saying what the scenario checks)");
  }
  if (matrix) s.name += " [" + version_text(v) + "]";

  if (auto n = get(root, "description")) {
    if (auto t = text(n, "description")) s.description = *t;
  }

  if (auto n = get(root, "spec")) {
    visit();
    auto read_list = [&](const YAML::Node& list) {
      visit();
      if (!list.IsSequence()) {
        error(list, std::string("spec must be a list of statement ids like [MQTT-3.3.1-4], got ") + node_kind(list));
        return;
      }
      for (const auto& item : list) {
        auto id = text(item, "spec");
        if (!id) continue;
        if (!valid_spec_id(*id)) error(item, "spec: '" + *id + "' is not a statement id of the form MQTT-x.x.x-y (e.g. MQTT-3.3.1-4)");
        else if (std::find(s.spec.begin(), s.spec.end(), *id) != s.spec.end()) error(item, "spec: '" + *id + "' is listed twice");
        else s.spec.push_back(*id);
      }
    };
    if (n.IsMap()) {
      // Per-version lists: {"3.1.1": [...], "5": [...]}.
      for (const auto& kv : n) {
        visit();
        auto key = kv.first.IsScalar() ? parse_version_text(kv.first.Scalar()) : std::nullopt;
        if (!key) {
          error(kv.first, "spec: per-version keys must be 3.1, 3.1.1 or 5, got '" + (kv.first.IsScalar() ? kv.first.Scalar() : std::string("?")) + "'");
          continue;
        }
        if (*key == v) read_list(kv.second);
      }
    } else {
      read_list(n);
    }
  }

  if (auto n = get(root, "timeout")) {
    if (auto d = duration(n, "timeout")) {
      if (d->count() == 0) error(n, "timeout must be longer than 0");
      else s.timeout = *d;
    }
  }

  if (auto n = get(root, "requires")) {
    visit();
    if (!n.IsSequence()) {
      error(n, std::string("requires must be a list of features (") + join(feature_names()) + "), got " + node_kind(n));
    } else {
      for (const auto& item : n) {
        auto t = text(item, "requires");
        if (!t) continue;
        auto f = parse_feature(*t);
        if (!f) error(item, "requires: unknown feature '" + *t + "'; expected one of: " + join(feature_names()));
        else if (std::find(s.requires_features.begin(), s.requires_features.end(), *f) == s.requires_features.end()) s.requires_features.push_back(*f);
      }
    }
  }

  if (auto n = get(root, "clients")) {
    visit();
    if (!n.IsMap()) {
      error(n, std::string("clients must be a mapping of client names to settings, got ") + node_kind(n));
    } else {
      for (const auto& kv : n) {
        visit();
        if (!kv.first.IsScalar() || kv.first.Scalar().empty()) {
          error(kv.first, "clients: a client name must be a non-empty string");
          continue;
        }
        if (auto c = parse_client(kv.first.Scalar(), kv.first, kv.second)) clients_.push_back(std::move(*c));
      }
    }
  }
  s.clients = clients_;

  // explore: cut_points | {mode: cut_points, clients: [name...], max_runs: N}
  if (auto n = get(root, "explore")) {
    visit();
    Exploration e;
    bool ok = true;
    auto mode_ok = [&](const YAML::Node& m) {
      auto t = text(m, "explore");
      if (!t) return false;
      if (*t != "cut_points") {
        error(m, "explore: unknown mode '" + *t + "'; expected cut_points");
        return false;
      }
      return true;
    };
    if (n.IsScalar()) {
      ok = mode_ok(n);
    } else if (n.IsMap()) {
      ok = check_map(n, kExploreKeys, "explore");
      if (auto m = get(n, "mode")) ok = mode_ok(m) && ok;
      else {
        error(n, "explore: missing key 'mode' (cut_points)");
        ok = false;
      }
      if (auto cs = get(n, "clients")) {
        visit();
        if (!cs.IsSequence()) {
          error(cs, std::string("explore: clients must be a list of client names, got ") + node_kind(cs));
          ok = false;
        } else {
          for (const auto& item : cs) {
            auto name = text(item, "explore: clients");
            if (!name) continue;
            if (!s.find_client(*name)) {
              error(item, "explore: client '" + *name + "' is not declared under `clients:`");
              ok = false;
            } else {
              e.clients.push_back(*name);
            }
          }
        }
      }
      if (auto m = get(n, "max_runs")) {
        if (auto runs = uint<std::uint32_t>(m, "max_runs", 1, 10000)) e.max_runs = *runs;
        else ok = false;
      }
    } else {
      error(n, std::string("explore must be cut_points or a mapping {mode: cut_points, clients: [...], max_runs: N}, got ") +
                   node_kind(n));
      ok = false;
    }
    if (ok) s.explore = std::move(e);
  }

  if (auto n = get(root, "steps")) {
    visit();
    if (!n.IsSequence() || n.size() == 0) {
      error(n, std::string("steps must be a non-empty list of steps, got ") + node_kind(n));
    } else {
      std::vector<std::string> path;
      parse_steps(n, s.steps, path);
    }
  } else {
    error(root, "scenario: missing key 'steps' (the list of steps)");
  }
  if (!errors.empty()) return std::nullopt;
  return s;
}

std::optional<ClientSpec> Parser::parse_client(const std::string& name, const YAML::Node& key, const YAML::Node& n) {
  ClientSpec c;
  c.name = name;
  c.client_id = name;
  c.where = {key.Mark().line + 1, key.Mark().column + 1};
  for (const auto& other : clients_)
    if (other.name == name) error(key, "clients: client '" + name + "' is declared twice");
  if (n.IsNull()) return c;
  if (!check_map(n, kClientKeys, "client '" + name + "'")) return c;
  acting_client_ = nullptr;
  if (auto x = get(n, "client_id")) {
    if (auto t = text(x, "client_id")) c.client_id = *t;
  }
  if (auto x = get(n, "clean_start")) {
    if (auto b = boolean(x, "clean_start")) c.clean_start = *b;
  }
  if (auto x = get(n, "keep_alive")) {
    if (auto k = uint<std::uint16_t>(x, "keep_alive", 0, 65535, "seconds 0..65535")) c.keep_alive = *k;
  }
  if (auto x = get(n, "username")) c.username = text(x, "username");
  if (auto x = get(n, "password")) c.password = text(x, "password");
  if (auto x = get(n, "will")) c.will = parse_will(x);
  if (auto x = get(n, "protocol")) {
    if (auto t = text(x, "protocol")) {
      if (auto v = parse_version_text(*t)) c.protocol = v;
      else error(x, "protocol must be 3.1, 3.1.1 or 5, got '" + *t + "'");
    }
  }
  // MQTT 5 only settings are parsed always (so their errors show) but kept only for a 5.0
  // client: one declaration serves a protocols matrix.
  Version saved = version_;
  version_ = Version::v5;
  std::optional<std::uint32_t> session_expiry;
  Json props = Json::object();
  std::optional<std::uint16_t> receive_maximum, topic_alias_maximum;
  std::optional<std::uint32_t> maximum_packet_size;
  if (auto x = get(n, "session_expiry")) session_expiry = uint<std::uint32_t>(x, "session_expiry", 0, 4294967295u, "seconds 0..4294967295");
  if (auto x = get(n, "properties")) props = properties(x, "client '" + name + "'");
  if (auto x = get(n, "receive_maximum")) receive_maximum = uint<std::uint16_t>(x, "receive_maximum", 1, 65535);
  if (auto x = get(n, "topic_alias_maximum")) topic_alias_maximum = uint<std::uint16_t>(x, "topic_alias_maximum", 0, 65535);
  if (auto x = get(n, "maximum_packet_size")) maximum_packet_size = uint<std::uint32_t>(x, "maximum_packet_size", 1, 268435460);
  version_ = saved;
  Version effective = c.protocol.value_or(version_);
  if (effective == Version::v5) {
    c.session_expiry = session_expiry;
    c.properties = props;
    c.receive_maximum = receive_maximum;
    c.topic_alias_maximum = topic_alias_maximum;
    c.maximum_packet_size = maximum_packet_size;
  } else if (c.will) {
    c.will->delay.reset();
    c.will->properties = Json::object();
  }
  return c;
}

std::optional<WillSpec> Parser::parse_will(const YAML::Node& n) {
  if (!check_map(n, kWillKeys, "will")) return std::nullopt;
  WillSpec w;
  require(n, "topic", "will", "the will topic");
  if (auto x = get(n, "topic")) {
    if (auto t = text(x, "will topic")) w.topic = *t;
  }
  if (has(n, "payload") && has(n, "payload_hex")) error(get(n, "payload_hex"), "will: use either 'payload' or 'payload_hex', not both");
  if (auto x = get(n, "payload")) {
    if (auto t = text(x, "will payload")) w.payload = *t;
  }
  if (auto x = get(n, "payload_hex")) {
    if (auto t = hex(x, "will payload_hex")) w.payload = *t;
  }
  if (auto x = get(n, "qos")) {
    if (auto q = qos(x, "will qos")) w.qos = *q;
  }
  if (auto x = get(n, "retain")) {
    if (auto b = boolean(x, "will retain")) w.retain = *b;
  }
  Version saved = version_;
  version_ = Version::v5;
  if (auto x = get(n, "delay")) w.delay = uint<std::uint32_t>(x, "will delay", 0, 4294967295u, "seconds 0..4294967295");
  if (auto x = get(n, "properties")) w.properties = properties(x, "will");
  version_ = saved;
  return w;
}

void Parser::parse_steps(const YAML::Node& list, std::vector<Step>& out, std::vector<std::string>& repeat_path) {
  for (const auto& item : list) {
    visit();
    parse_step_item(item, out, repeat_path);
  }
}

void Parser::parse_step_item(const YAML::Node& item, std::vector<Step>& out, std::vector<std::string>& repeat_path) {
  std::vector<std::string_view> kinds;
  for (std::size_t k = 0; k <= static_cast<std::size_t>(StepKind::misbehave); ++k) kinds.push_back(step_kind_name(static_cast<StepKind>(k)));
  kinds.push_back("repeat");
  if (!item.IsMap()) {
    error(item, std::string("a step must be a mapping with one step kind (") + join(kinds) + "), got " + node_kind(item));
    return;
  }
  // std::optional: assigning to an existing YAML::Node would overwrite the node it refers to.
  std::optional<YAML::Node> kind_key_slot, kind_value_slot;
  std::string kind_name;
  int kind_count = 0;
  for (const auto& kv : item) {
    visit();
    if (!kv.first.IsScalar()) {
      error(kv.first, "step: keys must be plain names");
      continue;
    }
    const std::string& k = kv.first.Scalar();
    if (contains(kStepItemExtraKeys, k)) continue;
    if (!contains(kinds, k)) {
      error(kv.first, "step: unknown step kind '" + k + "'; expected one of: " + join(kinds) + " (and optionally 'only')");
      ++kind_count;
      continue;
    }
    if (kind_count++ == 0) {
      kind_key_slot.emplace(kv.first);
      kind_value_slot.emplace(kv.second);
      kind_name = k;
    } else {
      error(kv.first, "step: one step kind per list item, but this item also has '" + kind_name + "' (start a new item with '- " + k + ":')");
    }
  }
  if (kind_count == 0) {
    error(item, std::string("step: missing the step kind; expected one of: ") + join(kinds));
    return;
  }
  if (!kind_key_slot) return;
  const YAML::Node& kind_key = *kind_key_slot;
  const YAML::Node& kind_value = *kind_value_slot;
  // `only: 5` / `only: [3.1.1]`: the step runs only in those versions.
  if (auto only = get(item, "only")) {
    visit();
    std::vector<Version> versions;
    auto add = [&](const YAML::Node& n) {
      auto t = text(n, "only");
      if (!t) return;
      if (auto v = parse_version_text(*t)) versions.push_back(*v);
      else error(n, "only must be a version (3.1, 3.1.1, 5) or a list of them, got '" + *t + "'");
    };
    if (only.IsSequence()) {
      for (const auto& v : only) add(v);
    } else {
      add(only);
    }
    if (!versions.empty() && std::find(versions.begin(), versions.end(), version_) == versions.end()) return;
  }
  if (kind_name == "repeat") {
    if (!check_map(kind_value, kRepeatKeys, "repeat")) return;
    require(kind_value, "times", "repeat", "how many times");
    require(kind_value, "steps", "repeat", "the steps to repeat");
    std::optional<std::uint32_t> times;
    if (auto x = get(kind_value, "times")) times = uint<std::uint32_t>(x, "repeat times", 0, 100000);
    std::uint32_t from = 1;
    if (auto x = get(kind_value, "from")) {
      if (auto f = uint<std::uint32_t>(x, "repeat from", 0, 1000000000)) from = *f;
    }
    std::string as = "i";
    if (auto x = get(kind_value, "as")) {
      if (auto t = text(x, "repeat as")) {
        if (t->empty() || !is_ident_start((*t)[0]) || !std::all_of(t->begin(), t->end(), is_ident_char)) {
          error(x, "repeat as must be a variable name (letters, digits, _), got '" + *t + "'");
        } else if (*t == "seq" || *t == "client" || *t == "protocol" || lookup(*t)) {
          error(x, "repeat as: variable '" + *t + "' is already defined here; pick another name");
        } else {
          as = *t;
        }
      }
    }
    YAML::Node body = get(kind_value, "steps");
    if (!times || !body) return;
    visit();
    if (!body.IsSequence() || body.size() == 0) {
      error(body, std::string("repeat steps must be a non-empty list of steps, got ") + node_kind(body));
      return;
    }
    if (repeat_depth_ >= opt_.max_repeat_depth) {
      error(kind_key, "repeat nested more than " + std::to_string(opt_.max_repeat_depth) + " levels deep");
      return;
    }
    ++repeat_depth_;
    for (std::uint32_t k = 0; k < *times; ++k) {
      std::string value = std::to_string(static_cast<std::uint64_t>(from) + k);
      vars_.emplace_back(as, value);
      repeat_path.push_back(as + "=" + value);
      std::size_t errors_before = errors.size();
      parse_steps(body, out, repeat_path);
      repeat_path.pop_back();
      vars_.pop_back();
      // One failing iteration shows the problem; do not walk the rest.
      if (errors.size() != errors_before || step_budget_reported_) break;
    }
    --repeat_depth_;
    return;
  }
  StepKind kind{};
  for (std::size_t k = 0; k <= static_cast<std::size_t>(StepKind::misbehave); ++k)
    if (step_kind_name(static_cast<StepKind>(k)) == kind_name) kind = static_cast<StepKind>(k);
  auto action = parse_step(kind, kind_key, kind_value);
  acting_client_ = nullptr;
  if (!action) return;
  if (++step_count_ > opt_.max_steps) {
    if (!step_budget_reported_) error(kind_key, "more than " + std::to_string(opt_.max_steps) + " steps after repeat expansion");
    step_budget_reported_ = true;
    return;
  }
  Step step;
  step.action = std::move(*action);
  step.where = {kind_key.Mark().line + 1, kind_key.Mark().column + 1};
  step.repeat_path = repeat_path;
  out.push_back(std::move(step));
}

std::optional<StepAction> Parser::parse_step(StepKind kind, const YAML::Node& key, const YAML::Node& n) {
  const std::string ctx(step_kind_name(kind));
  auto client_of = [&](const YAML::Node& m, std::string_view field = "client") -> std::optional<std::string> {
    if (!has(m, field)) {
      error(m, ctx + ": missing key '" + std::string(field) + "' (a client declared under `clients:`)");
      return std::nullopt;
    }
    auto c = client_ref(get(m, field), ctx + " " + std::string(field));
    if (c && field == "client") set_acting(*c);
    return c;
  };
  auto within = [&](const YAML::Node& m) -> std::optional<Duration> {
    if (auto x = get(m, "within")) return duration(x, "within");
    return std::nullopt;
  };
  // Steps whose value may be just the client name.
  bool scalar_form = n.IsScalar();

  switch (kind) {
    case StepKind::connect:
    case StepKind::reconnect: {
      std::optional<std::string> client;
      YAML::Node m = n;
      if (scalar_form) {
        client = client_ref(n, ctx);
      } else {
        if (!check_map(n, kind == StepKind::connect ? kConnectKeys : kReconnectKeys, ctx)) return std::nullopt;
        client = client_of(n);
      }
      if (!client) return std::nullopt;
      ConnectOverrides o;
      std::optional<ConnackExpectation> expect;
      std::optional<Duration> w;
      Duration after{0};
      if (!scalar_form) {
        o = parse_overrides(m);
        if (has(m, "session_expiry")) only_v5(get(m, "session_expiry"), "session_expiry");
        if (auto x = get(m, "expect")) expect = parse_connack_expect(x, ctx + " expect");
        w = within(m);
        if (kind == StepKind::reconnect) {
          if (auto x = get(m, "after")) {
            if (auto d = duration(x, "after")) after = *d;
          }
        }
      }
      if (kind == StepKind::reconnect) require_opened(key, *client, ctx);
      opened_.insert(*client);
      if (kind == StepKind::connect) return ConnectStep{*client, o, expect, w};
      return ReconnectStep{*client, after, o, expect, w};
    }
    case StepKind::disconnect: {
      DisconnectStep d;
      if (scalar_form) {
        auto c = client_ref(n, ctx);
        if (!c) return std::nullopt;
        d.client = *c;
      } else {
        if (!check_map(n, kDisconnectKeys, ctx)) return std::nullopt;
        auto c = client_of(n);
        if (!c) return std::nullopt;
        d.client = *c;
        if (auto x = get(n, "abrupt")) {
          if (auto b = boolean(x, "abrupt")) d.abrupt = *b;
        }
        if (auto x = get(n, "reason_code")) {
          only_v5(x, "disconnect reason_code");
          d.reason_code = reason_code(x, "reason_code");
        }
        if (auto x = get(n, "properties")) d.properties = properties(x, ctx);
        if (d.abrupt && (d.reason_code || !d.properties.empty()))
          error(n, "disconnect: an abrupt disconnect sends no DISCONNECT, so it cannot carry reason_code or properties");
      }
      require_opened(key, d.client, ctx);
      return d;
    }
    case StepKind::subscribe: {
      if (!check_map(n, kSubscribeKeys, ctx)) return std::nullopt;
      SubscribeStep s;
      auto c = client_of(n);
      if (!c) return std::nullopt;
      s.client = *c;
      SubscriptionSpec defaults;
      if (auto x = get(n, "qos")) {
        if (auto q = qos(x, "qos")) defaults.qos = *q;
      }
      auto v5_flag = [&](const char* name, bool& field) {
        if (auto x = get(n, name)) {
          if (auto b = boolean(x, name)) {
            field = *b;
            if (*b) only_v5(x, name);
          }
        }
      };
      v5_flag("no_local", defaults.no_local);
      v5_flag("retain_as_published", defaults.retain_as_published);
      if (auto x = get(n, "retain_handling")) {
        if (auto r = uint<std::uint8_t>(x, "retain_handling", 0, 2, "0, 1 or 2")) {
          defaults.retain_handling = *r;
          if (*r) only_v5(x, "retain_handling");
        }
      }
      if (has(n, "filter") == has(n, "filters")) {
        error(n, "subscribe: give exactly one of 'filter' (one topic filter) or 'filters' (a list)");
      } else if (auto x = get(n, "filter")) {
        SubscriptionSpec sub = defaults;
        if (auto t = text(x, "filter")) {
          sub.filter = *t;
          s.subscriptions.push_back(sub);
        }
      } else {
        YAML::Node list = get(n, "filters");
        visit();
        if (!list.IsSequence() || list.size() == 0) {
          error(list, std::string("subscribe filters must be a non-empty list of topic filters, got ") + node_kind(list));
        } else {
          for (const auto& item : list) {
            visit();
            SubscriptionSpec sub = defaults;
            if (item.IsMap()) {
              if (!check_map(item, kSubscriptionKeys, "subscribe filters entry")) continue;
              require(item, "filter", "subscribe filters entry", "the topic filter");
              if (auto f = get(item, "filter")) {
                if (auto t = text(f, "filter")) sub.filter = *t;
              }
              if (auto q = get(item, "qos")) {
                if (auto v = qos(q, "qos")) sub.qos = *v;
              }
              if (auto b = get(item, "no_local")) {
                if (auto v = boolean(b, "no_local")) { sub.no_local = *v; if (*v) only_v5(b, "no_local"); }
              }
              if (auto b = get(item, "retain_as_published")) {
                if (auto v = boolean(b, "retain_as_published")) { sub.retain_as_published = *v; if (*v) only_v5(b, "retain_as_published"); }
              }
              if (auto r = get(item, "retain_handling")) {
                if (auto v = uint<std::uint8_t>(r, "retain_handling", 0, 2, "0, 1 or 2")) { sub.retain_handling = *v; if (*v) only_v5(r, "retain_handling"); }
              }
            } else if (auto t = text(item, "filters entry")) {
              sub.filter = *t;
            } else {
              continue;
            }
            s.subscriptions.push_back(sub);
          }
        }
      }
      if (auto x = get(n, "subscription_identifier")) {
        only_v5(x, "subscription_identifier");
        s.subscription_identifier = uint<std::uint32_t>(x, "subscription_identifier", 1, 268435455);
      }
      if (auto x = get(n, "properties")) s.properties = properties(x, ctx);
      if (auto x = get(n, "packet_id")) s.packet_id = uint<std::uint16_t>(x, "packet_id", 0, 65535);
      if (auto x = get(n, "expect")) {
        if (check_map(x, kReasonCodesExpectKeys, "subscribe expect")) {
          require(x, "reason_codes", "subscribe expect", "one SUBACK reason code per filter");
          if (auto r = get(x, "reason_codes")) {
            s.expect_reason_codes = reason_code_list(r, "reason_codes");
            if (s.expect_reason_codes && s.expect_reason_codes->size() != s.subscriptions.size() && !s.subscriptions.empty())
              error(r, "subscribe expect reason_codes: " + std::to_string(s.expect_reason_codes->size()) + " codes for " + std::to_string(s.subscriptions.size()) + " filters (the SUBACK has one per filter)");
          }
        }
      }
      if (auto x = get(n, "wait")) {
        if (auto b = boolean(x, "wait")) s.wait = *b;
      }
      s.within = within(n);
      require_opened(key, s.client, ctx);
      return s;
    }
    case StepKind::unsubscribe: {
      if (!check_map(n, kUnsubscribeKeys, ctx)) return std::nullopt;
      UnsubscribeStep u;
      auto c = client_of(n);
      if (!c) return std::nullopt;
      u.client = *c;
      if (has(n, "filter") == has(n, "filters")) {
        error(n, "unsubscribe: give exactly one of 'filter' (one topic filter) or 'filters' (a list)");
      } else if (auto x = get(n, "filter")) {
        if (auto t = text(x, "filter")) u.filters.push_back(*t);
      } else {
        YAML::Node list = get(n, "filters");
        visit();
        if (!list.IsSequence() || list.size() == 0) {
          error(list, std::string("unsubscribe filters must be a non-empty list of topic filters, got ") + node_kind(list));
        } else {
          for (const auto& item : list)
            if (auto t = text(item, "filters entry")) u.filters.push_back(*t);
        }
      }
      if (auto x = get(n, "properties")) u.properties = properties(x, ctx);
      if (auto x = get(n, "packet_id")) u.packet_id = uint<std::uint16_t>(x, "packet_id", 0, 65535);
      if (auto x = get(n, "expect")) {
        if (check_map(x, kReasonCodesExpectKeys, "unsubscribe expect")) {
          only_v5(x, "UNSUBACK reason codes");
          require(x, "reason_codes", "unsubscribe expect", "one UNSUBACK reason code per filter");
          if (auto r = get(x, "reason_codes")) {
            u.expect_reason_codes = reason_code_list(r, "reason_codes");
            if (u.expect_reason_codes && u.expect_reason_codes->size() != u.filters.size() && !u.filters.empty())
              error(r, "unsubscribe expect reason_codes: " + std::to_string(u.expect_reason_codes->size()) + " codes for " + std::to_string(u.filters.size()) + " filters (the UNSUBACK has one per filter)");
          }
        }
      }
      if (auto x = get(n, "wait")) {
        if (auto b = boolean(x, "wait")) u.wait = *b;
      }
      u.within = within(n);
      require_opened(key, u.client, ctx);
      return u;
    }
    case StepKind::publish: {
      if (!check_map(n, kPublishKeys, ctx)) return std::nullopt;
      PublishStep p;
      auto c = client_of(n);
      if (!c) return std::nullopt;
      p.client = *c;
      require(n, "topic", ctx, "the topic name; \"\" with a topic_alias property");
      if (auto x = get(n, "topic")) {
        if (auto t = text(x, "topic", true)) p.topic = *t;
      }
      if (auto x = get(n, "qos")) {
        if (auto q = qos(x, "qos")) p.qos = *q;
      }
      if (auto x = get(n, "retain")) {
        if (auto b = boolean(x, "retain")) p.retain = *b;
      }
      int payload_sources = has(n, "payload") + has(n, "payload_hex") + has(n, "payload_size");
      if (payload_sources > 1) error(n, "publish: give at most one of 'payload', 'payload_hex' and 'payload_size'");
      if (auto x = get(n, "payload")) {
        if (auto t = text(x, "payload", true)) p.payload = *t;
      }
      if (auto x = get(n, "payload_hex")) {
        if (auto t = hex(x, "payload_hex")) {
          p.payload = *t;
          p.payload_is_template = false;
        }
      }
      if (auto x = get(n, "payload_size")) {
        if (auto sz = uint<std::uint32_t>(x, "payload_size", 0, 1u << 20, "a byte count 0..1048576")) {
          p.payload.assign(*sz, 'x');
          p.payload_is_template = false;
        }
      }
      if (auto x = get(n, "count")) {
        if (auto k = uint<std::uint32_t>(x, "count", 1, 100000)) p.count = *k;
      }
      if (auto x = get(n, "properties")) p.properties = properties(x, ctx);
      if (auto x = get(n, "dup")) {
        if (auto b = boolean(x, "dup")) {
          p.dup = *b;
          if (*b && p.qos == 0) error(x, "publish: dup must be false for a QoS 0 message [MQTT-3.3.1-2] (use send_raw to send a broken packet)");
        }
      }
      if (auto x = get(n, "packet_id")) {
        p.packet_id = uint<std::uint16_t>(x, "packet_id", 0, 65535);
        if (p.qos == 0) error(x, "publish: a QoS 0 PUBLISH has no packet_id (use send_raw to send a broken packet)");
      }
      if (auto x = get(n, "wait")) {
        if (auto b = boolean(x, "wait")) p.wait = *b;
      }
      p.within = within(n);
      require_opened(key, p.client, ctx);
      return p;
    }
    case StepKind::send_raw: {
      if (!check_map(n, kSendRawKeys, ctx)) return std::nullopt;
      SendRawStep r;
      auto c = client_of(n);
      require(n, "hex", ctx, "the bytes to send, as hex");
      if (auto x = get(n, "hex")) {
        if (auto b = hex(x, "hex")) {
          r.bytes.assign(b->begin(), b->end());
          if (b->empty()) error(x, "send_raw: hex must contain at least one byte");
        }
      }
      if (!c) return std::nullopt;
      r.client = *c;
      opened_.insert(r.client);
      return r;
    }
    case StepKind::expect_packet: {
      visit();
      if (!n.IsMap()) {
        error(n, "expect_packet must be a mapping with client, type, within and decode-JSON fields to match");
        return std::nullopt;
      }
      ExpectPacketStep e;
      auto c = client_of(n);
      require(n, "type", ctx, "the packet type, e.g. PUBLISH");
      std::optional<PacketType> type;
      if (auto x = get(n, "type")) type = packet_type(x, "type");
      e.within = within(n);
      if (type) {
        e.type = *type;
        Keys allowed = kExpectPacketBaseKeys;
        for (auto k : match_keys(*type)) allowed.push_back(k);
        check_map(n, allowed, "expect_packet " + std::string(kPacketTypeNames[static_cast<std::size_t>(*type) - 1]));
        for (const auto& kv : n) {
          visit();
          if (!kv.first.IsScalar()) continue;
          const std::string& k = kv.first.Scalar();
          if (contains(kExpectPacketBaseKeys, k) || !contains(allowed, k)) continue;
          if (k == "properties") {
            e.match["properties"] = match_properties(kv.second, ctx);
          } else if (k == "payload") {
            if (auto t = text(kv.second, "payload")) e.match["payload_hex"] = to_hex(*t);
          } else if (k == "payload_hex" || k == "password_hex") {
            if (auto t = hex(kv.second, k)) e.match[k] = to_hex(*t);
          } else if (k == "qos") {
            if (auto q = uint<std::uint8_t>(kv.second, "qos", 0, 3, "0..3")) e.match[k] = *q;
          } else {
            e.match[k] = generic(kv.second, kStringValuedKeys.count(k) > 0, 0);
          }
        }
        if (has(n, "payload") && has(n, "payload_hex")) error(n, "expect_packet: give either 'payload' or 'payload_hex', not both");
      }
      if (!c || !type) return std::nullopt;
      e.client = *c;
      require_opened(key, e.client, ctx);
      return e;
    }
    case StepKind::expect_no_packet: {
      if (!check_map(n, kExpectNoPacketKeys, ctx)) return std::nullopt;
      ExpectNoPacketStep e;
      auto c = client_of(n);
      if (auto x = get(n, "type")) e.type = packet_type(x, "type");
      require(n, "for", ctx, "how long to watch, e.g. 500ms");
      if (auto x = get(n, "for")) {
        if (auto d = duration(x, "for")) e.duration = *d;
      }
      if (!c) return std::nullopt;
      e.client = *c;
      require_opened(key, e.client, ctx);
      return e;
    }
    case StepKind::expect_delivery: {
      if (!check_map(n, kExpectDeliveryKeys, ctx)) return std::nullopt;
      ExpectDeliveryStep e;
      auto sub = client_of(n, "subscriber");
      auto pub = client_of(n, "publisher");
      if (auto x = get(n, "topic")) e.topic = text(x, "topic");
      require(n, "guarantee", ctx, "at_most_once, at_least_once or exactly_once");
      if (auto x = get(n, "guarantee")) {
        if (auto t = text(x, "guarantee")) {
          if (*t == "at_most_once") e.guarantee = Guarantee::at_most_once;
          else if (*t == "at_least_once") e.guarantee = Guarantee::at_least_once;
          else if (*t == "exactly_once") e.guarantee = Guarantee::exactly_once;
          else error(x, "guarantee must be at_most_once, at_least_once or exactly_once, got '" + *t + "'");
        }
      }
      if (auto x = get(n, "ordered")) {
        if (auto b = boolean(x, "ordered")) e.ordered = *b;
      }
      if (auto x = get(n, "count")) e.count = uint<std::uint32_t>(x, "count", 0, 100000000);
      e.within = within(n);
      if (sub) require_opened(get(n, "subscriber"), *sub, "expect_delivery subscriber");
      if (pub) require_opened(get(n, "publisher"), *pub, "expect_delivery publisher");
      if (!sub || !pub) return std::nullopt;
      e.subscriber = *sub;
      e.publisher = *pub;
      return e;
    }
    case StepKind::expect_disconnect: {
      ExpectDisconnectStep e;
      if (scalar_form) {
        auto c = client_ref(n, ctx);
        if (!c) return std::nullopt;
        e.client = *c;
      } else {
        if (!check_map(n, kExpectDisconnectKeys, ctx)) return std::nullopt;
        auto c = client_of(n);
        if (auto x = get(n, "reason_code")) e.reason_code = reason_code(x, "reason_code");
        e.within = within(n);
        if (!c) return std::nullopt;
        e.client = *c;
      }
      require_opened(key, e.client, ctx);
      return e;
    }
    case StepKind::expect_connack: {
      if (!check_map(n, kExpectConnackKeys, ctx)) return std::nullopt;
      ExpectConnackStep e;
      auto c = client_of(n);
      if (auto x = get(n, "reason_code")) e.expect.reason_code = reason_code(x, "reason_code");
      if (auto x = get(n, "session_present")) e.expect.session_present = boolean(x, "session_present");
      if (auto x = get(n, "properties")) e.expect.properties = match_properties(x, ctx);
      e.within = within(n);
      if (!c) return std::nullopt;
      e.client = *c;
      require_opened(key, e.client, ctx);
      return e;
    }
    case StepKind::expect_suback: {
      if (!check_map(n, kExpectSubackKeys, ctx)) return std::nullopt;
      ExpectSubackStep e;
      auto c = client_of(n);
      require(n, "reason_codes", ctx, "the expected SUBACK reason codes");
      if (auto x = get(n, "reason_codes")) {
        if (auto r = reason_code_list(x, "reason_codes")) e.reason_codes = *r;
      }
      e.within = within(n);
      if (!c) return std::nullopt;
      e.client = *c;
      require_opened(key, e.client, ctx);
      return e;
    }
    case StepKind::sleep: {
      auto d = duration(n, "sleep");
      if (!d) return std::nullopt;
      return SleepStep{*d};
    }
    case StepKind::fault: {
      if (!check_map(n, kFaultKeys, ctx)) return std::nullopt;
      FaultStep f;
      auto c = client_of(n);
      int kinds = 0;
      bool parsed = false;
      for (std::size_t k = 0; k < kFaultParamKeys.size(); ++k) {
        auto kind_name = fault_kind_name(static_cast<FaultKind>(k));
        YAML::Node params = get(n, kind_name);
        if (!params) continue;
        if (kinds++ > 0) {
          error(params, "fault: one fault kind per step (cut, delay, throttle, segment, corrupt, blackhole, duplicate or reorder)");
          continue;
        }
        f.kind = static_cast<FaultKind>(k);
        std::string fctx = "fault " + std::string(kind_name);
        if (params.IsNull()) {
          parsed = true;
          continue;
        }
        if (!check_map(params, kFaultParamKeys[k], fctx)) continue;
        parsed = true;
        if (auto x = get(params, "direction")) {
          if (auto t = text(x, "direction")) {
            if (*t == "to_broker") f.direction = Direction::to_broker;
            else if (*t == "to_client") f.direction = Direction::to_client;
            else if (*t == "both") f.direction = Direction::both;
            else error(x, "direction must be to_broker, to_client or both, got '" + *t + "'");
          }
        }
        if (auto x = get(params, "after")) f.after = packet_type(x, "after");
        if (auto x = get(params, "packet")) f.after = packet_type(x, "packet");
        if (auto x = get(params, "nth")) {
          if (auto v = uint<std::uint32_t>(x, "nth", 1, 1000000)) f.nth = *v;
        }
        if (auto x = get(params, "at")) f.delay = duration(x, "at");
        if (auto x = get(params, "by")) f.delay = duration(x, "by");
        if (auto x = get(params, "jitter")) f.jitter = duration(x, "jitter");
        if (auto x = get(params, "for")) f.duration = duration(x, "for");
        if (auto x = get(params, "bytes_per_second")) f.bytes_per_second = uint<std::uint32_t>(x, "bytes_per_second", 1, 4294967295u);
        if (auto x = get(params, "size")) f.size = uint<std::uint32_t>(x, "size", 1, 268435460);
        if (auto x = get(params, "offset")) f.offset = uint<std::uint32_t>(x, "offset", 0, 268435460);
        if (auto x = get(params, "xor")) f.xor_mask = uint<std::uint8_t>(x, "xor", 1, 255);
        if (auto x = get(params, "window")) f.window = uint<std::uint32_t>(x, "window", 2, 1000);
        if (f.kind == FaultKind::throttle) require(params, "bytes_per_second", fctx, "the link rate");
        if (f.kind == FaultKind::segment) require(params, "size", fctx, "bytes per write");
        if (f.kind == FaultKind::delay) require(params, "by", fctx, "the added latency");
      }
      if (kinds == 0) error(n, "fault: missing the fault kind: one of cut, delay, throttle, segment, corrupt, blackhole, duplicate, reorder");
      if (!c) return std::nullopt;
      f.client = *c;
      if (kinds > 0 && parsed && !opt_.allow_faults)
        error(key, "fault steps are turned off for this load (LoadOptions::allow_faults)");
      if (!parsed) return std::nullopt;
      return f;
    }
    case StepKind::misbehave: {
      if (!check_map(n, kMisbehaveKeys, ctx)) return std::nullopt;
      MisbehaveStep m;
      auto c = client_of(n);
      if (auto x = get(n, "withhold")) {
        auto add = [&](const YAML::Node& t) {
          auto type = packet_type(t, "withhold");
          if (!type) return;
          if (*type != PacketType::puback && *type != PacketType::pubrec && *type != PacketType::pubrel && *type != PacketType::pubcomp)
            error(t, "withhold: only acks can be withheld: PUBACK, PUBREC, PUBREL or PUBCOMP");
          else
            m.withhold.push_back(*type);
        };
        visit();
        if (x.IsSequence()) {
          for (const auto& t : x) add(t);
        } else {
          add(x);
        }
      }
      if (auto x = get(n, "skip_pubrel")) m.skip_pubrel = boolean(x, "skip_pubrel");
      if (auto x = get(n, "reuse_packet_id")) m.reuse_packet_id = boolean(x, "reuse_packet_id");
      if (auto x = get(n, "auto_ack")) m.auto_ack = boolean(x, "auto_ack");
      if (auto x = get(n, "count")) m.count = uint<std::uint32_t>(x, "count", 1, 1000000);
      if (auto x = get(n, "fixed_packet_id")) m.fixed_packet_id = uint<std::uint16_t>(x, "fixed_packet_id", 0, 65535);
      if (auto x = get(n, "suppress_pingreq")) m.suppress_pingreq = boolean(x, "suppress_pingreq");
      if (auto x = get(n, "ignore_receive_maximum")) m.ignore_receive_maximum = boolean(x, "ignore_receive_maximum");
      if (!c) return std::nullopt;
      m.client = *c;
      return m;
    }
  }
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------------------

namespace {
// 1-based line of a '---' document marker that follows content, or 0.
int second_document_line(std::string_view text) {
  bool content = false;
  int line = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    ++line;
    bool marker = l.substr(0, 3) == "---" && (l.size() == 3 || l[3] == ' ' || l[3] == '\t');
    if (marker && content) return line;
    std::size_t first = l.find_first_not_of(" \t");
    if (!marker && first != std::string_view::npos && l[first] != '#' && l[first] != '%') content = true;
    pos = end + 1;
  }
  return 0;
}
}  // namespace

std::string LoadError::to_string() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult load_string(std::string_view text, const std::string& file_name, const LoadOptions& options) {
  LoadResult result;
  Parser parser(file_name, options);
  try {
    // Only the first document is parsed: yaml-cpp 0.7's LoadAll() never returns on some
    // inputs (e.g. a document that starts with ','), found by fuzzing. A second document is
    // detected from its '---' marker instead.
    YAML::Node root = YAML::Load(std::string(text));
    if (root.IsNull()) {
      result.errors.push_back({file_name, 0, 0, "the file holds no scenario (empty, or not a YAML mapping): a scenario needs at least name, protocol and steps"});
      return result;
    }
    if (int line = second_document_line(text); line > 0) {
      YAML::Mark at;
      at.line = line - 1;
      parser.error(at, "one scenario per file: a second YAML document ('---') is not allowed");
    }
    result.scenarios = parser.parse_document(root);
  } catch (const BudgetExceeded&) {
    parser.error(YAML::Mark::null_mark(), "the file expands to more than " + std::to_string(options.max_nodes_visited) + " YAML nodes (aliases or repeats too large)");
  } catch (const YAML::Exception& e) {
    parser.error(e.mark, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    parser.error(YAML::Mark::null_mark(), std::string("cannot load: ") + e.what());
  } catch (...) {
    parser.error(YAML::Mark::null_mark(), "cannot load: unknown error");
  }
  result.errors = std::move(parser.errors);
  if (!result.errors.empty()) result.scenarios.clear();
  return result;
}

LoadResult load_file(const std::filesystem::path& file, const LoadOptions& options) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back({file.string(), 0, 0, "cannot open the file"});
    return r;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return load_string(buffer.str(), file.string(), options);
}

std::vector<std::filesystem::path> find_scenario_files(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return {path};
  if (!std::filesystem::is_directory(path, ec)) return out;
  for (auto it = std::filesystem::recursive_directory_iterator(path, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    auto ext = it->path().extension().string();
    if (ext == ".yaml" || ext == ".yml") out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

const std::vector<KeySet>& accepted_keys() {
  static const std::vector<KeySet> sets = [] {
    std::vector<KeySet> v = {
        {"scenario", kScenarioKeys},
        {"client", kClientKeys},
        {"will", kWillKeys},
        {"connack_expect", kConnackExpectKeys},
        {"subscription", kSubscriptionKeys},
        {"reason_codes_expect", kReasonCodesExpectKeys},
        {"repeat", kRepeatKeys},
        {"explore", kExploreKeys},
        {"step:connect", kConnectKeys},
        {"step:reconnect", kReconnectKeys},
        {"step:disconnect", kDisconnectKeys},
        {"step:subscribe", kSubscribeKeys},
        {"step:unsubscribe", kUnsubscribeKeys},
        {"step:publish", kPublishKeys},
        {"step:send_raw", kSendRawKeys},
        {"step:expect_no_packet", kExpectNoPacketKeys},
        {"step:expect_delivery", kExpectDeliveryKeys},
        {"step:expect_disconnect", kExpectDisconnectKeys},
        {"step:expect_connack", kExpectConnackKeys},
        {"step:expect_suback", kExpectSubackKeys},
        {"step:fault", kFaultKeys},
        {"step:misbehave", kMisbehaveKeys},
    };
    // expect_packet: the union over packet types (per-type sets are checked by the loader).
    Keys ep = kExpectPacketBaseKeys;
    for (std::size_t t = 1; t <= 15; ++t)
      for (auto k : match_keys(static_cast<PacketType>(t)))
        if (!contains(ep, k)) ep.push_back(k);
    v.push_back({"step:expect_packet", ep});
    for (std::size_t k = 0; k < kFaultParamKeys.size(); ++k)
      v.push_back({k == 0 ? "fault:cut" : k == 1 ? "fault:delay" : k == 2 ? "fault:throttle" : k == 3 ? "fault:segment"
                   : k == 4 ? "fault:corrupt" : k == 5 ? "fault:blackhole" : k == 6 ? "fault:duplicate" : "fault:reorder",
                   kFaultParamKeys[k]});
    return v;
  }();
  return sets;
}

const std::vector<std::string_view>& accepted_step_kinds() {
  static const std::vector<std::string_view> kinds = [] {
    std::vector<std::string_view> v;
    for (std::size_t k = 0; k <= static_cast<std::size_t>(StepKind::misbehave); ++k) v.push_back(step_kind_name(static_cast<StepKind>(k)));
    v.push_back("repeat");
    return v;
  }();
  return kinds;
}

const std::vector<std::string_view>& accepted_property_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const auto& p : kProperties) v.push_back(p.name);
    return v;
  }();
  return names;
}

}  // namespace mqtth::scenario
