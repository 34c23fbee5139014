// Routing and delivery: a received message goes to every session with a matching
// subscription (one member of each shared group), through the misbehave modes, into the
// session's in-flight window or queue, and out as a PUBLISH on its connection, with the
// Message Expiry left, the subscription identifiers and an outbound topic alias.
#include "BrokerEngineImpl.hpp"

namespace mqtth::engine {

using namespace detail;

namespace {

struct AliasChoice {
  std::uint16_t alias = 0;  // 0: send the topic without an alias
  bool known = false;       // the client already maps this alias to this topic
};

// The alias for `topic` on this connection: the one already mapped to it, else the
// next unused one, else the least recently used one (re-mapped, 3.3.2.3.4). Never above
// the client's Topic Alias Maximum [MQTT-3.3.2-11], never 0 [MQTT-3.3.2-8].
AliasChoice choose_outbound_alias(Connection& conn, std::string_view topic) {
  if (!conn.outbound_aliases) conn.outbound_aliases.reset(new OutboundAliases());
  OutboundAliases& a = *conn.outbound_aliases;
  if (auto it = a.by_topic.find(topic); it != a.by_topic.end()) return {it->second, true};
  if (a.topics.size() < conn.outbound_alias_maximum) return {static_cast<std::uint16_t>(a.topics.size() + 1), false};
  auto oldest = std::min_element(a.last_used.begin(), a.last_used.end());
  return {static_cast<std::uint16_t>(oldest - a.last_used.begin() + 1), false};
}

void commit_outbound_alias(Connection& conn, std::string_view topic, AliasChoice choice) {
  OutboundAliases& a = *conn.outbound_aliases;
  std::size_t index = choice.alias - 1u;
  if (!choice.known) {
    if (index == a.topics.size()) {
      a.topics.emplace_back(topic);
      a.last_used.push_back(0);
    } else {
      a.by_topic.erase(a.topics[index]);
      a.topics[index] = std::string(topic);
    }
    a.by_topic.emplace(a.topics[index], choice.alias);
  }
  a.last_used[index] = ++a.uses;
}

}  // namespace

// Hands a received message to every session with a matching subscription
// [MQTT-4.5.0-1]. Returns the number of sessions it went to.
std::size_t BrokerEngine::Impl::route(const MessagePtr& message, Clock now) {
  ++route_stamp;
  auto& targets = scratch_targets;
  targets.clear();
  std::size_t count = 0;
  // Only the filters that match, from the topic tree [MQTT-4.7.2-1 applied there].
  std::vector<FilterEntry*> matches = std::move(scratch_matches);
  matches.clear();
  filter_tree.match(message->topic, [&](FilterEntry* e) { matches.push_back(e); });
  const std::size_t lawful_matches = matches.size();
  if (message->topic.starts_with('$') && config.deviate.any(Deviation::wildcards_match_dollar_topics)) {
    // Deviation: "#" and "+/..." match the topic as if it did not start with '$'.
    std::string undollared = message->topic;
    undollared[0] = '_';
    filter_tree.match(undollared, [&](FilterEntry* e) {
      if (!e->shared && (e->match_filter.starts_with('#') || e->match_filter.starts_with('+'))) matches.push_back(e);
    });
  }
  for (std::size_t m = 0; m < matches.size(); ++m) {
    FilterEntry& entry = *matches[m];
    const bool deviant_match = m >= lawful_matches;
    if (entry.members.empty()) continue;
    if (entry.shared) {
      // One member of the group gets it, round robin, preferring connected members;
      // members the ACL keeps from this topic are passed over.
      std::size_t n = entry.members.size();
      const Member* chosen_member = nullptr;
      const Member* offline_member = nullptr;
      std::size_t offline_next = 0;
      for (std::size_t i = 0; i < n && !chosen_member; ++i) {
        const Member& candidate = entry.members[(entry.next + i) % n];
        if (!may_receive(*candidate.session, message->topic)) continue;
        if (candidate.session->connection) {
          chosen_member = &candidate;
          entry.next = (entry.next + i + 1) % n;
        } else if (!offline_member) {
          offline_member = &candidate;
          offline_next = (entry.next + i + 1) % n;
        }
      }
      if (!chosen_member && offline_member) {
        chosen_member = offline_member;
        entry.next = offline_next;
      }
      if (!chosen_member) continue;
      Session* chosen = chosen_member->session;
      const Subscription& sub = *chosen_member->subscription;
      Delivery d;
      d.message = message;
      d.qos = std::min(message->qos, sub.options.qos);  // [MQTT-4.8.2-3]
      d.retain = is_v5(chosen->version) && sub.options.retain_as_published && message->retain;
      d.origin = Origin::shared;
      if (sub.identifier) d.subscription_ids.push_back(sub.identifier);
      enqueue(*chosen, std::move(d), now, /*allow_misbehave=*/true);
      ++count;
      continue;
    }
    for (const Member& member : entry.members) {
      Session* s = member.session;
      const Subscription& sub = *member.subscription;
      if (deviant_match && !deviates(Deviation::wildcards_match_dollar_topics, s->version)) continue;
      if (sub.options.no_local && s->client_id == message->origin_client_id &&
          !deviates(Deviation::no_local_ignored, s->version))
        continue;  // [MQTT-3.8.3-3]
      if (!may_receive(*s, message->topic)) continue;  // ACL deny_subscribe
      if (config.behaviour.overlapping_subscriptions == OverlappingDelivery::copy_per_subscription) {
        // One copy per matching subscription, each at its own QoS with its own
        // identifier [MQTT-3.3.4-2, -5] (3.1.1: MQTT-3.3.5-1).
        if (s->route_stamp != route_stamp) {
          s->route_stamp = route_stamp;
          s->route_index = 0;  // here: copies made so far for this session
        }
        Target t{s, sub.options.qos, sub.options.retain_as_published, {}, static_cast<std::uint32_t>(s->route_index++)};
        if (sub.identifier) t.subscription_ids.push_back(sub.identifier);
        targets.push_back(std::move(t));
        continue;
      }
      if (s->route_stamp != route_stamp) {
        s->route_stamp = route_stamp;
        s->route_index = targets.size();
        targets.push_back(Target{s, sub.options.qos, false, {}});
      }
      Target& t = targets[s->route_index];
      // Overlapping subscriptions: one copy, highest QoS, every identifier [MQTT-3.3.4-2, -4].
      t.qos = deviates(Deviation::overlap_lowest_qos, s->version) ? std::min(t.qos, sub.options.qos)
                                                                   : std::max(t.qos, sub.options.qos);
      t.retain_as_published = t.retain_as_published || sub.options.retain_as_published;
      if (sub.identifier) t.subscription_ids.push_back(sub.identifier);
    }
  }
  for (auto& t : targets) {
    // Deviation: the message reaches the first matching session only (breaks 4.5.0-1).
    if (count > 0 && deviates(Deviation::one_subscriber_only, t.session->version)) break;
    Delivery d;
    d.message = message;
    const Version v = t.session->version;
    d.qos = deviates(Deviation::delivery_above_granted, v) ? message->qos : std::min(message->qos, t.qos);  // [MQTT-3.8.4-8]
    // 3.1.1: RETAIN 0 on forwarded messages (3.1.1: MQTT-3.3.1-9); 5.0: per Retain As
    // Published [MQTT-3.3.1-12, -13].
    d.retain = (is_v5(v) && t.retain_as_published && message->retain &&
                !deviates(Deviation::retain_as_published_ignored, v)) ||
               (message->retain && deviates(Deviation::live_forward_keeps_retain, v));
    d.subscription_ids = std::move(t.subscription_ids);
    d.copy = t.copy;
    enqueue(*t.session, std::move(d), now, /*allow_misbehave=*/true);
    ++count;
  }
  targets.clear();
  scratch_matches = std::move(matches);
  return count;
}

void BrokerEngine::Impl::enqueue(Session& s, Delivery d, Clock now, bool allow_misbehave) {
  if (allow_misbehave && deviates(Deviation::messages_reordered, s.version)) {
    // Deviation: of two successive messages on one topic the second goes out first
    // (breaks the per-topic order of 4.6.0); a held message waits for the next one.
    if (s.held && s.held->message->topic == d.message->topic) {
      Delivery held = std::move(*s.held);
      s.held.reset();
      enqueue(s, std::move(d), now);
      enqueue(s, std::move(held), now);
      return;
    }
    if (!s.held) {
      s.held = std::move(d);
      return;
    }
  }
  if (allow_misbehave && config.misbehave != Misbehave::none) {
    switch (config.misbehave) {
      case Misbehave::drop_qos1:
        if (d.qos == 1 && misbehave_now()) {
          ++stats.misbehaviours;
          return;
        }
        break;
      case Misbehave::drop_qos0:
        if (d.qos == 0 && misbehave_now()) {
          ++stats.misbehaviours;
          return;
        }
        break;
      case Misbehave::dup_qos2:
        if (d.qos == 2 && misbehave_now()) {
          ++stats.misbehaviours;
          Delivery copy = d;
          copy.origin = Origin::misbehave_copy;
          enqueue(s, std::move(d), now);
          enqueue(s, std::move(copy), now);
          return;
        }
        break;
      case Misbehave::reorder:
        if (s.held && s.held->message->topic == d.message->topic) {
          Delivery held = std::move(*s.held);
          s.held.reset();
          enqueue(s, std::move(d), now);
          enqueue(s, std::move(held), now);
          return;
        }
        if (!s.held && misbehave_now()) {
          ++stats.misbehaviours;
          s.held = std::move(d);
          return;
        }
        break;
      case Misbehave::none:
        break;
    }
  }
  Connection* conn = s.connection;
  if (!conn && deviates(Deviation::offline_messages_dropped, s.version)) return;  // breaks 3.1.1 MQTT-3.1.2-5
  if (d.qos == 0 && (conn || !config.behaviour.queue_qos0_offline)) {
    if (conn) send_publish(*conn, s, d, 0, false, now);  // QoS 0 is queued offline only on request
    return;
  }
  if (conn && s.queue.empty() && sent_count(s) < window(s) && s.inflight.size() < config.max_inflight) {
    start_inflight(s, *conn, std::move(d), now);
    return;
  }
  if (s.queue.size() >= config.max_queued_messages) {
    ++stats.messages_dropped_queue_full;
    return;
  }
  s.queue.push_back(std::move(d));
}

std::optional<std::uint16_t> BrokerEngine::Impl::allocate_packet_id(Session& s) {
  for (std::uint32_t tries = 0; tries < 65535; ++tries) {
    std::uint16_t id = s.next_packet_id;
    s.next_packet_id = static_cast<std::uint16_t>(id == 65535 ? 1 : id + 1);
    if (!find_inflight(s, id)) return id;  // unused, non-zero [MQTT-2.2.1-4]
  }
  return std::nullopt;
}

void BrokerEngine::Impl::start_inflight(Session& s, Connection& conn, Delivery d, Clock now) {
  if (expired(d, now) && !deviates(Deviation::message_expiry_ignored, conn.version)) {  // [MQTT-3.3.2-5]
    ++stats.messages_expired;
    return;
  }
  auto id = allocate_packet_id(s);
  if (!id) {
    if (s.queue.size() < config.max_queued_messages) s.queue.push_front(std::move(d));
    return;
  }
  if (!send_publish(conn, s, d, *id, false, now)) return;  // too large: as if delivered [MQTT-3.1.2-25]
  s.inflight.push_back(Inflight{std::move(d), *id, false, true});
}

// Resends what is in flight, then moves queued messages into the window.
void BrokerEngine::Impl::pump(Session& s, Clock now) {
  Connection* conn = s.connection;
  if (!conn) return;
  std::size_t w = window(s);
  std::size_t sent = sent_count(s);
  for (std::size_t i = 0; i < s.inflight.size() && sent < w;) {
    Inflight& e = s.inflight[i];
    if (e.sent) {
      ++i;
      continue;
    }
    e.sent = true;
    ++sent;
    if (e.released) {
      if (!deviates(Deviation::pubrel_not_resent, conn->version))
        send_ack<mqtt::Pubrel>(*conn, e.packet_id, 0);  // [MQTT-4.4.0-1]
      ++i;
    } else if (!send_publish(*conn, s, e.delivery, e.packet_id, !deviates(Deviation::resend_without_dup, conn->version),
                             now)) {  // DUP 1 [MQTT-3.3.1-1]
      s.inflight.erase(s.inflight.begin() + static_cast<std::ptrdiff_t>(i));
      --sent;
    } else {
      ++i;
    }
  }
  while (!s.queue.empty() && s.connection) {
    if (s.queue.front().qos == 0) {  // queued while offline (queue_qos0_offline): no window
      Delivery d = std::move(s.queue.front());
      s.queue.pop_front();
      send_publish(*conn, s, d, 0, false, now);
      continue;
    }
    if (sent_count(s) >= w || s.inflight.size() >= config.max_inflight) break;
    Delivery d = std::move(s.queue.front());
    s.queue.pop_front();
    start_inflight(s, *conn, std::move(d), now);
  }
}

// Encodes one PUBLISH of a shared message for this connection, without copying topic
// or payload. False when not sent (expired or above the client's Maximum Packet Size).
bool BrokerEngine::Impl::send_publish(Connection& conn, Session& s, const Delivery& d, std::uint16_t packet_id,
                                      bool dup, Clock now) {
  const Message& m = *d.message;
  if (!dup && expired(d, now) && !deviates(Deviation::message_expiry_ignored, conn.version)) {
    ++stats.messages_expired;
    return false;
  }
  mqtt::PublishView p;
  p.dup = dup && d.qos > 0;  // [MQTT-3.3.1-2]
  p.qos = d.qos;
  p.retain = d.retain;
  p.topic = m.topic;
  p.packet_id = d.qos > 0 ? packet_id : 0;
  p.payload = m.payload;
  AliasChoice alias;
  if (is_v5(conn.version)) {
    if (conn.outbound_alias_maximum > 0) alias = choose_outbound_alias(conn, m.topic);
    if (alias.alias != 0 && alias.known) p.topic = {};  // the alias stands for the topic (3.3.2.3.4)
    if (!m.expires_at && d.subscription_ids.empty() && alias.alias == 0) {
      p.properties = mqtt::PropertiesView(m.properties);
    } else {
      std::string& raw = scratch_properties;
      raw.clear();
      if (m.expires_at) {  // what is left of the interval [MQTT-3.3.2-6]
        Clock left_ms = *m.expires_at > now ? *m.expires_at - now : 0;
        mqtt::append_property(raw, {.id = PropertyId::message_expiry_interval,
                                    .number = static_cast<std::uint32_t>(std::min<Clock>((left_ms + 999) / 1000, 0xFFFFFFFF))});
      }
      raw += m.properties;
      const bool withhold_ids = deviates(Deviation::subscription_ids_not_sent, conn.version);
      for (std::uint32_t id : d.subscription_ids) {  // [MQTT-3.3.4-3]
        if (withhold_ids) break;
        mqtt::append_property(raw, {.id = PropertyId::subscription_identifier, .number = id});
      }
      if (alias.alias != 0) {
        mqtt::append_property(raw, {.id = PropertyId::topic_alias, .number = alias.alias});
      }
      p.properties = mqtt::PropertiesView(raw);
    }
  }
  if (!emit(conn, mqtt::PacketView(p))) {
    ++stats.messages_dropped_too_large;
    return false;
  }
  // Only a PUBLISH actually sent establishes or refreshes a mapping.
  if (alias.alias != 0) commit_outbound_alias(conn, m.topic, alias);
  ++stats.publishes_sent;
  if (d.qos == 2 && !dup && config.track_deliveries && d.origin == Origin::live) {
    // Each copy_per_subscription copy counts once: seq below bit 48, the copy above.
    if (!s.delivered_qos2.insert(m.seq | (std::uint64_t{d.copy} << 48)).second) ++qos2_duplicates;
  }
  return true;
}

}  // namespace mqtth::engine
