// QoS ledger. The rules implemented here are documented in docs/reports.md ("The QoS
// ledger"); keep the two in step.
#include "mqtth/ledger/Ledger.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "mqtt/codec.hpp"

namespace mqtth::ledger {
namespace {

// Per-message state of a stream (one byte per sequence).
constexpr std::uint8_t kAttempted = 0x01;
constexpr std::uint8_t kAccepted = 0x02;
constexpr std::uint8_t kResent = 0x04;

// Per-message state of a pair (one byte per sequence): bit 0 = obligated, bits 1..6 = copies
// received, saturating at 63 (only "0", "1" and "more than 1" matter for the rules), bit 7 =
// owed when the broker lost the subscriber's session (a loss that is its consequence).
constexpr std::uint8_t kObligated = 0x01;
constexpr std::uint8_t kOwedAtSessionLoss = 0x80;
constexpr unsigned kMaxCopies = 63;

unsigned copies(std::uint8_t flags) noexcept { return (flags >> 1) & 0x3F; }

struct Subscription {
  ClientId subscriber;
  std::string filter;
  std::uint8_t granted_qos;
  bool no_local;
  bool shared;
};

struct Stream {
  ClientId publisher = 0;
  std::string topic;
  std::uint8_t qos = 0;
  std::vector<std::uint8_t> state;        // indexed by sequence
  std::uint64_t obligations_epoch = ~std::uint64_t{0};
  std::vector<std::uint32_t> obligated_pairs;  // pairs a publish obligates, valid for the epoch
  // The broker lost the publisher's session: messages below this sequence that the
  // publisher re-sent may legitimately arrive twice (session_lost), a consequence of `lost_cause`.
  Sequence lost_below = 0;
  std::string lost_cause;
};

struct Pair {
  StreamId stream = 0;
  ClientId subscriber = 0;
  std::vector<std::uint8_t> flags;        // indexed by sequence (may be shorter than the stream)
  bool subscribed = false;                // ever obligated
  std::uint8_t min_granted = 2;           // lowest / current granted QoS while obligated
  std::uint8_t current_granted = 0;
  bool have_high = false;
  Sequence high = 0;                      // highest sequence received so far
  std::uint64_t attempted = 0;
  std::uint64_t delivered = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t duplicated_excused = 0;
  std::uint64_t reordered = 0;
  std::uint64_t late_redelivered = 0;
  std::uint64_t qos_mismatch = 0;
  std::uint64_t waived = 0;
  std::uint64_t duplicated_consequence = 0;
  std::string cause;                      // the first deviation this pair's consequences stem from
};

struct Foreign {
  std::uint64_t unparsable = 0, other_run = 0, unknown = 0;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

std::uint64_t pair_key(StreamId stream, ClientId subscriber) noexcept {
  return (std::uint64_t{stream} << 32) | subscriber;
}

}  // namespace

struct Ledger::Impl {
  std::uint32_t run;
  std::optional<mqtt::Version> version;
  std::vector<std::string> client_names;
  std::unordered_map<std::string, ClientId, StringHash, std::equal_to<>> client_ids;
  std::vector<Subscription> subscriptions;
  std::uint64_t epoch = 0;  // bumped on every subscription change
  std::vector<Stream> streams;
  std::unordered_map<std::string, StreamId, StringHash, std::equal_to<>> stream_ids;
  std::vector<Pair> pairs;
  std::unordered_map<std::uint64_t, std::uint32_t> pair_ids;
  std::vector<Foreign> foreign;  // indexed by client id
  std::uint64_t total_attempted = 0;
  std::uint64_t total_deliveries = 0;

  Impl(std::uint32_t run_id, std::optional<mqtt::Version> v) : run(run_id), version(v) {}

  // Client ids only come from Ledger::client(); anything else is a caller bug, caught here
  // rather than as an out-of-range read when the results are built.
  void check_client(ClientId id) const {
    if (id >= client_names.size()) throw std::out_of_range("mqtth::ledger: unknown client id");
  }

  std::uint32_t pair_for(StreamId stream, ClientId subscriber) {
    auto [it, inserted] =
        pair_ids.try_emplace(pair_key(stream, subscriber), static_cast<std::uint32_t>(pairs.size()));
    if (inserted) {
      Pair pair;
      pair.stream = stream;
      pair.subscriber = subscriber;
      pairs.push_back(std::move(pair));
    }
    return it->second;
  }

  // The highest QoS granted to `sub`'s subscriptions that match a message of `s`, -1 when
  // none does. With overlapping subscriptions the highest granted QoS applies (3.1.1
  // MQTT-3.3.5-1, 5.0 MQTT-3.3.4-2). A shared subscription (`$share/group/filter`) counts
  // only with `shared`, by its filter.
  int highest_granted(ClientId sub, const Stream& s, bool shared) const {
    int granted = -1;
    for (const Subscription& subscription : subscriptions) {
      if (subscription.subscriber != sub || (subscription.shared && !shared)) continue;
      if (subscription.no_local && sub == s.publisher) continue;  // MQTT-3.8.3-3 (5.0)
      std::string_view filter = subscription.filter;
      if (subscription.shared) {
        const auto group_end = filter.find('/', std::string_view("$share/").size());
        filter = group_end == std::string_view::npos ? std::string_view() : filter.substr(group_end + 1);
      }
      if (!topic_matches(filter, s.topic)) continue;
      granted = std::max(granted, int{subscription.granted_qos});
    }
    return granted;
  }

  // Which subscribers a publish on `s` obligates now, and at which granted QoS.
  void refresh_obligations(StreamId id) {
    Stream& s = streams[id];
    if (s.obligations_epoch == epoch) return;
    s.obligated_pairs.clear();
    for (ClientId sub = 0; sub < client_names.size(); ++sub) {
      const int granted = highest_granted(sub, s, false);
      if (granted < 0) continue;
      const std::uint32_t p = pair_for(id, sub);
      pairs[p].current_granted = static_cast<std::uint8_t>(granted);
      s.obligated_pairs.push_back(p);
    }
    s.obligations_epoch = epoch;
  }

  static void add_consequence(Pair& pair, std::string_view cause) {
    if (pair.cause.empty()) pair.cause.assign(cause);
  }

  Foreign& foreign_for(ClientId subscriber) {
    if (foreign.size() <= subscriber) foreign.resize(std::size_t{subscriber} + 1);
    return foreign[subscriber];
  }

  void delivered(ClientId subscriber, const MessageId& id, const DeliveryInfo& info) {
    check_client(subscriber);
    ++total_deliveries;
    if (id.run != run) {
      ++foreign_for(subscriber).other_run;
      return;
    }
    if (id.stream >= streams.size() || streams[id.stream].publisher != id.publisher ||
        id.seq >= streams[id.stream].state.size()) {
      ++foreign_for(subscriber).unknown;
      return;
    }
    const Stream& s = streams[id.stream];
    Pair& pair = pairs[pair_for(id.stream, subscriber)];
    const std::size_t seq = static_cast<std::size_t>(id.seq);
    if (pair.flags.size() <= seq) pair.flags.resize(seq + 1, 0);
    std::uint8_t& flags = pair.flags[seq];
    const unsigned n = copies(flags);
    if (n == 0) {
      ++pair.delivered;
      // A first copy below the high-water mark arrived after a later message. With DUP=1
      // it is the broker's retransmission of a copy that never reached us (MQTT-3.3.1-3),
      // which the ordering rules allow; with DUP=0 the broker forwarded out of order.
      if (pair.have_high && id.seq < pair.high) {
        if (info.dup) ++pair.late_redelivered;
        else ++pair.reordered;
      } else {
        pair.have_high = true;
        pair.high = id.seq;
      }
    } else {
      // Any further copy is a duplicate, never a reorder: "the final copy of each message
      // ... will be in the order ... but ... a re-send of an earlier message being received
      // after one of its duplicates" is legal at QoS 1 (MQTT 3.1.1 / 5.0 section 4.6).
      ++pair.duplicated;
      if (s.qos == 1 && (s.state[seq] & kResent)) {
        ++pair.duplicated_excused;
      } else if (!info.consequence_of.empty()) {
        add_consequence(pair, info.consequence_of);
        ++pair.duplicated_consequence;
      } else if (id.seq < s.lost_below && (s.state[seq] & kResent)) {
        add_consequence(pair, s.lost_cause);
        ++pair.duplicated_consequence;
      }
    }
    if (n < kMaxCopies) flags = static_cast<std::uint8_t>(flags + 2);
    if ((flags & kObligated) && info.qos != std::min(s.qos, pair.current_granted)) ++pair.qos_mismatch;
  }
};

Ledger::Ledger(std::uint32_t run_id, std::optional<mqtt::Version> version) : impl_(new Impl(run_id, version)) {}
Ledger::~Ledger() { delete impl_; }
Ledger::Ledger(Ledger&& other) noexcept : impl_(other.impl_) { other.impl_ = nullptr; }
Ledger& Ledger::operator=(Ledger&& other) noexcept {
  if (this != &other) {
    delete impl_;
    impl_ = other.impl_;
    other.impl_ = nullptr;
  }
  return *this;
}

std::uint32_t Ledger::run_id() const noexcept { return impl_->run; }

ClientId Ledger::client(std::string_view name) {
  if (auto it = impl_->client_ids.find(name); it != impl_->client_ids.end()) return it->second;
  const auto id = static_cast<ClientId>(impl_->client_names.size());
  impl_->client_names.emplace_back(name);
  impl_->client_ids.emplace(std::string(name), id);
  return id;
}

const std::string& Ledger::client_name(ClientId id) const {
  if (id >= impl_->client_names.size()) throw std::out_of_range("mqtth::ledger: unknown client id");
  return impl_->client_names[id];
}

void Ledger::subscribe(ClientId subscriber, std::string_view filter, std::uint8_t granted_qos,
                       bool no_local) {
  impl_->check_client(subscriber);
  ++impl_->epoch;
  const bool shared = filter.starts_with("$share/");
  if (granted_qos > 2) granted_qos = 2;
  for (Subscription& s : impl_->subscriptions) {
    if (s.subscriber == subscriber && s.filter == filter) {  // MQTT-3.8.4-3: replaces
      s.granted_qos = granted_qos;
      s.no_local = no_local;
      return;
    }
  }
  impl_->subscriptions.push_back(Subscription{subscriber, std::string(filter), granted_qos, no_local, shared});
}

void Ledger::unsubscribe(ClientId subscriber, std::string_view filter) {
  impl_->check_client(subscriber);
  ++impl_->epoch;
  std::erase_if(impl_->subscriptions, [&](const Subscription& s) {
    return s.subscriber == subscriber && s.filter == filter;
  });
}

void Ledger::end_session(ClientId subscriber) {
  impl_->check_client(subscriber);
  ++impl_->epoch;
  std::erase_if(impl_->subscriptions, [&](const Subscription& s) { return s.subscriber == subscriber; });
  for (Pair& pair : impl_->pairs) {
    if (pair.subscriber != subscriber) continue;
    for (std::uint8_t& flags : pair.flags) {
      if ((flags & kObligated) && copies(flags) == 0) {
        flags = static_cast<std::uint8_t>(flags & ~kObligated);
        ++pair.waived;
      }
    }
  }
}

void Ledger::session_lost(ClientId client, std::string_view statement) {
  impl_->check_client(client);
  // As a subscriber: what it was owed goes with the session; its subscriptions are gone.
  ++impl_->epoch;
  std::erase_if(impl_->subscriptions, [&](const Subscription& s) { return s.subscriber == client; });
  for (Pair& pair : impl_->pairs) {
    if (pair.subscriber != client) continue;
    bool owed = false;
    for (std::uint8_t& flags : pair.flags) {
      if ((flags & kObligated) && copies(flags) == 0) {
        flags |= kOwedAtSessionLoss;
        owed = true;
      }
    }
    if (owed) Impl::add_consequence(pair, statement);
  }
  // As a publisher: what it published so far and re-sends may legitimately arrive twice.
  for (Stream& s : impl_->streams) {
    if (s.publisher != client) continue;
    s.lost_below = s.state.size();
    if (s.lost_cause.empty()) s.lost_cause.assign(statement);
  }
}

std::optional<std::uint8_t> Ledger::effective_qos(ClientId subscriber, const MessageId& id) const {
  impl_->check_client(subscriber);
  if (id.run != impl_->run || id.stream >= impl_->streams.size()) return std::nullopt;
  const Stream& s = impl_->streams[id.stream];
  if (s.publisher != id.publisher) return std::nullopt;
  const int granted = impl_->highest_granted(subscriber, s, true);
  if (granted < 0) return std::nullopt;
  return static_cast<std::uint8_t>(std::min(int{s.qos}, granted));
}

StreamId Ledger::stream(ClientId publisher, std::string_view topic, std::uint8_t qos) {
  impl_->check_client(publisher);
  if (qos > 2) qos = 2;
  std::string key;
  key.reserve(topic.size() + 16);
  key.append(std::to_string(publisher)).push_back('\0');
  key.push_back(static_cast<char>('0' + qos));
  key.append(topic);
  if (auto it = impl_->stream_ids.find(key); it != impl_->stream_ids.end()) return it->second;
  const auto id = static_cast<StreamId>(impl_->streams.size());
  Stream s;
  s.publisher = publisher;
  s.topic = std::string(topic);
  s.qos = qos;
  impl_->streams.push_back(std::move(s));
  impl_->stream_ids.emplace(std::move(key), id);
  return id;
}

MessageId Ledger::attempt(StreamId stream) {
  if (stream >= impl_->streams.size()) throw std::out_of_range("mqtth::ledger: unknown stream id");
  impl_->refresh_obligations(stream);
  Stream& s = impl_->streams[stream];
  const Sequence seq = s.state.size();
  s.state.push_back(kAttempted);
  ++impl_->total_attempted;
  for (const std::uint32_t p : s.obligated_pairs) {
    Pair& pair = impl_->pairs[p];
    if (pair.flags.size() <= seq) pair.flags.resize(static_cast<std::size_t>(seq) + 1, 0);
    pair.flags[static_cast<std::size_t>(seq)] |= kObligated;
    pair.subscribed = true;
    pair.min_granted = std::min(pair.min_granted, pair.current_granted);
    ++pair.attempted;
  }
  return MessageId{impl_->run, s.publisher, stream, seq};
}

bool Ledger::accepted(StreamId stream, Sequence seq) noexcept {
  if (stream >= impl_->streams.size()) return false;
  auto& state = impl_->streams[stream].state;
  if (seq >= state.size() || (state[static_cast<std::size_t>(seq)] & kAccepted)) return false;
  state[static_cast<std::size_t>(seq)] |= kAccepted;
  return true;
}

bool Ledger::accepted(const MessageId& id) noexcept {
  if (id.run != impl_->run || id.stream >= impl_->streams.size() ||
      impl_->streams[id.stream].publisher != id.publisher)
    return false;
  return accepted(id.stream, id.seq);
}

void Ledger::resent(StreamId stream, Sequence seq) noexcept {
  if (stream >= impl_->streams.size()) return;
  auto& state = impl_->streams[stream].state;
  if (seq < state.size()) state[static_cast<std::size_t>(seq)] |= kResent;
}

std::optional<MessageId> Ledger::delivered(ClientId subscriber, std::string_view payload,
                                           const DeliveryInfo& info) {
  auto parsed = parse_payload(payload);
  if (!parsed) {
    impl_->check_client(subscriber);
    ++impl_->total_deliveries;
    ++impl_->foreign_for(subscriber).unparsable;
    return std::nullopt;
  }
  impl_->delivered(subscriber, parsed->id, info);
  if (parsed->id.run != impl_->run) return std::nullopt;
  return parsed->id;
}

std::optional<MessageId> Ledger::delivered(ClientId subscriber, std::span<const std::uint8_t> payload,
                                           const DeliveryInfo& info) {
  return delivered(subscriber,
                   std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()), info);
}

void Ledger::delivered(ClientId subscriber, const MessageId& id, const DeliveryInfo& info) {
  impl_->delivered(subscriber, id, info);
}

namespace {

// What a verdict can find, with the statement each breaks: 3.1.1, then 5.0 ("" = none).
// Listed in the order the primary statement is chosen (a consequence's cause comes first).
enum class Problem : std::uint8_t {
  lost,
  duplicated_exactly_once,
  reordered,
  qos_mismatch,
  duplicated_at_most_once,
  guarantee_mismatch,
};

struct ProblemStatement {
  Problem problem;
  std::string_view v311, v5;
};

// Why these: docs/reports.md, "Verdicts".
constexpr ProblemStatement kProblemStatements[] = {
    {Problem::lost, "MQTT-4.5.0-1", "MQTT-4.5.0-1"},
    {Problem::duplicated_exactly_once, "MQTT-4.3.3-2", "MQTT-4.3.3-10"},
    {Problem::reordered, "MQTT-4.6.0-6", "MQTT-4.6.0-5"},
    {Problem::qos_mismatch, "MQTT-3.8.4-6", "MQTT-3.8.4-8"},
    {Problem::duplicated_at_most_once, "", ""},  // no numbered statement: section 4.3.1
    {Problem::guarantee_mismatch, "", ""},       // the scenario's expectation, not a rule
};
static_assert([] {
  for (std::size_t i = 0; i < std::size(kProblemStatements); ++i)
    if (static_cast<std::size_t>(kProblemStatements[i].problem) != i) return false;
  return std::size(kProblemStatements) == static_cast<std::size_t>(Problem::guarantee_mismatch) + 1;
}(), "kProblemStatements lists every Problem once, in enum order");

// The problems of one row, and the reason text: with the version known, exactly one
// statement in the text (the primary), the others in see_also; without it, each problem
// names its statement in both versions.
class Problems {
 public:
  explicit Problems(std::optional<mqtt::Version> version) : version_(version) {}

  void add(Problem p, std::string text) {
    const auto& s = kProblemStatements[static_cast<std::size_t>(p)];
    items_.push_back(Item{static_cast<int>(p) + 1, std::move(text), std::string(s.v311), std::string(s.v5)});
  }
  void add_consequence(std::string text, std::string_view cause) {
    items_.push_back(Item{0, std::move(text), std::string(cause), std::string(cause)});
  }

  std::string text(std::string& statement, std::vector<std::string>& see_also) const {
    if (!version_) return legacy_text();
    const bool v5 = *version_ == mqtt::Version::v5;
    const Item* primary = nullptr;
    for (const Item& i : items_) {
      if (!id(i, v5).empty() && (!primary || i.rank < primary->rank)) primary = &i;
    }
    std::string out;
    if (primary) {
      statement = id(*primary, v5);
      out = primary->text + " [" + statement + "]";
    }
    for (const Item& i : items_) {
      if (&i == primary) continue;
      if (!out.empty()) out += "; ";
      out += i.text;
      const std::string& other = id(i, v5);
      if (!other.empty() && other != statement &&
          std::find(see_also.begin(), see_also.end(), other) == see_also.end())
        see_also.push_back(other);
    }
    return out;
  }

 private:
  struct Item {
    int rank;  // 0: a consequence; then Problem order
    std::string text, v311, v5;
  };
  static const std::string& id(const Item& i, bool v5) { return v5 ? i.v5 : i.v311; }

  std::string legacy_text() const {
    std::string out;
    for (const Item& i : items_) {
      if (!out.empty()) out += "; ";
      out += i.text;
      if (i.v311.empty()) continue;
      out += i.v311 == i.v5 ? " (" + i.v311 + ")" : " (3.1.1 " + i.v311 + " / 5.0 " + i.v5 + ")";
    }
    return out;
  }

  std::optional<mqtt::Version> version_;
  std::vector<Item> items_;
};

}  // namespace

std::vector<StreamResult> Ledger::results(const Expectation& expectation,
                                          std::optional<ClientId> publisher,
                                          std::optional<ClientId> subscriber) const {
  std::vector<std::uint32_t> order(impl_->pairs.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return impl_->pairs[a].stream < impl_->pairs[b].stream;
  });

  std::vector<StreamResult> out;
  for (const std::uint32_t index : order) {
    const Pair& pair = impl_->pairs[index];
    const Stream& s = impl_->streams[pair.stream];
    if (publisher && s.publisher != *publisher) continue;
    if (subscriber && pair.subscriber != *subscriber) continue;

    StreamResult r;
    r.publisher = impl_->client_names[s.publisher];
    r.subscriber = impl_->client_names[pair.subscriber];
    r.topic = s.topic;
    r.publish_qos = s.qos;
    r.granted_qos = pair.subscribed ? pair.min_granted : s.qos;
    r.qos = std::min(r.publish_qos, r.granted_qos);
    r.ordered = expectation.ordered;
    r.attempted = pair.attempted;
    r.delivered = pair.delivered;
    r.duplicated = pair.duplicated;
    r.duplicated_excused = pair.duplicated_excused;
    r.reordered = pair.reordered;
    r.late_redelivered = pair.late_redelivered;
    r.qos_mismatch = pair.qos_mismatch;
    r.waived = pair.waived;
    for (std::size_t seq = 0; seq < pair.flags.size(); ++seq) {
      const std::uint8_t flags = pair.flags[seq];
      const bool accepted = (s.state[seq] & kAccepted) != 0;
      if (flags & kObligated) {
        if (accepted) {
          ++r.sent;
          if (copies(flags) == 0) {
            ++r.lost;
            if (flags & kOwedAtSessionLoss) ++r.lost_consequence;
          }
        }
      } else if (copies(flags) > 0) {
        ++r.unexpected;
      }
    }
    r.duplicated_consequence = pair.duplicated_consequence;
    r.cause = pair.cause;

    const Guarantee effective = guarantee_for_qos(r.qos);
    r.guarantee = expectation.guarantee.value_or(effective);
    Problems problems(impl_->version);
    if (expectation.guarantee && pair.subscribed && *expectation.guarantee != effective) {
      problems.add(Problem::guarantee_mismatch,
                   "guarantee mismatch: expected " + std::string(to_string(*expectation.guarantee)) +
                       " but effective QoS is " + std::to_string(r.qos) + " (publish QoS " +
                       std::to_string(r.publish_qos) + ", granted QoS " + std::to_string(r.granted_qos) + ")");
    }
    // Consequences of a deviation reported where it happened violate the guarantee they
    // break like any other, but the verdict names that deviation, not a rule of its own.
    const std::uint64_t lost = r.lost - r.lost_consequence;
    const std::uint64_t duplicates = r.duplicated - r.duplicated_excused - r.duplicated_consequence;
    std::uint64_t consequence_lost = 0, consequence_duplicates = 0;
    switch (r.guarantee) {
      case Guarantee::at_most_once:
        if (duplicates > 0)
          problems.add(Problem::duplicated_at_most_once,
                       std::to_string(duplicates) + " duplicate(s) at most once (QoS 0, section 4.3.1)");
        consequence_duplicates = r.duplicated_consequence;
        break;
      case Guarantee::at_least_once:
        if (lost > 0) problems.add(Problem::lost, std::to_string(lost) + " lost at least once (QoS 1)");
        consequence_lost = r.lost_consequence;
        break;
      case Guarantee::exactly_once:
        if (lost > 0) problems.add(Problem::lost, std::to_string(lost) + " lost exactly once (QoS 2)");
        if (duplicates > 0)
          problems.add(Problem::duplicated_exactly_once,
                       std::to_string(duplicates) + " duplicate(s) exactly once (QoS 2)");
        consequence_lost = r.lost_consequence;
        consequence_duplicates = r.duplicated_consequence;
        break;
    }
    if (consequence_lost > 0 || consequence_duplicates > 0) {
      std::string what;
      if (consequence_lost > 0) what = std::to_string(consequence_lost) + " lost";
      if (consequence_duplicates > 0)
        what += (what.empty() ? "" : ", ") + std::to_string(consequence_duplicates) + " duplicate(s)";
      problems.add_consequence(what + ", the consequence of a deviation reported where it happened", r.cause);
    }
    if (expectation.ordered && r.reordered > 0)
      problems.add(Problem::reordered, std::to_string(r.reordered) + " reordered");
    if (r.qos_mismatch > 0)
      problems.add(Problem::qos_mismatch,
                   std::to_string(r.qos_mismatch) + " delivered at a QoS other than min(publish, granted)");
    std::string reason = problems.text(r.statement, r.see_also);
    r.verdict = reason.empty() ? Verdict::held : Verdict::violated;
    r.reason = std::move(reason);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<ForeignCounts> Ledger::foreign() const {
  std::vector<ForeignCounts> out;
  for (ClientId id = 0; id < impl_->foreign.size(); ++id) {
    const Foreign& f = impl_->foreign[id];
    if (f.unparsable == 0 && f.other_run == 0 && f.unknown == 0) continue;
    out.push_back(ForeignCounts{impl_->client_names[id], f.unparsable, f.other_run, f.unknown});
  }
  return out;
}

std::uint64_t Ledger::total_attempted() const noexcept { return impl_->total_attempted; }
std::uint64_t Ledger::total_deliveries() const noexcept { return impl_->total_deliveries; }

bool topic_matches(std::string_view filter, std::string_view topic) noexcept {
  // One implementation of section 4.7 in the project: the codec's.
  return mqtt::topic_matches(filter, topic);
}

}  // namespace mqtth::ledger
