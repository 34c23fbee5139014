// Per-run names for runs against a shared broker (`--broker`, docs/runner.md "Names on a
// shared broker").
//
// Several runs (CI jobs, -j workers, people) may use one broker at once; scenarios are
// written with plain names ("sub", "t/a"). With --broker the runner rewrites them so runs
// never see each other's sessions, retained messages or deliveries. With the default
// template `{run}/{n}` (run id "mh1a2b3c", scenario 17):
//   topic name  "t/a"             -> "mh1a2b3c/17/t/a"
//   filter      "t/#", "#", "+/x" -> "mh1a2b3c/17/t/#", "mh1a2b3c/17/#", "mh1a2b3c/17/+/x"
//   shared      "$share/g/t/#"    -> "$share/g/mh1a2b3c/17/t/#"  (the prefix goes after the
//                                    group: 4.8.2, the filter part is what is matched)
//   "$"-topics  "$SYS/broker/..." -> unchanged (server topics; a client cannot create them,
//                                    and a leading wildcard never matches them, 4.7.2)
//   client id   "sub"             -> "mh1a2b3c17xsub"
//               "sub-1"           -> "mh1a2b3c17xsub1" + 6 characters of a hash
//   empty client id               -> unchanged (the broker assigns one, 3.1.3.3)
// Topics get only [a-z0-9] and '/' from the prefix: a broker that maps '.' to '/' (RabbitMQ's
// MQTT plugin) or folds case cannot change it. Client ids are [a-z0-9] only and at most 23
// bytes, the ids every server MUST accept (MQTT-3.1.3-5): an id the scenario writes with
// other characters, or too long with the prefix, becomes the first 17 letters and digits
// of prefix and id plus 6 characters of a hash of both, so the mapping is deterministic
// and one-to-one in practice; the run's report lists it.
// The embedded broker is fresh per scenario, so no prefix is used there, nor with
// `--prefix none` (Prefix{} is the identity).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mqtth::runner {

// A broker gave back topics under this run's prefix in another form (e.g. RabbitMQ's
// '.' -> '/' mapping of topics to AMQP routing keys): the topics it delivers are not the
// topics that were published [MQTT-4.7.3-4].
struct TopicRewrite {
  std::string rule;      // "'.' -> '/'"
  std::string sent;      // the prefix as published: "mh1a2b3c.17/"
  std::string received;  // as the broker delivered it: "mh1a2b3c/17/"
  bool operator==(const TopicRewrite&) const = default;
};

class Prefix {
 public:
  Prefix() = default;  // identity
  // `topic_prefix`: the topic levels put before every topic ("mh1a2b3c/17", no trailing
  // '/'); `id_prefix`: what is put before every client id ("mh1a2b3c17x").
  Prefix(std::string topic_prefix, std::string id_prefix)
      : topic_prefix_(std::move(topic_prefix)), id_prefix_(std::move(id_prefix)) {}

  bool active() const { return !topic_prefix_.empty(); }
  const std::string& topic_prefix() const { return topic_prefix_; }
  const std::string& id_prefix() const { return id_prefix_; }

  std::string client_id(std::string_view id) const;
  std::string topic(std::string_view topic) const;
  std::string filter(std::string_view filter) const;
  // Inverse of topic(): "<p>/t/a" -> "t/a"; other topics unchanged. A topic that carries
  // the prefix only after a recognisable rewrite ('.' <-> '/', case folded) is stripped too,
  // and the rewrite is reported in `*rewrite` (when given).
  std::string strip_topic(std::string_view topic, std::optional<TopicRewrite>* rewrite = nullptr) const;

 private:
  std::string topic_prefix_;
  std::string id_prefix_;
};

// The longest client id every server must accept [MQTT-3.1.3-5].
inline constexpr std::size_t kPortableClientIdBytes = 23;

// The default of `run --prefix`.
inline constexpr std::string_view kDefaultPrefixTemplate = "{run}/{n}";

// A short run id, unique per run with high probability: "mh" + 6 hex digits from `seed`
// mixed with the process id and the clock.
std::string make_run_id(unsigned long long seed);

// Checks a `--prefix` template: topic levels with `{run}` (the run id) and `{n}` (the
// scenario's number in the run; required, so the scenarios of one run never share names)
// and no wildcard, NUL or leading '$'. Returns the problem, or nullopt when usable.
std::optional<std::string> check_prefix_template(std::string_view text);

// The prefix of scenario number `n` ("17"; "17c3" for the third cut run of an exploration;
// "probe" for the probe connections) in run `run_id`. `{n}` is followed by 'x' in the client
// id prefix, which keeps the id prefixes of one run from being prefixes of each other
// ("…1x" vs "…17x"), so two scenarios never produce the same client id.
Prefix make_prefix(std::string_view template_text, std::string_view run_id, std::string_view n);

// For the run's first line: "topics mh1a2b3c/<n>/..., client ids mh1a2b3c<n>x...".
std::string describe_prefix(std::string_view template_text, std::string_view run_id);

}  // namespace mqtth::runner
