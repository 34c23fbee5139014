// Packet expectations: expect_packet, expect_no_packet, expect_suback, matched against the
// client's received packets (their match JSON, docs/runner.md).
#include "Execution.hpp"

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

}  // namespace

void Execution::doExpectPacket(Client& c, const scenario::ExpectPacketStep& s) {
  Client* cp = &c;
  Json expected = s.match;
  const auto type = s.type;
  wait(
      [cp, expected, type]() -> std::optional<bool> {
        for (auto& r : cp->received) {
          if (r.consumed || r.type != type) continue;
          if (json_subset_match(expected, r.match)) {
            r.consumed = true;
            return true;
          }
        }
        return std::nullopt;
      },
      s.within, [this, cp, expected, type, s] {
        std::string closest;
        for (const auto& r : cp->received) {
          if (r.consumed || r.type != type) continue;
          std::string why;
          json_subset_match(expected, r.match, &why);
          closest = r.match.dump() + " (" + why + ")";
        }
        Json want = expected;
        want["type"] = type_name(type);
        std::string wait_text = s.within ? " within " + ms_text(s.within->count()) : std::string();
        fail("no matching " + type_name(type) + wait_text + ": expected " + want.dump() + ", got " +
                 (closest.empty() ? receivedSummary(*cp, std::nullopt) : closest),
             want.dump(), closest.empty() ? receivedSummary(*cp, std::nullopt) : closest);
      });
}

void Execution::doExpectNoPacket(Client& c, const scenario::ExpectNoPacketStep& s) {
  Client* cp = &c;
  const auto type = s.type;
  if (s.duration.count() > remainingMs()) {
    fail("expect_no_packet for " + ms_text(s.duration.count()) + " does not fit in the scenario timeout of " +
             ms_text(scenario_.timeout.count()),
         {}, {}, Check::scenario_problem);
    return;
  }
  // Every packet not consumed by an expect step and not the awaited answer of the
  // client's own request counts, also one that arrived before this step began.
  wait(
      [this, cp, type, s]() -> std::optional<bool> {
        for (const auto& r : cp->received) {
          if (r.consumed || r.answered) continue;
          const bool counts = type ? r.type == *type : !is_response(r.type);
          if (counts) {
            fail("received " + r.match.dump() + " while expecting no " + (type ? type_name(*type) : std::string("packet")) +
                     " for " + ms_text(s.duration.count()),
                 "no packet", r.match.dump());
            return std::nullopt;
          }
        }
        return std::nullopt;
      },
      s.duration, [this] { completeStep(); });
}

void Execution::doExpectSuback(Client& c, const scenario::ExpectSubackStep& s) {
  Client* cp = &c;
  const auto codes = s.reason_codes;
  wait(
      [this, cp, codes]() -> std::optional<bool> {
        for (auto& r : cp->received) {
          if (r.consumed || r.type != mqtt::PacketType::suback) continue;
          r.consumed = true;
          std::vector<std::uint8_t> got;
          if (r.match.contains("reason_codes"))
            for (const auto& v : r.match["reason_codes"]) got.push_back(static_cast<std::uint8_t>(v.get<int>()));
          if (got != codes) {
            fail("SUBACK reason codes " + codes_text(got) + ", expected " + codes_text(codes), codes_text(codes), codes_text(got));
            return std::nullopt;
          }
          return true;
        }
        return std::nullopt;
      },
      s.within, [this, cp] { fail("no SUBACK arrived", "SUBACK", receivedSummary(*cp, std::nullopt), Check::suback_missing); });
}

}  // namespace mqtth::runner
