// TopicTree: the broker's subscription index, a trie keyed by topic levels (4.7).
//
// A filter is stored at the node reached by its levels: a literal level is a named child,
// `+` the node's single-level-wildcard child, and a final `#` puts the value in the
// node's multi-level list (so "a/#" sits at node "a" and matches "a" itself, 4.7.1.2).
// Matching a topic walks only the branches that can match: per level, the literal child
// with that name and the `+` child, and every node passed contributes its `#` list. A
// PUBLISH therefore costs O(levels x matching branches), not O(distinct filters).
//
// Topics starting with '$' are not matched by filters whose first level is `+` or `#`
// [MQTT-4.7.2-1]. Each stored value is reported at most once per match (a value lives at
// exactly one node, and one topic reaches a node by one path only).
//
// Internal to harness/engine (the engine and its tests); no Qt, no I/O. Values are small
// handles (pointers); the tree does not own what they point to.
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mqtth::engine::detail {

template <class Value>
class TopicTree {
 public:
  // Adds `value` under `filter` (a valid filter: `#` only as the last level). The same
  // value may be added under several filters; adding it twice under one filter stores it
  // twice.
  void insert(std::string_view filter, Value value) {
    Node* node = &root_;
    std::string_view rest = filter;
    while (true) {
      auto slash = rest.find('/');
      std::string_view level = rest.substr(0, slash);
      if (level == "#") {
        node->multi.push_back(value);
        ++size_;
        return;
      }
      node = child_for_insert(*node, level);
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
    node->values.push_back(value);
    ++size_;
  }

  // Removes one copy of `value` stored under `filter` and prunes the nodes left empty.
  // False when it was not there.
  bool erase(std::string_view filter, const Value& value) {
    bool erased = erase_below(root_, filter, value);
    if (erased) --size_;
    return erased;
  }

  // Calls on_match(value) for every value whose filter matches `topic` (a valid topic
  // name: no wildcards, at least one character).
  template <class F>
  void match(std::string_view topic, F&& on_match) const {
    const bool dollar = !topic.empty() && topic[0] == '$';
    match_below(root_, topic, /*at_root=*/true, dollar, on_match);
  }

  // A copy of the tree with every value replaced by map(value): same nodes, and the same
  // order of values within a node, so a match reports the mapped values in the order
  // this tree reports the originals (for BrokerEngine::clone).
  template <class F>
  TopicTree mapped_copy(F&& map) const {
    TopicTree copy;
    copy_below(root_, copy.root_, map);
    copy.size_ = size_;
    return copy;
  }

  std::size_t size() const { return size_; }  // values stored
  bool empty() const { return size_ == 0; }

 private:
  struct Node {
    std::map<std::string, std::unique_ptr<Node>, std::less<>> children;  // literal levels
    std::unique_ptr<Node> plus;  // `+`
    std::vector<Value> values;   // filters ending at this node
    std::vector<Value> multi;    // filters ending in `/#` after this node (`#` at the root)
    bool unused() const { return children.empty() && !plus && values.empty() && multi.empty(); }
  };

  static Node* child_for_insert(Node& node, std::string_view level) {
    if (level == "+") {
      if (!node.plus) node.plus = std::make_unique<Node>();
      return node.plus.get();
    }
    auto it = node.children.find(level);
    if (it == node.children.end()) it = node.children.emplace(std::string(level), std::make_unique<Node>()).first;
    return it->second.get();
  }

  template <class F>
  static void copy_below(const Node& from, Node& to, F& map) {
    for (const auto& [name, child] : from.children)
      copy_below(*child, *to.children.emplace_hint(to.children.end(), name, std::make_unique<Node>())->second, map);
    if (from.plus) {
      to.plus = std::make_unique<Node>();
      copy_below(*from.plus, *to.plus, map);
    }
    to.values.reserve(from.values.size());
    for (const Value& v : from.values) to.values.push_back(map(v));
    to.multi.reserve(from.multi.size());
    for (const Value& v : from.multi) to.multi.push_back(map(v));
  }

  static bool remove_one(std::vector<Value>& list, const Value& value) {
    auto it = std::find(list.begin(), list.end(), value);
    if (it == list.end()) return false;
    list.erase(it);
    return true;
  }

  // `rest` is the part of the filter below `node` (never empty for a valid filter).
  static bool erase_below(Node& node, std::string_view rest, const Value& value) {
    auto slash = rest.find('/');
    std::string_view level = rest.substr(0, slash);
    if (level == "#") return remove_one(node.multi, value);
    std::string_view below = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    const bool last = slash == std::string_view::npos;
    if (level == "+") {
      if (!node.plus) return false;
      bool erased = last ? remove_one(node.plus->values, value) : erase_below(*node.plus, below, value);
      if (erased && node.plus->unused()) node.plus.reset();
      return erased;
    }
    auto it = node.children.find(level);
    if (it == node.children.end()) return false;
    Node& child = *it->second;
    bool erased = last ? remove_one(child.values, value) : erase_below(child, below, value);
    if (erased && child.unused()) node.children.erase(it);
    return erased;
  }

  // `rest`: the topic levels not consumed yet, starting with the level to match at `node`.
  template <class F>
  static void match_below(const Node& node, std::string_view rest, bool at_root, bool dollar, F& on_match) {
    // `#` also matches the parent level ("a/#" matches "a"), so every node reached with
    // levels left or not contributes its multi-level list.
    if (!(at_root && dollar))
      for (const Value& v : node.multi) on_match(v);
    auto slash = rest.find('/');
    std::string_view level = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    std::string_view below = last ? std::string_view() : rest.substr(slash + 1);
    if (auto it = node.children.find(level); it != node.children.end()) step(*it->second, below, last, on_match);
    if (node.plus && !(at_root && dollar)) step(*node.plus, below, last, on_match);
  }

  template <class F>
  static void step(const Node& child, std::string_view below, bool last, F& on_match) {
    if (last) {
      for (const Value& v : child.multi) on_match(v);  // "a/#" matches "a"
      for (const Value& v : child.values) on_match(v);
    } else {
      match_below(child, below, /*at_root=*/false, false, on_match);
    }
  }

  Node root_;
  std::size_t size_ = 0;
};

}  // namespace mqtth::engine::detail
