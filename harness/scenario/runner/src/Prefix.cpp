#include "mqtth/runner/Prefix.hpp"

#include <chrono>
#include <cstdio>
#include <random>

#include <unistd.h>

namespace mqtth::runner {

std::string Prefix::client_id(std::string_view id) const {
  if (!active() || id.empty()) return std::string(id);
  return prefix_ + "-" + std::string(id);
}

std::string Prefix::topic(std::string_view topic) const {
  if (!active() || topic.empty() || topic.front() == '$') return std::string(topic);
  return prefix_ + "/" + std::string(topic);
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

std::string Prefix::strip_topic(std::string_view topic) const {
  if (active() && topic.size() > prefix_.size() && topic.substr(0, prefix_.size()) == prefix_ &&
      topic[prefix_.size()] == '/')
    return std::string(topic.substr(prefix_.size() + 1));
  return std::string(topic);
}

std::string Prefix::strip_client_id(std::string_view id) const {
  if (active() && id.size() > prefix_.size() && id.substr(0, prefix_.size()) == prefix_ &&
      id[prefix_.size()] == '-')
    return std::string(id.substr(prefix_.size() + 1));
  return std::string(id);
}

std::string make_run_prefix(unsigned long long seed) {
  std::seed_seq seq{static_cast<unsigned>(seed), static_cast<unsigned>(seed >> 32),
                    static_cast<unsigned>(::getpid()),
                    static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
  std::mt19937 rng(seq);
  char buf[16];
  std::snprintf(buf, sizeof buf, "mh%06x", static_cast<unsigned>(rng() & 0xFFFFFFu));
  return buf;
}

std::string scenario_prefix(const std::string& run_prefix, std::size_t index) {
  return run_prefix + "." + std::to_string(index);
}

}  // namespace mqtth::runner
