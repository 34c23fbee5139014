#include "mqtth/runner/Prefix.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>

#include <unistd.h>

namespace mqtth::runner {

namespace {

bool is_lower_alnum(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); }

// The letters and digits of `text`, lower-cased.
std::string lower_alnum(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch >= 'A' && ch <= 'Z') out += static_cast<char>(ch - 'A' + 'a');
    else if (is_lower_alnum(ch)) out += ch;
  }
  return out;
}

// 6 base-36 digits of the FNV-1a hash of `text` (36^6 ~ 2.2e9 values).
std::string hash6(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  std::string out(6, '0');
  for (auto& ch : out) {
    ch = "0123456789abcdefghijklmnopqrstuvwxyz"[h % 36];
    h /= 36;
  }
  return out;
}

std::string replaced(std::string_view text, std::string_view placeholder, std::string_view value) {
  std::string out(text);
  for (std::size_t at = out.find(placeholder); at != std::string::npos; at = out.find(placeholder, at + value.size()))
    out.replace(at, placeholder.size(), value);
  return out;
}

// Rewrites a broker may apply to every topic it delivers, recognised on the prefix.
struct Rewrite {
  const char* rule;
  char (*map)(char);
};
constexpr std::array<Rewrite, 4> kRewrites = {{
    {"'.' -> '/'", [](char ch) { return ch == '.' ? '/' : ch; }},  // MQTT '/' <-> AMQP '.' (RabbitMQ)
    {"'/' -> '.'", [](char ch) { return ch == '/' ? '.' : ch; }},
    {"lower-cased", [](char ch) { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch; }},
    {"upper-cased", [](char ch) { return ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 'a' + 'A') : ch; }},
}};

}  // namespace

std::string Prefix::client_id(std::string_view id) const {
  if (!active() || id.empty()) return std::string(id);
  std::string wire = id_prefix_ + lower_alnum(id);
  if (std::all_of(id.begin(), id.end(), is_lower_alnum) && wire.size() <= kPortableClientIdBytes) return wire;
  // [MQTT-3.1.3-5]: only 1-23 bytes of 0-9a-zA-Z are sure to be accepted. What fits stays
  // readable; the hash of the whole name keeps ids apart that differ only in the characters
  // dropped or cut here.
  constexpr std::size_t kHash = 6;
  wire.resize(std::min(wire.size(), kPortableClientIdBytes - kHash));
  return wire + hash6(id_prefix_ + '\0' + std::string(id));
}

std::string Prefix::topic(std::string_view topic) const {
  if (!active() || topic.empty() || topic.front() == '$') return std::string(topic);
  return topic_prefix_ + "/" + std::string(topic);
}

std::string Prefix::filter(std::string_view filter) const {
  if (!active() || filter.empty()) return std::string(filter);
  constexpr std::string_view share = "$share/";
  if (filter.substr(0, share.size()) == share) {
    const auto group_end = filter.find('/', share.size());
    if (group_end == std::string_view::npos) return std::string(filter);  // invalid; let the broker say so
    return std::string(filter.substr(0, group_end + 1)) + topic(filter.substr(group_end + 1));
  }
  return topic(filter);
}

std::string Prefix::strip_topic(std::string_view topic, std::optional<TopicRewrite>* rewrite) const {
  if (!active()) return std::string(topic);
  const std::string sent = topic_prefix_ + "/";
  if (topic.size() > sent.size() && topic.substr(0, sent.size()) == sent) return std::string(topic.substr(sent.size()));
  for (const auto& r : kRewrites) {
    std::string received = sent;
    std::transform(received.begin(), received.end(), received.begin(), r.map);
    if (received == sent || topic.size() <= received.size() || topic.substr(0, received.size()) != received) continue;
    if (rewrite) *rewrite = TopicRewrite{r.rule, sent, received};
    return std::string(topic.substr(received.size()));
  }
  return std::string(topic);
}

std::string make_run_id(unsigned long long seed) {
  std::seed_seq seq{static_cast<unsigned>(seed), static_cast<unsigned>(seed >> 32),
                    static_cast<unsigned>(::getpid()),
                    static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
  std::mt19937 rng(seq);
  char buf[16];
  std::snprintf(buf, sizeof buf, "mh%06x", static_cast<unsigned>(rng() & 0xFFFFFFu));
  return buf;
}

std::optional<std::string> check_prefix_template(std::string_view text) {
  if (text.find("{n}") == std::string_view::npos)
    return "the template needs {n} (the scenario's number), so that the scenarios of one run never share "
           "client ids, sessions or retained messages";
  if (!text.empty() && text.front() == '$') return "a prefix starting with '$' would make every topic a server topic (4.7.2)";
  if (text.find_first_of("+#") != std::string_view::npos) return "a prefix cannot hold the wildcards + or # (4.7.1)";
  if (text.find('\0') != std::string_view::npos) return "a prefix cannot hold U+0000 (MQTT-1.5.3-2)";
  std::string rest = replaced(replaced(text, "{run}", ""), "{n}", "");
  if (rest.find_first_of("{}") != std::string::npos) return "unknown placeholder: the template knows {run} and {n}";
  return std::nullopt;
}

Prefix make_prefix(std::string_view template_text, std::string_view run_id, std::string_view n) {
  std::string topic = replaced(replaced(template_text, "{run}", run_id), "{n}", n);
  while (topic.size() > 1 && topic.back() == '/') topic.pop_back();
  const std::string id = lower_alnum(replaced(replaced(template_text, "{run}", run_id), "{n}", std::string(n) + "x"));
  return Prefix(std::move(topic), id);
}

std::string describe_prefix(std::string_view template_text, std::string_view run_id) {
  // A number no run reaches stands for {n}, then is shown as <n>.
  constexpr std::string_view marker = "987654321987";
  const Prefix p = make_prefix(template_text, run_id, marker);
  return "topics " + replaced(p.topic_prefix(), marker, "<n>") + "/..., client ids " + replaced(p.id_prefix(), marker, "<n>") +
         "...";
}

}  // namespace mqtth::runner
