// The retained-message store: a retained PUBLISH (or will) stores, replaces or clears
// its topic's message; a new subscription gets the matching ones (Retain Handling).
#include "BrokerEngineImpl.hpp"

namespace mqtth::engine {

using namespace detail;

// Stores or clears the topic's retained message [MQTT-3.3.1-5..7]. False when the
// store is full (max_retained_messages) and the message was not kept.
bool BrokerEngine::Impl::store_retained(const MessagePtr& message, Clock now) {
  if (!retained_would_keep(*message, now)) return false;
  if (!config.retain_available) return true;
  if (deviates(Deviation::retain_ignored, message->origin_version)) return true;
  if (message->qos == 0 && deviates(Deviation::retained_qos0_not_stored, message->origin_version)) return true;
  if (message->payload.empty() && !deviates(Deviation::empty_retained_stored, message->origin_version)) {
    if (!deviates(Deviation::empty_retained_kept, message->origin_version)) retained.erase(message->topic);
    return true;
  }
  retained.insert_or_assign(message->topic, message);
  return true;
}

// A full store first drops what has expired [MQTT-3.3.2-5]: otherwise expired messages
// would hold their places until a SUBSCRIBE happened to sweep them (deliver_retained).
bool BrokerEngine::Impl::retained_would_keep(const Message& message, Clock now) {
  if (!config.retain_available || message.payload.empty()) return true;
  if (retained.size() < config.max_retained_messages || retained.find(message.topic) != retained.end()) return true;
  stats.messages_expired += std::erase_if(retained, [now](const auto& entry) { return expired(*entry.second, now); });
  return retained.size() < config.max_retained_messages;
}

void BrokerEngine::Impl::deliver_retained(Session& s, const std::string& filter, Clock now) {
  auto sub = s.subscriptions.find(filter);
  if (sub == s.subscriptions.end()) return;
  for (auto it = retained.begin(); it != retained.end();) {
    const MessagePtr& message = it->second;
    if (expired(*message, now)) {  // [MQTT-3.3.2-5]
      ++stats.messages_expired;
      it = retained.erase(it);
      continue;
    }
    if (mqtt::topic_matches(filter, message->topic) && may_receive(s, message->topic)) {
      Delivery d;
      d.message = message;
      d.qos = std::min(message->qos, sub->second.options.qos);
      // A retained message sent on subscription keeps RETAIN 1 (3.3.1.3; 3.1.1: MQTT-3.3.1-8).
      d.retain = !deviates(Deviation::retained_on_subscribe_without_retain, s.version);
      d.origin = Origin::retained;
      if (sub->second.identifier) d.subscription_ids.push_back(sub->second.identifier);
      enqueue(s, std::move(d), now);
    }
    ++it;
  }
}

}  // namespace mqtth::engine
