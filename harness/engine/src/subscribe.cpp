// SUBSCRIBE and UNSUBSCRIBE: per filter, shared subscriptions ("$share/group/filter"),
// the features and limits that refuse one, the ACL, the granted QoS and SUBACK/UNSUBACK;
// the filter index (`filters` and the topic tree) that routing matches against.
#include "BrokerEngineImpl.hpp"

namespace mqtth::engine {

using namespace detail;

namespace {

bool has_wildcard(std::string_view filter) { return filter.find_first_of("+#") != std::string_view::npos; }

}  // namespace

bool BrokerEngine::Impl::handle(Connection& conn, const mqtt::SubscribeView& sub, Clock now) {
  Session& s = *conn.session;
  const bool v5 = is_v5(conn.version);
  std::uint32_t identifier = 0;
  if (v5) {
    if (auto id = sub.properties.find(PropertyId::subscription_identifier)) {
      if (!config.subscription_identifiers_available) {
        close_for_violation(conn, reason::subscription_identifiers_not_supported,
                            "subscription identifiers are not supported", "", now);
        return false;
      }
      identifier = id->number;
      if (identifier == 0) {
        close_for_violation(conn, reason::protocol_error, "subscription identifier 0", "", now);
        return false;
      }
    }
  }
  // Built in place as the packet variant, a view: its reason codes are not copied to be
  // encoded, and go back to scratch_reason_codes afterwards.
  mqtt::PacketView packet(std::in_place_type<mqtt::SubackView>);
  auto& ack = std::get<mqtt::SubackView>(packet);
  ack.packet_id = sub.packet_id;  // [MQTT-3.8.4-2]
  if (deviates(Deviation::suback_wrong_packet_id, conn.version)) ack.packet_id = wrong_packet_id(sub.packet_id);
  ack.reason_codes = std::move(scratch_reason_codes);
  ack.reason_codes.clear();
  struct RetainedWork {
    std::string filter;
    std::uint8_t qos;
  };
  std::vector<RetainedWork> retained_work;
  for (const auto& entry : sub.subscriptions) {  // one reason code per filter, in order [MQTT-3.9.3-1]
    std::string_view filter = entry.filter;
    // Shared subscriptions are a 5.0 feature (4.8.2); like mosquitto 2.0, the broker also
    // honours "$share/group/filter" from 3.1/3.1.1 clients (3.1.1 gives "$" topics to the
    // server, 4.7.2), so one group can mix protocol versions.
    std::optional<mqtt::SharedFilter> shared = mqtt::parse_shared_filter(filter);
    std::string_view match_filter = shared ? shared->filter : filter;
    if (shared && entry.options.no_local) {
      close_for_violation(conn, reason::protocol_error, "No Local on a shared subscription", "MQTT-3.8.3-4", now);
      return false;
    }
    std::uint8_t code;
    bool is_new = s.subscriptions.find(filter) == s.subscriptions.end();
    if (shared && !config.shared_subscription_available) {
      code = v5 ? refusal(reason::shared_subscriptions_not_supported) : 0x80;
    } else if (has_wildcard(match_filter) && !config.wildcard_subscription_available) {
      code = v5 ? refusal(reason::wildcard_subscriptions_not_supported) : 0x80;
    } else if (!subscribe_allowed(s.client_id, conn.username, match_filter)) {
      code = v5 ? refusal(reason::not_authorized) : 0x80;
    } else if (is_new && s.subscriptions.size() >= config.max_subscriptions_per_client) {
      code = v5 ? refusal(reason::quota_exceeded) : 0x80;
    } else {
      // The server may grant less than asked (3.8.4 / 3.9.3): never above Maximum QoS,
      // nor above behaviour.grant_qos_at_most; delivery follows the grant [MQTT-3.8.4-8].
      std::uint8_t granted = std::min({entry.options.qos, config.maximum_qos, config.behaviour.grant_qos_at_most});
      Subscription subscription;
      subscription.options = entry.options;
      subscription.options.qos = granted;
      if (!v5) subscription.options = mqtt::SubscriptionOptions{granted, false, false, 0};
      subscription.identifier = identifier;
      auto stored = s.subscriptions.find(filter);
      if (stored == s.subscriptions.end())
        stored = s.subscriptions.emplace(std::string(filter), subscription).first;
      else
        stored->second = subscription;  // replaces [MQTT-3.8.4-3]
      const std::string& key = stored->first;
      if (is_new) index_subscription(key, match_filter, shared.has_value(), &s, &stored->second);
      code = granted;
      // Retained messages: not for shared subscriptions (4.8.2); Retain Handling 0
      // always, 1 only for a new subscription, 2 never [MQTT-3.3.1-9..11]. With none
      // stored there is nothing to deliver (SUBSCRIBE stores none).
      std::uint8_t handling = subscription.options.retain_handling;
      const Version v = conn.version;
      const bool withheld = handling == 0 && deviates(Deviation::retained_not_sent_on_subscribe, v);
      const bool wanted = handling == 0 || (handling == 1 && (is_new || deviates(Deviation::retain_handling_1_resends, v))) ||
                          (handling == 2 && deviates(Deviation::retain_handling_2_sends, v));
      if (!shared && !retained.empty() && wanted && !withheld)
        retained_work.push_back({key, granted});
    }
    ack.reason_codes.push_back(code);
  }
  if (deviates(Deviation::suback_codes_reversed, conn.version))
    std::reverse(ack.reason_codes.begin(), ack.reason_codes.end());  // breaks [MQTT-3.9.3-1]
  if (deviates(Deviation::suback_first_code_only, conn.version))  // breaks a code per filter (3.8.4)
    ack.reason_codes.resize(1);
  if (!deviates(Deviation::suback_not_sent, conn.version)) emit(conn, packet);  // [MQTT-3.8.4-1]
  scratch_reason_codes = std::move(ack.reason_codes);
  for (const auto& work : retained_work) deliver_retained(s, work.filter, now);
  return true;
}

bool BrokerEngine::Impl::handle(Connection& conn, const mqtt::UnsubscribeView& unsub, Clock) {
  Session& s = *conn.session;
  mqtt::PacketView packet(std::in_place_type<mqtt::UnsubackView>);  // as SUBACK
  auto& ack = std::get<mqtt::UnsubackView>(packet);
  ack.packet_id = unsub.packet_id;  // [MQTT-3.10.4-5]
  if (deviates(Deviation::unsuback_wrong_packet_id, conn.version)) ack.packet_id = wrong_packet_id(unsub.packet_id);
  bool removed_any = false;
  ack.reason_codes = std::move(scratch_reason_codes);
  ack.reason_codes.clear();
  for (std::string_view filter : unsub.filters) {
    auto it = s.subscriptions.find(filter);  // exact comparison [MQTT-3.10.4-1]
    if (it == s.subscriptions.end() && deviates(Deviation::unsubscribe_matches_loosely, conn.version))
      it = std::find_if(s.subscriptions.begin(), s.subscriptions.end(),
                        [&](const auto& entry) { return mqtt::topic_matches(entry.first, filter); });
    if (it == s.subscriptions.end()) {
      ack.reason_codes.push_back(reason::no_subscription_existed);
      continue;
    }
    if (!deviates(Deviation::unsubscribe_keeps_subscription, conn.version)) {
      unindex_subscription(it->first, &s);
      s.subscriptions.erase(it);
    }
    removed_any = true;
    ack.reason_codes.push_back(reason::success);
  }
  if (!removed_any && deviates(Deviation::unsuback_only_when_removed, conn.version)) {
    scratch_reason_codes = std::move(ack.reason_codes);
    return true;
  }
  if (!is_v5(conn.version)) ack.reason_codes.clear();  // 3.1.1 UNSUBACK has no payload
  if (deviates(Deviation::unsuback_codes_reversed, conn.version))
    std::reverse(ack.reason_codes.begin(), ack.reason_codes.end());  // breaks [MQTT-3.11.3-1]
  emit(conn, packet);  // [MQTT-3.10.4-4]
  scratch_reason_codes = std::move(ack.reason_codes);
  return true;
}

void BrokerEngine::Impl::index_subscription(const std::string& key, std::string_view match_filter, bool shared,
                                            Session* s, const Subscription* subscription) {
  auto [it, inserted] = filters.try_emplace(key);
  if (inserted) {
    it->second.match_filter = std::string(match_filter);
    it->second.shared = shared;
    filter_tree.insert(it->second.match_filter, &it->second);
  }
  it->second.members.push_back(Member{s, subscription});
}

void BrokerEngine::Impl::unindex_subscription(std::string_view key, Session* s) {
  auto it = filters.find(key);
  if (it == filters.end()) return;
  auto& members = it->second.members;
  members.erase(std::remove_if(members.begin(), members.end(), [&](const Member& m) { return m.session == s; }),
                members.end());
  if (members.empty()) {
    filter_tree.erase(it->second.match_filter, &it->second);
    filters.erase(it);
  }
}

}  // namespace mqtth::engine
