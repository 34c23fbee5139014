#include "mqtth/runner/Runner.hpp"

#include <QEventLoop>
#include <QHostAddress>
#include <QTimer>

#include <algorithm>
#include <deque>
#include <memory>
#include <set>

#include "mqtth/net/BrokerServer.hpp"
#include "Execution.hpp"
#include "Explorer.hpp"
#include "mqtth/client/ClientConnection.hpp"

namespace mqtth::runner {

namespace {

constexpr int kProbeTimeoutMs = 5000;

std::string protocol_name(mqtt::Version v) { return std::string(mqtt::to_string(v)); }

// Applies what a 5.0 CONNACK announces (3.2.2.3); absent properties mean the spec default.
void apply_connack(const mqtt::Properties& props, Capabilities& caps) {
  using P = mqtt::PropertyId;
  auto number = [&](P id) -> std::optional<std::uint32_t> {
    auto p = props.find(id);
    if (!p) return std::nullopt;
    return p->number;
  };
  caps.maximum_qos = static_cast<std::uint8_t>(number(P::maximum_qos).value_or(2));
  caps.retain_available = number(P::retain_available).value_or(1) != 0;
  caps.wildcard_subscription_available = number(P::wildcard_subscription_available).value_or(1) != 0;
  caps.shared_subscription_available = number(P::shared_subscription_available).value_or(1) != 0;
  caps.subscription_identifier_available = number(P::subscription_identifier_available).value_or(1) != 0;
  caps.topic_alias_maximum = static_cast<std::uint16_t>(number(P::topic_alias_maximum).value_or(0));
  caps.receive_maximum = static_cast<std::uint16_t>(number(P::receive_maximum).value_or(65535));
  if (auto k = number(P::server_keep_alive)) caps.server_keep_alive = static_cast<std::uint16_t>(*k);
  if (auto m = number(P::maximum_packet_size)) caps.maximum_packet_size = *m;
}

std::string describe(const Capabilities& c) {
  std::string s = "maximum_qos=" + std::to_string(c.maximum_qos) +
                  " retain_available=" + std::to_string(c.retain_available) +
                  " wildcard_subscription_available=" + std::to_string(c.wildcard_subscription_available) +
                  " shared_subscription_available=" + std::to_string(c.shared_subscription_available) +
                  " subscription_identifier_available=" + std::to_string(c.subscription_identifier_available) +
                  " topic_alias_maximum=" + std::to_string(c.topic_alias_maximum) +
                  " receive_maximum=" + std::to_string(c.receive_maximum);
  if (c.server_keep_alive) s += " server_keep_alive=" + std::to_string(*c.server_keep_alive);
  if (c.maximum_packet_size) s += " maximum_packet_size=" + std::to_string(*c.maximum_packet_size);
  return s;
}

// One probe connection: CONNECT, wait for CONNACK, DISCONNECT. Runs a nested event loop.
Probe probe(const std::optional<Endpoint>& broker, const Prefix& prefix, mqtt::Version version,
            const Profile& profile) {
  Probe result;
  result.protocol = protocol_name(version);
  result.capabilities = default_capabilities(result.protocol);
  apply_profile(profile, result.protocol, result.capabilities);

  QObject scope;
  std::string host = broker ? broker->host : "127.0.0.1";
  quint16 port = broker ? broker->port : 0;
  if (!broker) {
    auto* server = new net::BrokerServer(engine::BrokerConfig{}, &scope);
    if (!server->listen(QHostAddress::LocalHost, 0)) {
      result.error = "cannot start the embedded broker: " + server->errorString().toStdString();
      return result;
    }
    port = server->port();
  }
  auto* conn = new client::ClientConnection(&scope);
  client::ConnectOptions opts;
  opts.version = version;
  opts.client_id = prefix.client_id("probe");
  if (opts.client_id.empty() || opts.client_id == "probe") opts.client_id = "mqtth-probe";
  opts.clean_start = true;
  opts.keep_alive = 0;
  QEventLoop loop;
  std::optional<client::event::ConnackReceived> connack;
  std::string failure;
  QObject::connect(conn, &client::ClientConnection::connackReceived, &loop,
                   [&](const client::event::ConnackReceived& e) {
                     connack = e;
                     loop.quit();
                   });
  QObject::connect(conn, &client::ClientConnection::transportError, &loop, [&](const QString& m) {
    failure = m.toStdString();
    loop.quit();
  });
  QObject::connect(conn, &client::ClientConnection::closed, &loop, [&](const client::event::ConnectionClosed& e) {
    if (!connack) failure = "connection closed before CONNACK (" + std::string(e.cause) + ")";
    loop.quit();
  });
  QTimer::singleShot(kProbeTimeoutMs, &loop, [&] {
    failure = "no CONNACK within " + std::to_string(kProbeTimeoutMs / 1000) + "s";
    loop.quit();
  });
  conn->connectToBroker(QString::fromStdString(host), port, opts);
  loop.exec();
  if (!connack) {
    result.error = "probe connection to " + common::format_host_port(host, broker ? broker->port : port) + " (MQTT " +
                   result.protocol + ") failed: " + failure;
  } else if (connack->reason_code != 0) {
    result.error = "probe connection refused with CONNACK reason code " + std::to_string(connack->reason_code);
  } else if (version == mqtt::Version::v5) {
    apply_connack(connack->properties, result.capabilities);
  }
  if (conn->isSocketOpen()) conn->disconnectFromBroker();
  conn->flush();
  result.summary = describe(result.capabilities);
  return result;
}

std::string dump_scalar(const nlohmann::ordered_json& j) { return j.dump(); }

// "<n>-v<protocol>-<scenario name>" made file-name safe (letters, digits, . _ -; at most
// 80 characters of the name), n = the scenario's 1-based position in the run.
std::string pcap_stem(std::size_t index, std::string name, const std::string& protocol) {
  // "<name> [5]" of a protocols matrix: the protocol goes first, whatever the length.
  if (const auto bracket = name.rfind(" ["); bracket != std::string::npos && name.back() == ']') name.resize(bracket);
  std::string out = std::to_string(index + 1) + "-v" + protocol + "-";
  const std::size_t start = out.size();
  for (unsigned char ch : name) {
    const bool ok = std::isalnum(ch) || ch == '.' || ch == '-' || ch == '_';
    if (ok) out += static_cast<char>(ch);
    else if (out.size() == start || out.back() != '_') out += '_';
    if (out.size() - start >= 80) break;
  }
  while (out.size() > start && (out.back() == '_' || out.back() == '.')) out.pop_back();
  return out;
}

// True when `expected` names only fields that must be absent (null, or objects of nulls).
bool asks_only_absence(const nlohmann::ordered_json& expected) {
  if (expected.is_null()) return true;
  if (!expected.is_object()) return false;
  for (const auto& [key, value] : expected.items())
    if (!asks_only_absence(value)) return false;
  return true;
}

}  // namespace

bool json_subset_match(const nlohmann::ordered_json& expected, const nlohmann::ordered_json& actual, std::string* why,
                       const std::string& path) {
  auto mismatch = [&](const std::string& text) {
    if (why) *why = (path.empty() ? "/" : path) + ": " + text;
    return false;
  };
  if (expected.is_object()) {
    if (!actual.is_object()) return mismatch("expected an object, got " + dump_scalar(actual));
    for (const auto& [key, value] : expected.items()) {
      auto it = actual.find(key);
      // `key: ~` in a scenario asks for the field to be absent (e.g. no Response
      // Information in CONNACK, MQTT-3.1.2-28); a missing object asks only for absences.
      if (it == actual.end()) {
        if (asks_only_absence(value)) continue;
        return mismatch("missing key '" + key + "' (expected " + value.dump() + ")");
      }
      if (value.is_null() && !it->is_null())
        return mismatch("expected '" + key + "' to be absent, got " + it->dump());
      if (!json_subset_match(value, *it, why, path + "/" + key)) return false;
    }
    return true;
  }
  if (expected.is_array()) {
    if (!actual.is_array()) return mismatch("expected a list, got " + dump_scalar(actual));
    if (expected.size() != actual.size())
      return mismatch("expected " + std::to_string(expected.size()) + " element(s), got " + std::to_string(actual.size()) +
                      ": " + actual.dump());
    for (std::size_t i = 0; i < expected.size(); ++i)
      if (!json_subset_match(expected[i], actual[i], why, path + "/" + std::to_string(i))) return false;
    return true;
  }
  if (expected.is_number() && actual.is_number()) {
    const bool equal = (expected.is_number_float() || actual.is_number_float())
                           ? expected.get<double>() == actual.get<double>()
                           : expected.get<std::int64_t>() == actual.get<std::int64_t>();
    if (!equal) return mismatch("expected " + expected.dump() + ", got " + actual.dump());
    return true;
  }
  // Hex strings compare case-insensitively and without spaces (payload_hex, *_hex).
  if (expected.is_string() && actual.is_string() && path.size() >= 4 && path.substr(path.size() - 4) == "_hex") {
    auto norm = [](std::string s) {
      s.erase(std::remove_if(s.begin(), s.end(), [](unsigned char ch) { return std::isspace(ch); }), s.end());
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
      return s;
    };
    if (norm(expected.get<std::string>()) != norm(actual.get<std::string>()))
      return mismatch("expected " + expected.dump() + ", got " + actual.dump());
    return true;
  }
  if (expected != actual) return mismatch("expected " + expected.dump() + ", got " + actual.dump());
  return true;
}

int exit_status(const std::vector<ScenarioOutcome>& outcomes, bool had_load_errors) {
  if (had_load_errors) return 2;
  bool failed = false;
  for (const auto& o : outcomes) {
    if (o.result.status == report::Status::error) return 2;
    if (o.result.status == report::Status::failed && !o.known_deviation) failed = true;
  }
  return failed ? 1 : 0;
}

Runner::Runner(RunSettings settings) : settings_(std::move(settings)) {}

std::vector<ScenarioOutcome> Runner::run(const std::vector<scenario::Scenario>& scenarios) {
  const Prefix prefix = settings_.broker ? Prefix(settings_.prefix) : Prefix();
  std::vector<ScenarioOutcome> outcomes(scenarios.size());

  // Probe once per protocol version in use.
  std::set<mqtt::Version> versions;
  for (const auto& s : scenarios) versions.insert(s.protocol == mqtt::Version::v3_1 ? mqtt::Version::v3_1_1 : s.protocol);
  probes_.clear();
  for (auto v : versions) probes_.push_back(probe(settings_.broker, prefix, v, settings_.profile));
  auto caps_for = [&](mqtt::Version v) -> const Probe* {
    const auto name = protocol_name(v == mqtt::Version::v3_1 ? mqtt::Version::v3_1_1 : v);
    for (const auto& p : probes_)
      if (p.protocol == name) return &p;
    return nullptr;
  };

  std::deque<std::size_t> queue;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const auto& s = scenarios[i];
    const Probe* p = caps_for(s.protocol);
    std::vector<std::string> needs;
    for (auto f : s.requires_features) needs.emplace_back(scenario::feature_name(f));
    auto unmet = unmet_requirements(needs, p ? p->capabilities : default_capabilities(protocol_name(s.protocol)),
                                    !settings_.broker);
    if (!unmet.empty()) {
      auto& r = outcomes[i].result;
      r.name = s.name;
      r.file = s.file;
      r.protocol = protocol_name(s.protocol);
      r.spec = s.spec;
      r.status = report::Status::skipped;
      r.skip_reason = "requires ";
      for (std::size_t k = 0; k < unmet.size(); ++k) r.skip_reason += (k ? ", " : "") + unmet[k];
      for (std::size_t k = 0; k < s.steps.size(); ++k) {
        report::StepResult sr;
        sr.index = static_cast<int>(k + 1);
        sr.line = s.steps[k].where.line;
        sr.kind = std::string(scenario::step_kind_name(s.steps[k].kind()));
        sr.status = report::Status::skipped;
        r.steps.push_back(std::move(sr));
      }
      if (settings_.on_finished) settings_.on_finished(r, std::nullopt);
      continue;
    }
    queue.push_back(i);
  }

  QEventLoop loop;
  std::size_t running = 0;
  std::size_t ledger_run = static_cast<std::uint32_t>(settings_.seed ^ (settings_.seed >> 32));
  if (ledger_run == 0) ledger_run = 1;
  std::function<void()> launch;
  std::function<void(QObject*, report::ScenarioResult&, std::vector<std::string>, std::size_t)> on_done;
  on_done = [&](QObject* unit, report::ScenarioResult& result, std::vector<std::string> spec, std::size_t i) {
    auto& o = outcomes[i];
    o.result = std::move(result);
    o.failure_spec = std::move(spec);
    if (o.result.status == report::Status::failed) {
      std::vector<std::string> statements = o.failure_spec;
      for (const auto& id : o.result.spec) statements.push_back(id);
      if (const auto* dev = find_known_deviation(settings_.profile, o.result.name, o.result.file, statements))
        o.known_deviation = *dev;
    }
    if (settings_.on_finished) settings_.on_finished(o.result, o.known_deviation);
    unit->deleteLater();
    --running;
    if (queue.empty() && running == 0) loop.quit();
    else launch();
  };
  launch = [&] {
    while (running < std::max(1u, settings_.jobs) && !queue.empty()) {
      const std::size_t i = queue.front();
      queue.pop_front();
      const auto& sc = scenarios[i];
      const std::uint32_t scenario_run = static_cast<std::uint32_t>(ledger_run + i);
      // Run k of scenario i (k > 0: exploration cut runs) gets its own identity.
      auto context_for = [this, i, scenario_run, &sc](unsigned k) {
        ExecContext ctx;
        ctx.broker = settings_.broker;
        // Per scenario, so scenarios of one run never share sessions or retained messages.
        std::string p = settings_.broker ? scenario_prefix(settings_.prefix, i) : std::string();
        if (!p.empty() && k > 0) p += "c" + std::to_string(k);
        ctx.prefix = settings_.broker ? Prefix(p) : Prefix();
        // A different run id per scenario keeps a retained message of one scenario from
        // counting as a delivery of another on a shared broker.
        ctx.ledger_run = scenario_run + static_cast<std::uint32_t>(k) * 0x9E3779B1u;
        if (ctx.ledger_run == 0) ctx.ledger_run = 1;
        ctx.pcap_dir = settings_.pcap_dir;
        if (!ctx.pcap_dir.empty()) ctx.pcap_stem = pcap_stem(i, sc.name, protocol_name(sc.protocol));
        return ctx;
      };
      const bool explore = sc.explore.has_value() || settings_.explore_all;
      QObject* unit = nullptr;
      std::function<report::ScenarioResult&()> result_of;
      std::function<std::vector<std::string>()> spec_of;
      std::function<void()> start;
      if (explore) {
        std::vector<std::string> clients = sc.explore ? sc.explore->clients : std::vector<std::string>{};
        const unsigned max_runs = sc.explore && sc.explore->max_runs ? sc.explore->max_runs : settings_.explore_max_runs;
        auto* ex = new Explorer(sc, context_for, clients, std::max(1u, max_runs), settings_.on_progress, &loop);
        unit = ex;
        result_of = [ex]() -> report::ScenarioResult& { return ex->result(); };
        spec_of = [ex] { return ex->failure_spec(); };
        start = [ex] { ex->start(); };
        QObject::connect(ex, &Explorer::finished, &loop, [&, unit, result_of, spec_of, i] { on_done(unit, result_of(), spec_of(), i); });
      } else {
        auto* exec = new Execution(sc, context_for(0), &loop);
        unit = exec;
        result_of = [exec]() -> report::ScenarioResult& { return exec->result(); };
        spec_of = [exec] { return exec->failure_spec(); };
        start = [exec] { exec->start(); };
        QObject::connect(exec, &Execution::finished, &loop, [&, unit, result_of, spec_of, i] { on_done(unit, result_of(), spec_of(), i); });
      }
      ++running;
      start();
    }
  };
  if (!queue.empty()) {
    QTimer::singleShot(0, &loop, launch);
    loop.exec();
  }
  return outcomes;
}

}  // namespace mqtth::runner
