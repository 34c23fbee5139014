// Access control (BrokerConfig::acl): the rules that apply to a client id and user
// name, and whether they allow publishing to a topic or subscribing with a filter.
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

bool BrokerEngine::Impl::publish_allowed(std::string_view client_id, const std::optional<std::string>& user,
                                         std::string_view topic) {
  if (config.acl.empty()) return true;
  for (const AclRule* rule : applicable_rules(client_id, user))
    for (const auto& filter : rule->publish)
      if (mqtt::topic_matches(filter, topic)) return true;
  return false;
}

bool BrokerEngine::Impl::subscribe_allowed(std::string_view client_id, const std::optional<std::string>& user,
                                           std::string_view filter) {
  if (config.acl.empty()) return true;
  for (const AclRule* rule : applicable_rules(client_id, user))
    for (const auto& allowed : rule->subscribe)
      if (filter_covers(allowed, filter)) return true;
  return false;
}

}  // namespace mqtth::engine
