// Packet expectations: expect_packet, expect_no_packet, expect_suback, matched against the
// client's received packets (their match JSON, docs/runner.md); and any_of, which weighs
// alternatives of expectation steps against the same packets.
#include "Execution.hpp"

#include <QTimer>

#include "ExecutionText.hpp"
#include "mqtth/runner/Runner.hpp"

namespace mqtth::runner {

namespace {

// Packets a client receives as answers to its own requests; expect_no_packet without a
// `type` ignores them (they are not "a packet the broker sent on its own").
bool is_response(mqtt::PacketType t) {
  using T = mqtt::PacketType;
  return t == T::connack || t == T::suback || t == T::unsuback || t == T::puback ||
         t == T::pubrec || t == T::pubrel || t == T::pubcomp || t == T::pingresp;
}

bool claimed(const ExpectClaims& claims, const ClientState& c, std::size_t index) {
  return claims.packets.count({&c, index}) > 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Probes

ExpectProbe Execution::probe(const Client& c, const scenario::ExpectPacketStep& s, const ExpectClaims& claims) const {
  ExpectProbe p;
  for (std::size_t i = 0; i < c.received.size(); ++i) {
    const auto& r = c.received[i];
    if (r.consumed || r.type != s.type || claimed(claims, c, i)) continue;
    if (!json_subset_match(s.match, r.match)) continue;
    if (s.qos_effective) {
      // The QoS this delivery must have by the client's grants of now (the ledger's rule).
      const auto want = r.id ? ledger_.effective_qos(c.ledger_id, *r.id) : std::nullopt;
      if (!want || r.match.value("qos", -1) != int{*want}) continue;
    }
    p.state = ExpectProbe::State::holds;
    p.packet = i;
    return p;
  }
  return p;
}

ExpectProbe Execution::probe(const Client& c, const scenario::ExpectNoPacketStep& s, const ExpectClaims& claims) const {
  ExpectProbe p;
  // Every packet not consumed by an expect step and not the awaited answer of the
  // client's own request counts, also one that arrived before this step began.
  for (std::size_t i = 0; i < c.received.size(); ++i) {
    const auto& r = c.received[i];
    if (r.consumed || r.answered || claimed(claims, c, i)) continue;
    if (s.type ? r.type == *s.type : !is_response(r.type)) {
      p.state = ExpectProbe::State::refuted;
      p.packet = i;
      p.why = "received " + r.match.dump() + " while expecting no " + (s.type ? type_name(*s.type) : std::string("packet")) +
              " for " + ms_text(s.duration.count());
      return p;
    }
  }
  return p;
}

ExpectProbe Execution::probe(const Client& c, const scenario::ExpectSubackStep& s, const ExpectClaims& claims) const {
  ExpectProbe p;
  for (std::size_t i = 0; i < c.received.size(); ++i) {
    const auto& r = c.received[i];
    if (r.consumed || r.type != mqtt::PacketType::suback || claimed(claims, c, i)) continue;
    // The next SUBACK is the one: it holds the expected codes or refutes them.
    p.packet = i;
    std::vector<std::uint8_t> got;
    if (r.match.contains("reason_codes"))
      for (const auto& v : r.match["reason_codes"]) got.push_back(static_cast<std::uint8_t>(v.get<int>()));
    if (suback_codes_match(got, s.reason_codes)) {
      p.state = ExpectProbe::State::holds;
    } else {
      p.state = ExpectProbe::State::refuted;
      p.why = "SUBACK reason codes " + codes_text(got) + ", expected " + suback_codes_text(s.reason_codes);
    }
    return p;
  }
  return p;
}

void Execution::take(Client& c, const ExpectProbe& p) {
  if (p.packet) c.received[*p.packet].consumed = true;
  if (p.close) {
    c.closes_consumed = std::max(c.closes_consumed, *p.close + 1);
    // The broker's DISCONNECT is part of its close: the step that expected the close takes it.
    for (auto& r : c.received)
      if (r.type == mqtt::PacketType::disconnect) r.consumed = true;
  }
}

// ---------------------------------------------------------------------------------------
// Standalone expectation steps

void Execution::doExpectPacket(Client& c, const scenario::ExpectPacketStep& s) {
  Client* cp = &c;
  const auto* step = &s;
  wait(
      [this, cp, step]() -> std::optional<bool> {
        const auto p = probe(*cp, *step, {});
        if (p.state != ExpectProbe::State::holds) return std::nullopt;
        take(*cp, p);
        return true;
      },
      s.within, [this, cp, step] {
        const auto& e = *step;
        std::string closest;
        for (const auto& r : cp->received) {
          if (r.consumed || r.type != e.type) continue;
          std::string why;
          json_subset_match(e.match, r.match, &why);
          if (why.empty() && e.qos_effective) {
            const auto want = r.id ? ledger_.effective_qos(cp->ledger_id, *r.id) : std::nullopt;
            why = want ? "/qos: expected the effective QoS " + std::to_string(*want) + ", got " + r.match.value("qos", Json()).dump()
                       : "qos: effective needs a message of a publish step that matches a subscription of " + cp->name;
          }
          closest = r.match.dump() + " (" + why + ")";
        }
        Json want = e.match;
        want["type"] = type_name(e.type);
        if (e.qos_effective) want["qos"] = "effective";
        std::string wait_text = e.within ? " within " + ms_text(e.within->count()) : std::string();
        const std::string got = closest.empty() ? receivedSummary(*cp, std::nullopt) : closest;
        fail("no matching " + type_name(e.type) + wait_text + ": expected " + want.dump() + ", got " + got, want.dump(), got);
      });
}

void Execution::doExpectNoPacket(Client& c, const scenario::ExpectNoPacketStep& s) {
  Client* cp = &c;
  const auto* step = &s;
  if (s.duration.count() > remainingMs()) {
    fail("expect_no_packet for " + ms_text(s.duration.count()) + " does not fit in the scenario timeout of " +
             ms_text(scenario_.timeout.count()),
         {}, {}, Check::scenario_problem);
    return;
  }
  wait(
      [this, cp, step]() -> std::optional<bool> {
        const auto p = probe(*cp, *step, {});
        if (p.state == ExpectProbe::State::refuted) fail(p.why, "no packet", cp->received[*p.packet].match.dump());
        return std::nullopt;
      },
      s.duration, [this] { completeStep(); });
}

void Execution::doExpectSuback(Client& c, const scenario::ExpectSubackStep& s) {
  Client* cp = &c;
  const auto* step = &s;
  wait(settleOnProbe(cp, step, [step] { return suback_codes_text(step->reason_codes); }), s.within, [this, cp] { fail("no SUBACK arrived", "SUBACK", receivedSummary(*cp, std::nullopt), Check::suback_missing); });
}

// ---------------------------------------------------------------------------------------
// any_of

namespace {

// Where one alternative of an any_of stands.
struct BranchState {
  std::size_t next = 0;                    // its first step that has not held yet
  ExpectClaims claims;                // what its steps that held found
  std::vector<std::pair<ClientState*, ExpectProbe>> found;
  std::optional<double> window_started;    // expect_no_packet at `next`: since when it watches
  bool refuted = false;
  std::string why;                         // refuted: what arrived instead
};

std::string nested_step_text(const scenario::Step& step) {
  return std::string(scenario::step_kind_name(step.kind())) + " " + step_client(step.action) + " (line " +
         std::to_string(step.where.line) + ")";
}

}  // namespace

void Execution::doAnyOf(const scenario::AnyOfStep& s) {
  const auto* step = &s;
  auto states = std::make_shared<std::vector<BranchState>>(s.branches.size());
  for (const auto& branch : s.branches)
    for (const auto& nested : branch.steps)
      if (const auto name = step_client(nested.action); !name.empty() && !client(name)) {
        error("any_of step uses client '" + name + "', which is not declared under `clients:`");
        return;
      }
  // Moves alternative `i` as far as its steps hold now; true when all of them held.
  auto advance = [this, step, states](std::size_t i) {
    auto& b = (*states)[i];
    const auto& steps = step->branches[i].steps;
    while (!b.refuted && b.next < steps.size()) {
      const auto& nested = steps[b.next];
      Client* c = client(step_client(nested.action));
      ExpectProbe p;
      std::visit(
          [&](const auto& e) {
            using E = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<E, scenario::ExpectPacketStep> || std::is_same_v<E, scenario::ExpectNoPacketStep> ||
                          std::is_same_v<E, scenario::ExpectSubackStep> || std::is_same_v<E, scenario::ExpectConnackStep> ||
                          std::is_same_v<E, scenario::ExpectDisconnectStep>)
              p = probe(*c, e, b.claims);
          },
          nested.action);
      if (p.state == ExpectProbe::State::refuted) {
        b.refuted = true;
        b.why = nested_step_text(nested) + ": " + p.why;
        break;
      }
      if (const auto* no = std::get_if<scenario::ExpectNoPacketStep>(&nested.action)) {
        // Holds once its whole window passed with nothing unwanted.
        if (!b.window_started) {
          b.window_started = elapsedMs();
          QTimer::singleShot(static_cast<int>(no->duration.count()) + 1, this, [this] { evaluateSoon(); });
        }
        if (elapsedMs() - *b.window_started < static_cast<double>(no->duration.count())) break;
        b.window_started.reset();
      } else if (p.state == ExpectProbe::State::waiting) {
        break;
      } else {
        if (p.packet) b.claims.packets.insert({c, *p.packet});
        if (p.close) b.claims.closes.insert({c, *p.close});
        b.found.emplace_back(c, p);
      }
      ++b.next;
    }
    return !b.refuted && b.next == steps.size();
  };
  auto summary = [step, states] {
    std::string text;
    for (std::size_t i = 0; i < states->size(); ++i) {
      const auto& b = (*states)[i];
      const auto& steps = step->branches[i].steps;
      text += (i ? "; " : "") + std::string("(") + std::to_string(i + 1) + ") ";
      if (b.refuted) text += "refuted: " + b.why;
      else text += "still waiting for " + nested_step_text(steps[b.next]);
    }
    return text;
  };
  wait(
      [this, step, states, advance, summary]() -> std::optional<bool> {
        bool open = false;
        for (std::size_t i = 0; i < states->size(); ++i) {
          if ((*states)[i].refuted) continue;
          if (!advance(i)) {
            open = open || !(*states)[i].refuted;
            continue;
          }
          for (const auto& [c, p] : (*states)[i].found) take(*c, p);
          const auto& branch = step->branches[i];
          result_.steps[step_index_].summary += ": alternative " + std::to_string(i + 1) + " held";
          if (!branch.skip.empty()) {
            skip(branch.skip);
            return std::nullopt;
          }
          return true;
        }
        if (!open) fail("none of the " + std::to_string(states->size()) + " alternatives can hold any more: " + summary(),
                        "one alternative", summary());
        return std::nullopt;
      },
      s.within, [this, step, states, summary] {
        fail("none of the " + std::to_string(states->size()) + " alternatives held" +
                 (step->within ? " within " + ms_text(step->within->count()) : std::string()) + ": " + summary(),
             "one alternative", summary());
      });
}

}  // namespace mqtth::runner
