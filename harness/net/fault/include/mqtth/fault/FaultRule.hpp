// Fault rules of the FaultProxy, and the Qt-free logic that applies them to packets:
// parsing the CLI SPEC string, matching a rule to the n-th packet of a type, splitting
// writes into segments, corrupting a byte, pacing bytes at a rate.
//
// No Qt, no I/O, no clock: callers pass times in, so everything here is unit-tested
// with plain values (harness/net/fault/tests/fault_rule_test.cpp).
#pragma once

#include <mqtt/codec.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mqtth::fault {

using Ms = std::chrono::milliseconds;

// Same names and order as mqtth::scenario::FaultKind / Direction (the YAML `fault:` step);
// the runner, which maps one onto the other, checks that they stay so (FaultFromScenario.hpp).
// `rewrite`, last, has no YAML step: it makes the proxy's wire mutants (docs/mutants.md),
// a broker that breaks one statement, and is set through `proxy --fault` or `mutants --wire`.
enum class Kind : std::uint8_t { cut, delay, throttle, segment, corrupt, blackhole, duplicate, reorder, rewrite };
enum class Direction : std::uint8_t { to_broker, to_client, both };
std::string_view kind_name(Kind);
std::string_view direction_name(Direction);

// What a `rewrite` rule does. Packet ops decode the packet (under the connection's protocol
// version, from its CONNECT), change one field and re-encode it; close ops change how the
// proxy passes on the broker closing the connection (direction to_client).
enum class RewriteOp : std::uint8_t {
  clear_session_present,  // CONNACK: Session Present 0
  clear_retain,           // PUBLISH: RETAIN 0
  clear_dup,              // PUBLISH: DUP 0
  set_dup,                // PUBLISH: DUP 1 (the flag bit only: a QoS 0 PUBLISH with DUP 1 is what it breaks)
  set_code,               // CONNACK, PUBACK..PUBCOMP, SUBACK, UNSUBACK (5.0), DISCONNECT: first reason code = `set`
  drop_user_properties,   // 5.0 PUBLISH: every User Property removed
  drop,                   // the packet is not forwarded
  keep_open,              // the broker closed: the client's link stays open (and silent)
  delay_close,            // the broker closed: the client's link closes `by` later
};
std::string_view rewrite_op_name(RewriteOp);

// How a cut closes TCP: rst = abortive close (SO_LINGER 0: the peer sees ECONNRESET),
// fin = orderly close after the pending bytes.
enum class Close : std::uint8_t { rst, fin };
// Which of the proxy's two sockets a cut closes. The other one stays open and silent,
// like a link that died on one side only.
enum class Side : std::uint8_t { both, client, broker };

struct FaultRule {
  Kind kind = Kind::cut;
  Direction direction = Direction::both;
  // Which packets the rule looks at: unset = every packet type.
  std::optional<mqtt::PacketType> packet;
  // Fire on the nth matching packet, counted per direction from when the rule is
  // installed on a connection; `every` fires on each matching packet instead.
  std::uint32_t nth = 1;
  bool every = false;
  // cut/blackhole: act before the nth packet (it is not forwarded) instead of after it.
  bool before = false;
  std::optional<Ms> at;        // cut/blackhole: fire this long after install (no packet trigger)
  Ms by{0};                    // delay: added latency
  Ms jitter{0};                // delay: + uniform 0..jitter (order within a direction is kept)
  std::optional<Ms> duration;  // `for`: delay/throttle/blackhole/reorder stop after this long
  std::uint32_t bytes_per_second = 0;  // throttle
  std::uint32_t size = 0;              // segment: bytes per TCP write (>= 1)
  std::uint32_t offset = 0;            // corrupt: byte offset in the packet (0 = fixed header byte 1)
  std::uint8_t xor_mask = 0xFF;        // corrupt: byte ^= xor_mask ...
  std::optional<std::uint8_t> set;     // ... or byte = set
  std::uint32_t window = 2;            // reorder: packets held, then sent in reverse order
  Ms hold{1000};                       // reorder: a window not full after this long is released
  Close close = Close::rst;            // cut
  Side side = Side::both;              // cut
  RewriteOp op = RewriteOp::drop;      // rewrite (`set` and `by` are its operands)
  bool operator==(const FaultRule&) const = default;
};

// Whether a rule with direction `rule` covers packets travelling in `packet` (never both).
inline bool covers(Direction rule, Direction packet) {
  return rule == Direction::both || rule == packet;
}

// The SPEC string of `mqtt-harness proxy --fault` (docs/faults.md):
//   KIND[:DIRECTION][:KEY=VALUE|FLAG]...
// e.g. "cut:to_broker:after=PUBREC:nth=3:rst", "delay:to_client:packet=PUBLISH:by=200ms".
// The error names the offending part.
struct ParseResult {
  std::optional<FaultRule> rule;
  std::string error;
};
ParseResult parse_fault_spec(std::string_view spec);
// Canonical SPEC of a rule (parse_fault_spec(to_spec(r)) == r).
std::string to_spec(const FaultRule&);

// Applies a packet op of `rewrite` to one whole packet of a connection of `version`.
// false (packet unchanged) when the op does not fit the packet: another type, a field the
// version lacks, a packet the codec cannot decode. `drop` and the close ops are the
// proxy's (they return false here).
bool rewrite_packet(std::vector<std::uint8_t>& packet, RewriteOp op, std::optional<std::uint8_t> code,
                    mqtt::Version version);
// The protocol version a CONNECT asks for (nullopt: not a CONNECT the codec decodes).
std::optional<mqtt::Version> connect_version(std::span<const std::uint8_t> packet);

// Counts packets of one direction for one rule and says when it fires.
class RuleMatcher {
 public:
  explicit RuleMatcher(const FaultRule& rule) : rule_(rule) {}
  // Call for every packet of a direction the rule covers, in order. True: act on it.
  bool fires(mqtt::PacketType type);
  bool exhausted() const { return fired_ && !rule_.every; }  // one-shot rule already fired
  std::uint32_t seen() const { return seen_; }

 private:
  FaultRule rule_;
  std::uint32_t seen_ = 0;
  bool fired_ = false;
};

// Type of a whole packet from its first byte (nullopt for type 0 or an empty packet).
std::optional<mqtt::PacketType> packet_type_of(std::span<const std::uint8_t> packet);

// Lengths of the TCP writes that carry `total` bytes in `size`-byte segments.
std::vector<std::size_t> segment_sizes(std::size_t total, std::size_t size);

// Corrupts packet[offset]; false (packet unchanged) when offset is past the end.
bool corrupt_byte(std::vector<std::uint8_t>& packet, std::uint32_t offset, std::uint8_t xor_mask,
                  std::optional<std::uint8_t> set);

// Token bucket for throttle: `rate` bytes/s, bursts at most max(rate/10, 1) bytes.
// Times are caller-supplied milliseconds of a monotonic clock.
class TokenBucket {
 public:
  explicit TokenBucket(std::uint32_t bytes_per_second, std::int64_t now_ms);
  // Bytes that may be written now (consumes them when take() is called).
  std::size_t available(std::int64_t now_ms);
  void take(std::size_t bytes) { tokens_ -= double(bytes); }
  // Milliseconds until at least one byte is available (0 if now).
  std::int64_t wait_ms(std::int64_t now_ms);

 private:
  void refill(std::int64_t now_ms);
  double rate_;
  double burst_;
  double tokens_ = 0;
  std::int64_t last_ms_;
};

}  // namespace mqtth::fault
