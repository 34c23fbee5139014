#include "mqtth/runner/Runner.hpp"

#include <QEventLoop>
#include <QHostAddress>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTimer>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "mqtth/net/BrokerServer.hpp"
#include "Execution.hpp"
#include "Explorer.hpp"
#include "ServerExecution.hpp"
#include "SpawnedBroker.hpp"

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

// One probe connection (Probing.hpp): TCP, the typical CONNECT, then whatever comes back
// until a whole CONNACK, a close or kProbeTimeoutMs; DISCONNECT when accepted. Runs a
// nested event loop.
ProbeAnswer probe_once(const std::string& host, quint16 port, mqtt::Version version, const std::string& client_id,
                       const tls::Client* tls) {
  // Over TLS the probe is also the TLS check: a certificate the options do not accept
  // ends the run before any scenario (docs/tls.md).
  std::unique_ptr<QTcpSocket> owned(tls ? tls::new_client_socket(*tls, nullptr) : new QTcpSocket);
  QTcpSocket& socket = *owned;
  auto* ssl = qobject_cast<QSslSocket*>(owned.get());
  QList<QSslError> tls_errors;
  QEventLoop loop;
  std::string bytes;
  bool closed = false;
  bool connected = false;
  std::optional<std::string> transport_error;
  const std::string connect = probe_connect_bytes(version, client_id);
  if (ssl) QObject::connect(ssl, &QSslSocket::sslErrors, &loop, [&](const QList<QSslError>& e) { tls_errors = e; });
  auto on_up = [&] {
    connected = true;
    socket.write(connect.data(), static_cast<qint64>(connect.size()));
  };
  if (ssl) QObject::connect(ssl, &QSslSocket::encrypted, &loop, on_up);
  else QObject::connect(&socket, &QTcpSocket::connected, &loop, on_up);
  QObject::connect(&socket, &QTcpSocket::readyRead, &loop, [&] {
    const QByteArray chunk = socket.readAll();
    bytes.append(chunk.constData(), static_cast<std::size_t>(chunk.size()));
    const auto frame = mqtt::peek_frame(mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    if (frame.status != mqtt::FrameInfo::Status::need_more || static_cast<unsigned char>(bytes[0]) != 0x20) loop.quit();
  });
  QObject::connect(&socket, &QTcpSocket::disconnected, &loop, [&] {
    closed = true;
    loop.quit();
  });
  QObject::connect(&socket, &QTcpSocket::errorOccurred, &loop, [&](QAbstractSocket::SocketError error) {
    if (tls::is_tls_failure(socket)) transport_error = tls::describe_failure(*ssl, tls_errors).toStdString();
    else if (!connected) transport_error = socket.errorString().toStdString();
    else if (error == QAbstractSocket::RemoteHostClosedError) closed = true;
    else transport_error = socket.errorString().toStdString();
    loop.quit();
  });
  bool timed_out = false;
  QTimer::singleShot(kProbeTimeoutMs, &loop, [&] {
    timed_out = true;
    loop.quit();
  });
  if (ssl) ssl->connectToHostEncrypted(QString::fromStdString(host), port, tls->peerName(QString::fromStdString(host)));
  else socket.connectToHost(QString::fromStdString(host), port);
  loop.exec();
  if (socket.bytesAvailable() > 0) {
    const QByteArray rest = socket.readAll();
    bytes.append(rest.constData(), static_cast<std::size_t>(rest.size()));
  }
  ProbeAnswer answer;
  if (!connected) {
    answer.kind = ProbeAnswer::Kind::unreachable;
    const char* what = ssl ? "no TLS connection" : "no TCP connection";
    answer.seen = transport_error ? std::string(what) + ": " + *transport_error
                                  : std::string(what) + " within " + std::to_string(kProbeTimeoutMs / 1000) + " s";
  } else if (ssl && bytes.empty() && (closed || transport_error)) {
    // With TLS 1.3 the client's handshake is done before the server has judged the
    // client certificate; a server that refuses it (or its absence) then just closes.
    answer.kind = ProbeAnswer::Kind::unreachable;
    answer.seen = "the TLS connection closed right after the handshake, without a byte: the broker refused the "
                  "client certificate, or its absence (--cert/--key)" +
                  (transport_error ? " (" + *transport_error + ")" : std::string());
  } else if (transport_error && bytes.empty()) {
    answer.kind = ProbeAnswer::Kind::closed;
    answer.seen = "the connection ended without a byte (" + *transport_error + ")";
  } else {
    answer = judge_probe_answer(version, bytes, closed || transport_error.has_value());
    if (timed_out) answer.seen += " within " + std::to_string(kProbeTimeoutMs / 1000) + " s";
  }
  if (answer.kind == ProbeAnswer::Kind::accepted && socket.state() == QAbstractSocket::ConnectedState) {
    static constexpr char disconnect[] = {'\xe0', '\x00'};
    socket.write(disconnect, sizeof disconnect);
    socket.flush();
  }
  socket.abort();
  return answer;
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

// The spawned broker crashed, leaked or stalled while scenario `o` ran: that is its
// failure (no statement), and what the scenario itself saw is listed as a consequence
// (docs/reports.md "Root cause first").
void blame_broker(ScenarioOutcome& o, report::BrokerFailure broker, const std::string& when) {
  auto& r = o.result;
  report::Failure f;
  f.message = describe_broker_failure(broker, when);
  f.no_statement = "the broker process failed";
  if (r.failure) {
    const auto& own = *r.failure;
    f.consequences.push_back({own.step, own.line, own.message, own.statement});
    f.consequences.insert(f.consequences.end(), own.consequences.begin(), own.consequences.end());
    f.last_packets = own.last_packets;
  }
  f.broker = std::move(broker);
  r.failure = std::move(f);
  r.status = report::Status::failed;
  o.failure_spec.clear();
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

int exit_status(const std::vector<ScenarioOutcome>& outcomes, bool had_load_errors,
                const std::vector<RunFinding>& findings, bool broker_failed) {
  if (had_load_errors) return 2;
  bool failed = broker_failed ||
                std::any_of(findings.begin(), findings.end(), [](const RunFinding& f) { return !f.known_deviation; });
  for (const auto& o : outcomes) {
    if (o.result.status == report::Status::error) return 2;
    if (o.result.status == report::Status::failed && !o.known_deviation) failed = true;
  }
  return failed ? 1 : 0;
}

Runner::Runner(RunSettings settings) : settings_(std::move(settings)) {
  if (!settings_.spawn.empty() && settings_.broker)
    spawned_ = std::make_unique<SpawnedBroker>(settings_.spawn, *settings_.broker, settings_.stop_grace,
                                               settings_.suppressions_file, settings_.rss_growth_limit_kib);
}

Runner::~Runner() = default;

int Runner::broker_starts() const { return spawned_ ? spawned_->starts() : 0; }

std::map<std::string, int> Runner::suppressed_reports() const {
  return spawned_ ? spawned_->suppressed() : std::map<std::string, int>{};
}

std::string Runner::probeClientId() const {
  // An id no scenario of this run (nor of another run) uses: "<run>probex" with a
  // prefix; with `--prefix none`, where scenario ids are as written, one no scenario writes.
  const Prefix prefix = prefixFor(kProbeIndex, 0);
  return prefix.active() ? prefix.id_prefix() : "mqtthprobe" + settings_.run_id;
}

Prefix Runner::prefixFor(std::size_t index, unsigned cut_run) const {
  if (!settings_.broker || settings_.prefix_template == "none") return Prefix();
  std::string n = index == kProbeIndex ? std::string("probe") : std::to_string(index + 1);
  if (cut_run > 0) n += "c" + std::to_string(cut_run);
  return make_prefix(settings_.prefix_template, settings_.run_id, n);
}

std::optional<std::string> Runner::probe(const std::vector<scenario::Scenario>& scenarios) {
  probed_ = true;
  probes_.clear();
  warnings_.clear();
  std::set<mqtt::Version> versions;
  // The server role plays the broker itself: there is no broker to probe for it.
  for (const auto& s : scenarios)
    if (s.role == scenario::Role::client && settings_.client_command.empty()) versions.insert(s.protocol == mqtt::Version::v3_1 ? mqtt::Version::v3_1_1 : s.protocol);
  if (versions.empty()) return std::nullopt;
  if (spawned_ && !spawned_->running())
    if (auto why = spawned_->start()) return fatal_ = *why;

  QObject scope;
  std::string host = settings_.broker ? settings_.broker->host : "127.0.0.1";
  quint16 port = settings_.broker ? settings_.broker->port : 0;
  if (!settings_.broker) {
    auto* server = new net::BrokerServer(settings_.embedded, &scope);
    if (!server->listen(QHostAddress::LocalHost, 0))
      return fatal_ = "cannot start the embedded broker: " + server->errorString().toStdString();
    port = server->port();
  }
  const std::string client_id = probeClientId();
  const auto& declared = settings_.profile.protocols;
  std::vector<std::pair<std::string, ProbeAnswer>> answers;
  std::vector<std::string> used;
  for (auto v : versions) {
    Probe p;
    p.protocol = protocol_name(v);
    p.capabilities = default_capabilities(p.protocol);
    apply_profile(settings_.profile, p.protocol, p.capabilities);
    used.push_back(p.protocol);
    const bool declared_out = declared && std::find(declared->begin(), declared->end(), p.protocol) == declared->end();
    const bool ruled_out =
        std::any_of(answers.begin(), answers.end(), [](const auto& a) { return rules_out_the_broker(a.second); });
    if (!declared_out && !ruled_out) {
      p.answer = probe_once(host, port, v, client_id, settings_.broker ? settings_.tls.get() : nullptr);
      answers.emplace_back(p.protocol, *p.answer);
      if (p.answer->kind == ProbeAnswer::Kind::accepted && v == mqtt::Version::v5 && p.answer->connack)
        apply_connack(p.answer->connack->properties, p.capabilities);
    }
    p.summary = describe(p.capabilities);
    probes_.push_back(std::move(p));
  }
  const std::string address =
      settings_.broker ? host + ":" + std::to_string(port) : "the embedded broker (" + host + ":" + std::to_string(port) + ")";
  const std::string profile_name = settings_.profile.name.empty() ? settings_.profile.file : settings_.profile.name;
  auto decision = decide_probes(address, answers, used, declared, profile_name);
  warnings_ = decision.warnings;
  for (auto& p : probes_)
    if (auto it = decision.skipped.find(p.protocol); it != decision.skipped.end()) p.skip_reason = it->second;
  fatal_ = decision.fatal;
  if (spawned_ && settings_.stall_threshold_ms > 0 && !fatal_) {
    // In a version the broker accepted: 3.1.1 unless the probe ruled it out.
    const bool v311 = std::any_of(probes_.begin(), probes_.end(),
                                  [](const Probe& p) { return p.protocol == "3.1.1" && !p.skip_reason; });
    spawned_->watch_with_bystander(v311 ? mqtt::Version::v3_1_1 : mqtt::Version::v5,
                                   "mqtthwatch" + settings_.run_id, settings_.stall_threshold_ms);
  }
  return fatal_;
}

std::vector<ScenarioOutcome> Runner::run(const std::vector<scenario::Scenario>& scenarios) {
  std::vector<ScenarioOutcome> outcomes(scenarios.size());
  findings_.clear();
  if (!probed_) probe(scenarios);
  if (fatal_) return {};
  auto probe_for = [&](mqtt::Version v) -> const Probe* {
    const auto name = protocol_name(v == mqtt::Version::v3_1 ? mqtt::Version::v3_1_1 : v);
    for (const auto& p : probes_)
      if (p.protocol == name) return &p;
    return nullptr;
  };
  // A scenario that does not run: skipped with `reason`, or an error with `failure`.
  auto not_run = [&](std::size_t i, std::string reason, std::optional<report::Failure> failure) {
    const auto& s = scenarios[i];
    auto& r = outcomes[i].result;
    r.name = s.name;
    r.file = s.file;
    r.protocol = protocol_name(s.protocol);
    r.spec = s.spec;
    r.status = failure ? report::Status::error : report::Status::skipped;
    r.skip_reason = std::move(reason);
    r.failure = std::move(failure);
    for (std::size_t k = 0; k < s.steps.size(); ++k) {
      report::StepResult sr;
      sr.index = static_cast<int>(k + 1);
      sr.line = s.steps[k].where.line;
      sr.kind = std::string(scenario::step_kind_name(s.steps[k].kind()));
      sr.status = report::Status::skipped;
      r.steps.push_back(std::move(sr));
    }
    if (settings_.on_finished) settings_.on_finished(outcomes[i]);
  };
  auto skip = [&](std::size_t i, std::string reason) { not_run(i, std::move(reason), std::nullopt); };

  // Run-level findings: one per kind of topic rewrite, counting the scenario runs that saw it.
  std::map<std::string, std::pair<std::size_t, std::set<std::size_t>>> rewrites;  // rule -> (finding, runs)
  auto note_rewrite = [&](std::size_t i, const TopicRewrite& rw) {
    auto [it, first] = rewrites.try_emplace(rw.rule, findings_.size(), std::set<std::size_t>{});
    if (first) {
      RunFinding f;
      f.statement = "MQTT-4.7.3-4";
      f.message = "the broker rewrites topics (" + rw.rule + "): a message published under '" + rw.sent +
                  "' is delivered under '" + rw.received + "'; the runner matched such topics as if unchanged";
      f.first_scenario = scenarios[i].name;
      f.first_file = scenarios[i].file;
      findings_.push_back(std::move(f));
    }
    it->second.second.insert(i);
    findings_[it->second.first].scenarios = it->second.second.size();
  };

  auto cannot_run = [&](std::size_t i, const std::string& why) {
    report::Failure f;
    f.message = why;
    f.no_statement = "the spawned broker could not be started (an error, not a spec violation)";
    not_run(i, "", std::move(f));
  };

  std::deque<std::size_t> queue;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const auto& s = scenarios[i];
    if ((s.role == scenario::Role::server) != !settings_.client_command.empty()) {
      skip(i, s.role == scenario::Role::server
                  ? "role: server: needs the client under test (run --client -- CMD..., docs/clients.md)"
                  : "run --client runs role: server scenarios only");
      continue;
    }
    if (s.role == scenario::Role::server) {
      queue.push_back(i);
      continue;
    }
    const Probe* p = probe_for(s.protocol);
    if (p && p->skip_reason) {
      skip(i, *p->skip_reason);
      continue;
    }
    std::vector<std::string> needs;
    for (auto f : s.requires_features) needs.emplace_back(scenario::feature_name(f));
    auto unmet = unmet_requirements(needs, p ? p->capabilities : default_capabilities(protocol_name(s.protocol)),
                                    !settings_.broker);
    if (!unmet.empty()) {
      std::string reason = "requires ";
      for (std::size_t k = 0; k < unmet.size(); ++k) reason += (k ? ", " : "") + unmet[k];
      skip(i, std::move(reason));
      continue;
    }
    if (const Prefix names = prefixFor(i, 0); names.active()) {
      outcomes[i].topic_prefix = names.topic_prefix() + "/";
      for (const auto& c : s.clients) outcomes[i].client_ids.emplace_back(c.name, names.client_id(c.client_id));
    }
    queue.push_back(i);
  }

  QEventLoop loop;
  std::size_t running = 0;
  std::size_t ledger_run = static_cast<std::uint32_t>(settings_.seed ^ (settings_.seed >> 32));
  if (ledger_run == 0) ledger_run = 1;
  std::function<void()> launch;
  std::function<void(QObject*, report::ScenarioResult&, std::vector<std::string>, std::size_t)> on_done;
  std::function<void(std::size_t)> finish;
  // run --spawn: what the broker did during scenario i (or as it was stopped after it).
  auto judge_broker = [&](std::size_t i) {
    std::optional<report::BrokerFailure> failure;
    std::string when;
    if (settings_.restart == RestartPolicy::per_scenario) {
      failure = spawned_->stop();
      when = "during this scenario or as it was stopped after it";
    } else {
      // A fresh connection's CONNECT answered: alive, and (one event loop) past the close
      // of the scenario's own connections, whose effects are this scenario's doing.
      bool answered = false;
      if (spawned_->running()) {
        const auto v = scenarios[i].protocol == mqtt::Version::v3_1 ? mqtt::Version::v3_1_1 : scenarios[i].protocol;
        const auto answer =
            probe_once(settings_.broker->host, settings_.broker->port, v, probeClientId(), settings_.tls.get());
        answered = answer.kind == ProbeAnswer::Kind::accepted || answer.kind == ProbeAnswer::Kind::refused ||
                   answer.kind == ProbeAnswer::Kind::version_refused;
      }
      failure = spawned_->after_scenario(answered);
      when = "during this scenario or right after it";
      // Restarted before the next scenario; a report it survived leaves it running.
      if (failure && failure->kind != "sanitizer") spawned_->stop();
    }
    if (failure) blame_broker(outcomes[i], std::move(*failure), when);
  };
  on_done = [&](QObject* unit, report::ScenarioResult& result, std::vector<std::string> spec, std::size_t i) {
    auto& o = outcomes[i];
    o.result = std::move(result);
    o.failure_spec = std::move(spec);
    if (spawned_) {
      // The scenario's clients close as the unit and its children are deleted: judge the
      // broker after that (the next turn of the loop), so that the close is this scenario's.
      QObject::connect(unit, &QObject::destroyed, &loop, [&, i] { QTimer::singleShot(0, &loop, [&, i] { finish(i); }); });
      unit->deleteLater();
      return;
    }
    unit->deleteLater();
    finish(i);
  };
  finish = [&](std::size_t i) {
    auto& o = outcomes[i];
    if (spawned_) judge_broker(i);
    // A known deviation matches the failure's primary statement only, never the scenario's
    // spec: list (which may not hold the statement the broker broke). A broker's crash,
    // leak or stall is never one.
    if (o.result.status == report::Status::failed && !(o.result.failure && o.result.failure->broker)) {
      if (const auto* dev = find_known_deviation(settings_.profile, o.result.name, o.result.file, o.failure_spec)) {
        o.known_deviation = *dev;
        const auto& p = settings_.profile;
        o.result.known_deviation = report::KnownDeviation{dev->statement, dev->reason, p.name.empty() ? p.file : p.name};
      }
    }
    if (settings_.on_finished) settings_.on_finished(o);
    --running;
    if (queue.empty() && running == 0) loop.quit();
    else launch();
  };
  launch = [&] {
    while (running < std::max(1u, settings_.jobs) && !queue.empty()) {
      const std::size_t i = queue.front();
      queue.pop_front();
      if (spawned_ && !spawned_->running()) {
        if (auto why = spawned_->start()) {
          // Not a scenario's failure: nothing more can run (exit status 2).
          cannot_run(i, *why);
          for (const auto k : queue) cannot_run(k, *why);
          queue.clear();
          if (running == 0) loop.quit();
          return;
        }
      }
      const auto& sc = scenarios[i];
      const std::uint32_t scenario_run = static_cast<std::uint32_t>(ledger_run + i);
      // Run k of scenario i (k > 0: exploration cut runs) gets its own identity.
      auto context_for = [this, i, scenario_run, &sc, &note_rewrite](unsigned k) {
        ExecContext ctx;
        ctx.broker = settings_.broker;
        ctx.tls = settings_.tls;
        ctx.embedded = &settings_.embedded;
        // Per scenario, so scenarios of one run never share sessions or retained messages.
        ctx.prefix = prefixFor(i, k);
        ctx.on_topic_rewrite = [&note_rewrite, i](const TopicRewrite& rw) { note_rewrite(i, rw); };
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
      if (sc.role == scenario::Role::server) {
        auto* exec = new ServerExecution(sc, ServerContext{settings_.client_command}, &loop);
        unit = exec;
        result_of = [exec]() -> report::ScenarioResult& { return exec->result(); };
        spec_of = [exec] { return exec->failure_spec(); };
        start = [exec] { exec->start(); };
        QObject::connect(exec, &ServerExecution::finished, &loop, [&, unit, result_of, spec_of, i] { on_done(unit, result_of(), spec_of(), i); });
      } else if (explore) {
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
  if (spawned_) broker_failure_ = spawned_->stop();
  for (auto& f : findings_)
    if (const auto* dev = find_known_deviation(settings_.profile, f.first_scenario, f.first_file, {f.statement}))
      f.known_deviation = *dev;
  return outcomes;
}

}  // namespace mqtth::runner
