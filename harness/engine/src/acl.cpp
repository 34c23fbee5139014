// Access control (BrokerConfig::acl): the rules that apply to a client id and user
// name, and whether they allow publishing to a topic or subscribing with a filter; deny
// filters win over allow filters (5.4.2 leaves authorization to the implementation).
#include "BrokerEngineImpl.hpp"

namespace mqtth::engine {

using namespace detail;

namespace {

// '*' matches any run of characters.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string_view> split_levels(std::string_view s) {
  std::vector<std::string_view> levels;
  std::size_t start = 0;
  while (true) {
    auto slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      levels.push_back(s.substr(start));
      return levels;
    }
    levels.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

// Does every topic that `requested` can match also match `allowed`?
bool filter_covers(std::string_view allowed, std::string_view requested) {
  if (!requested.empty() && requested[0] == '$' && !allowed.empty() && (allowed[0] == '+' || allowed[0] == '#'))
    return false;  // 4.7.2: leading wildcards never reach $-topics
  auto a = split_levels(allowed);
  auto r = split_levels(requested);
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "#") return true;
    if (i >= r.size()) return false;
    if (r[i] == "#") return false;
    if (a[i] == "+") continue;
    if (r[i] == "+" || a[i] != r[i]) return false;
  }
  return a.size() == r.size();
}

}  // namespace

std::vector<const AclRule*> BrokerEngine::Impl::applicable_rules(std::string_view client_id,
                                                                 const std::optional<std::string>& user) {
  std::vector<const AclRule*> rules;
  for (const auto& rule : config.acl) {
    if (!glob_match(rule.client_id, client_id)) continue;
    if (user ? !glob_match(rule.username, *user) : rule.username != "*") continue;
    rules.push_back(&rule);
  }
  return rules;
}

// Deny wins: a deny_publish filter matching the topic refuses it whatever allows it.
bool BrokerEngine::Impl::publish_allowed(std::string_view client_id, const std::optional<std::string>& user,
                                         std::string_view topic) {
  if (config.acl.empty()) return true;
  bool allowed = false;
  for (const AclRule* rule : applicable_rules(client_id, user)) {
    for (const auto& filter : rule->deny_publish)
      if (mqtt::topic_matches(filter, topic)) return false;
    if (!allowed)
      for (const auto& filter : rule->publish)
        if (mqtt::topic_matches(filter, topic)) allowed = true;
  }
  return allowed;
}

// Deny wins: a deny_subscribe filter covering every topic of the requested filter
// refuses it. One that covers only part of it is applied per message instead
// (may_receive), so "#" cannot be used to read what "secret/#" denies.
bool BrokerEngine::Impl::subscribe_allowed(std::string_view client_id, const std::optional<std::string>& user,
                                           std::string_view filter) {
  if (config.acl.empty()) return true;
  bool allowed = false;
  for (const AclRule* rule : applicable_rules(client_id, user)) {
    for (const auto& denied : rule->deny_subscribe)
      if (filter_covers(denied, filter)) return false;
    if (!allowed)
      for (const auto& covering : rule->subscribe)
        if (filter_covers(covering, filter)) allowed = true;
  }
  return allowed;
}

std::vector<std::string> BrokerEngine::Impl::denied_topics(std::string_view client_id,
                                                           const std::optional<std::string>& user) {
  std::vector<std::string> denied;
  if (config.acl.empty()) return denied;
  for (const AclRule* rule : applicable_rules(client_id, user))
    denied.insert(denied.end(), rule->deny_subscribe.begin(), rule->deny_subscribe.end());
  return denied;
}

}  // namespace mqtth::engine
