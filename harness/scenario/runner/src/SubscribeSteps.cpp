// Subscribe steps: subscribe, unsubscribe; what their SUBACK/UNSUBACK tell the QoS ledger.
#include "Execution.hpp"

#include "ExecutionText.hpp"

namespace mqtth::runner {

namespace ev = client::event;

namespace {

// The SUBACK/UNSUBACK a subscribe/unsubscribe step waited for is its answer, not a packet
// the broker sent on its own (expect_no_packet).
void mark_answered(ClientState& c, mqtt::PacketType type, std::uint16_t packet_id) {
  for (auto& r : c.received)
    if (r.type == type && !r.answered && r.match.value("packet_id", -1) == packet_id) {
      r.answered = true;
      return;
    }
}

}  // namespace

mqtt::Subscription Execution::wireSubscription(const scenario::SubscriptionSpec& sub) const {
  mqtt::Subscription w;
  w.filter = context_.prefix.filter(sub.filter);
  w.options.qos = sub.qos;
  w.options.no_local = sub.no_local;
  w.options.retain_as_published = sub.retain_as_published;
  w.options.retain_handling = sub.retain_handling;
  return w;
}

void Execution::doSubscribe(Client& c, const scenario::SubscribeStep& s) {
  if (!c.conn) {
    fail("client " + c.name + " is not connected (add a connect step before subscribe)", {}, {}, Check::scenario_problem);
    return;
  }
  client::SubscribeRequest req;
  for (const auto& sub : s.subscriptions) req.subscriptions.push_back(wireSubscription(sub));
  req.subscription_identifier = s.subscription_identifier;
  auto props = stepProperties(c, s.properties);
  if (!props) return;
  req.properties = std::move(*props);
  client::CommandResult r;
  {
    const FixedPacketId fixed(*c.conn, s.packet_id);
    r = c.conn->subscribe(std::move(req));
  }
  if (!r.ok()) {
    fail("cannot send SUBSCRIBE: " + std::string(client::to_string(r.error)), {}, {}, Check::harness);
    return;
  }
  c.subacks.erase(r.packet_id);
  c.pending_subscribes[r.packet_id] = {s.subscriptions};
  if (!s.wait) {
    completeStep();
    return;
  }
  Client* cp = &c;
  const auto pid = r.packet_id;
  const auto* step = &s;
  wait(
      [this, cp, pid, step]() -> std::optional<bool> {
        auto it = cp->subacks.find(pid);
        if (it == cp->subacks.end()) return std::nullopt;
        const auto& codes = it->second;
        const auto& subs = step->subscriptions;
        if (step->expect_reason_codes) {
          if (!suback_codes_match(codes, *step->expect_reason_codes)) {
            const auto want = suback_codes_text(*step->expect_reason_codes);
            fail("SUBACK reason codes " + codes_text(codes) + ", expected " + want, want, codes_text(codes),
                 suback_mismatch_check(codes, *step->expect_reason_codes));
            return std::nullopt;
          }
          mark_answered(*cp, mqtt::PacketType::suback, pid);
          return true;
        }
        bool ok = codes.size() == subs.size();
        for (auto code : codes) ok = ok && code <= 2;
        if (!ok) {
          fail("SUBACK reason codes " + codes_text(codes) + ", expected a granted QoS (0x00..0x02) for each of " +
                   std::to_string(subs.size()) + " filter(s)",
               "granted QoS per filter", codes_text(codes),
               codes.size() != subs.size() ? Check::suback_count : Check::subscription_refused);
          return std::nullopt;
        }
        mark_answered(*cp, mqtt::PacketType::suback, pid);
        for (std::size_t i = 0; i < subs.size(); ++i) {
          if (codes[i] >= subs[i].qos) continue;
          // A lower grant is the broker's right (3.1.1 3.8.4 and 3.9.3, 5.0 3.8.4); what the
          // scenario checks next assumes the QoS it asked for. A step that does not need it
          // says so with `expect: {reason_codes: [{at_most_qos: N}]}`.
          skip("the broker granted QoS " + std::to_string(codes[i]) + " for '" + subs[i].filter + "' where " +
                  std::to_string(subs[i].qos) + " was requested (step " + std::to_string(step_index_ + 1) +
                  "): a lower grant is legal (3.8.4, 3.9.3) and this scenario needs the requested QoS");
          return std::nullopt;
        }
        return true;
      },
      s.within, [this, cp, pid] {
        fail("no SUBACK for packet id " + std::to_string(pid), "SUBACK", receivedSummary(*cp, std::nullopt),
             Check::suback_missing);
      });
}

void Execution::doUnsubscribe(Client& c, const scenario::UnsubscribeStep& s) {
  if (!c.conn) {
    fail("client " + c.name + " is not connected (add a connect step before unsubscribe)", {}, {},
         Check::scenario_problem);
    return;
  }
  client::UnsubscribeRequest req;
  for (const auto& f : s.filters) req.filters.push_back(context_.prefix.filter(f));
  auto props = stepProperties(c, s.properties);
  if (!props) return;
  req.properties = std::move(*props);
  client::CommandResult r;
  {
    const FixedPacketId fixed(*c.conn, s.packet_id);
    r = c.conn->unsubscribe(std::move(req));
  }
  if (!r.ok()) {
    fail("cannot send UNSUBSCRIBE: " + std::string(client::to_string(r.error)), {}, {}, Check::harness);
    return;
  }
  c.unsubacks.erase(r.packet_id);
  c.pending_unsubscribes[r.packet_id] = s.filters;
  if (!s.wait) {
    completeStep();
    return;
  }
  Client* cp = &c;
  const auto pid = r.packet_id;
  const auto expect = s.expect_reason_codes;
  wait(
      [this, cp, pid, expect]() -> std::optional<bool> {
        auto it = cp->unsubacks.find(pid);
        if (it == cp->unsubacks.end()) return std::nullopt;
        if (expect && cp->version == mqtt::Version::v5 && it->second != *expect) {
          fail("UNSUBACK reason codes " + codes_text(it->second) + ", expected " + codes_text(*expect),
               codes_text(*expect), codes_text(it->second));
          return std::nullopt;
        }
        mark_answered(*cp, mqtt::PacketType::unsuback, pid);
        return true;
      },
      s.within, [this, cp, pid] {
        fail("no UNSUBACK for packet id " + std::to_string(pid), "UNSUBACK", receivedSummary(*cp, std::nullopt),
             Check::unsuback_missing);
      });
}

void Execution::onEvent(Client& c, const ev::SubackReceived& e) {
  c.subacks[e.packet_id] = e.reason_codes;
  auto it = c.pending_subscribes.find(e.packet_id);
  if (it == c.pending_subscribes.end()) return;
  for (std::size_t i = 0; i < it->second.subscriptions.size() && i < e.reason_codes.size(); ++i) {
    const auto& sub = it->second.subscriptions[i];
    if (e.reason_codes[i] < 0x80) {
      ledger_.subscribe(c.ledger_id, sub.filter, e.reason_codes[i], sub.no_local);
      c.granted[sub.filter] = sub;
    }
  }
  c.pending_subscribes.erase(it);
}

void Execution::onEvent(Client& c, const ev::UnsubackReceived& e) {
  c.unsubacks[e.packet_id] = e.reason_codes;
  auto it = c.pending_unsubscribes.find(e.packet_id);
  if (it == c.pending_unsubscribes.end()) return;
  for (const auto& f : it->second) {
    ledger_.unsubscribe(c.ledger_id, f);
    c.granted.erase(f);
  }
  c.pending_unsubscribes.erase(it);
}

}  // namespace mqtth::runner
