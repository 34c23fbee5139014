#include "ServerExecution.hpp"

#include <QHostAddress>
#include <QProcess>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include <algorithm>

#include <mqtt/hex.hpp>

#include "ExecutionText.hpp"
#include "mqtth/report/Spec.hpp"
#include "mqtth/runner/Runner.hpp"

namespace mqtth::runner {

namespace {

constexpr std::size_t kOutputKeep = 64 * 1024;
constexpr std::size_t kLastPackets = 12;
// A breach the spec gives no statement id: it names none rather than the scenario's.
// What the client application was told (adapter protocol) is no wire rule of the spec.
constexpr std::string_view kAdapterReport = "what the client application reported (docs/clients.md), no wire rule";
constexpr std::string_view kNoneNumbered = "the spec numbers no rule for this";

std::string substitute(std::string word, const std::string& key, const std::string& value) {
  for (auto pos = word.find(key); pos != std::string::npos; pos = word.find(key, pos + value.size()))
    word.replace(pos, key.size(), value);
  return word;
}

std::string tail(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  while (lines-- > 0 && pos > 0) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos == 0 ? 0 : pos + 1);
}

}  // namespace

ServerExecution::ServerExecution(const scenario::Scenario& scenario, ServerContext context, QObject* parent)
    : QObject(parent), scenario_(scenario), context_(std::move(context)), obligations_(scenario.protocol) {
  result_ = planned_result(scenario);
  auto timer = [this](auto slot) {
    auto* t = new QTimer(this);
    t->setSingleShot(true);
    connect(t, &QTimer::timeout, this, slot);
    return t;
  };
  step_timer_ = timer([this] {
    if (finished_ || !on_deadline_) return;
    auto deadline = std::move(on_deadline_);
    check_ = nullptr;
    deadline();
  });
  scenario_timer_ = timer([this] {
    fail("the scenario's timeout (" + ms_text(scenario_.timeout.count()) + ") ran out", {}, "the harness's own timeout");
  });
  keep_alive_timer_ = timer([this] {
    if (finished_) return;
    if (auto breach = obligations_.idle_check(elapsedMs())) fail(breach->message, breach->statement);
    else armKeepAlive();
  });
}

ServerExecution::~ServerExecution() { teardown(); }

double ServerExecution::elapsedMs() const { return clock_.isValid() ? static_cast<double>(clock_.nsecsElapsed()) / 1e6 : 0.0; }

void ServerExecution::start() {
  clock_.start();
  scenario_timer_->start(static_cast<int>(scenario_.timeout.count()));
  if (context_.client_command.empty()) {
    error("a role: server scenario needs the client under test: mqtt-harness run --client -- CMD...");
    return;
  }
  server_ = new QTcpServer(this);
  connect(server_, &QTcpServer::newConnection, this, &ServerExecution::onNewConnection);
  if (!server_->listen(QHostAddress::LocalHost, 0)) {
    error("cannot listen on 127.0.0.1: " + server_->errorString().toStdString());
    return;
  }
  const std::string port = std::to_string(server_->serverPort());
  QStringList args;
  for (std::size_t i = 1; i < context_.client_command.size(); ++i)
    args << QString::fromStdString(substitute(substitute(context_.client_command[i], "{host}", "127.0.0.1"), "{port}", port));
  process_ = new QProcess(this);
  connect(process_, &QProcess::readyReadStandardOutput, this, &ServerExecution::onClientOutput);
  connect(process_, &QProcess::readyReadStandardError, this, [this] {
    const QByteArray err = process_->readAllStandardError();
    output_.append(err.constData(), static_cast<std::size_t>(err.size()));
    if (output_.size() > kOutputKeep) output_.erase(0, output_.size() - kOutputKeep);
  });
  connect(process_, &QProcess::finished, this, &ServerExecution::onClientFinished);
  connect(process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
    if (e == QProcess::FailedToStart)
      error("cannot start the client under test '" + context_.client_command.front() + "': " + process_->errorString().toStdString());
  });
  process_->start(QString::fromStdString(context_.client_command.front()), args);
  runNextStep();
}

// ---------------------------------------------------------------------------------------
// The step loop

void ServerExecution::runNextStep() {
  if (finished_) return;
  if (step_index_ >= scenario_.steps.size()) {
    finish(report::Status::passed);
    return;
  }
  step_started_ms_ = elapsedMs();
  beginStep(scenario_.steps[step_index_]);
}

void ServerExecution::beginStep(const scenario::Step& step) {
  std::visit(
      [this](const auto& s) {
        if constexpr (requires { this->run(s); }) run(s);
        else error(std::string("not a step of role: server"));
      },
      step.action);
}

void ServerExecution::wait(std::function<bool()> check, std::optional<scenario::Duration> within,
                           std::function<void()> on_deadline) {
  check_ = std::move(check);
  on_deadline_ = std::move(on_deadline);
  const auto limit = within ? within->count() : scenario_.timeout.count();
  step_timer_->start(static_cast<int>(std::max<std::int64_t>(0, limit)));
  evaluate();
}

void ServerExecution::evaluate() {
  if (finished_ || !check_) return;
  if (check_()) completeStep();
}

void ServerExecution::completeStep() {
  if (finished_) return;
  check_ = nullptr;
  on_deadline_ = nullptr;
  step_timer_->stop();
  auto& sr = result_.steps[step_index_];
  sr.status = report::Status::passed;
  sr.duration_ms = elapsedMs() - step_started_ms_;
  ++step_index_;
  QTimer::singleShot(0, this, &ServerExecution::runNextStep);
}

void ServerExecution::fail(std::string message, std::string statement, std::string no_statement) {
  if (finished_) return;
  report::Failure f;
  const scenario::Step* step = step_index_ < scenario_.steps.size() ? &scenario_.steps[step_index_] : nullptr;
  if (step) {
    f.step = static_cast<int>(step_index_ + 1);
    f.line = step->where.line;
    result_.steps[step_index_].status = report::Status::failed;
    result_.steps[step_index_].message = message;
    result_.steps[step_index_].duration_ms = elapsedMs() - step_started_ms_;
  }
  // A check of the step's own names the step's `spec:`, else the scenario's only statement.
  if (statement.empty() && no_statement.empty()) {
    if (step && !step->spec.empty()) statement = step->spec;
    else if (scenario_.spec.size() == 1) statement = scenario_.spec.front();
  }
  const auto version = scenario_.protocol == mqtt::Version::v5 ? report::SpecVersion::v5 : report::SpecVersion::v3_1_1;
  if (!statement.empty() && report::find_statement(version, statement)) {
    f.statement = statement;
    failure_spec_ = {statement};
  } else {
    f.no_statement = no_statement.empty() ? "the spec numbers no rule for this check" : no_statement;
  }
  f.message = std::move(message);
  if (!output_.empty()) f.actual = "the client's last output:\n" + tail(output_, 12);
  const auto& packets = result_.packets;
  f.last_packets.assign(packets.size() > kLastPackets ? packets.end() - kLastPackets : packets.begin(), packets.end());
  result_.failure = std::move(f);
  finish(report::Status::failed);
}

void ServerExecution::error(std::string message) {
  if (finished_) return;
  report::Failure f;
  f.message = std::move(message);
  f.no_statement = "scenario error";
  if (step_index_ < scenario_.steps.size()) {
    f.step = static_cast<int>(step_index_ + 1);
    f.line = scenario_.steps[step_index_].where.line;
    result_.steps[step_index_].status = report::Status::error;
  }
  result_.failure = std::move(f);
  finish(report::Status::error);
}

void ServerExecution::finish(report::Status status) {
  if (finished_) return;
  finished_ = true;
  check_ = nullptr;
  on_deadline_ = nullptr;
  step_timer_->stop();
  scenario_timer_->stop();
  keep_alive_timer_->stop();
  result_.status = status;
  teardown();
  result_.duration_ms = elapsedMs();
  QTimer::singleShot(0, this, &ServerExecution::finished);
}

void ServerExecution::teardown() {
  finished_ = true;
  for (auto& link : links_)
    if (link->socket) {
      link->socket->disconnect(this);
      link->socket->abort();
    }
  if (server_) server_->close();
  if (process_ && process_->state() != QProcess::NotRunning) {
    process_->disconnect(this);
    // An adapter ends at the end of its stdin; SIGTERM, then SIGKILL, bound the wait.
    const int grace = static_cast<int>(context_.stop_grace.count());
    process_->closeWriteChannel();
    if (!process_->waitForFinished(grace)) {
      process_->terminate();
      if (!process_->waitForFinished(grace)) {
        process_->kill();
        process_->waitForFinished(grace);
      }
    }
    const QByteArray rest = process_->readAllStandardOutput() + process_->readAllStandardError();
    output_.append(rest.constData(), static_cast<std::size_t>(rest.size()));
  }
}

// ---------------------------------------------------------------------------------------
// Links and the client process

ServerExecution::Link* ServerExecution::current() { return current_; }

void ServerExecution::onNewConnection() {
  while (server_->hasPendingConnections()) {
    QTcpSocket* socket = server_->nextPendingConnection();
    if (finished_) {
      socket->abort();
      continue;
    }
    auto link = std::make_unique<Link>();
    link->socket = socket;
    link->version = scenario_.protocol;
    Link* l = link.get();
    links_.push_back(std::move(link));
    obligations_.connection_opened();
    connect(socket, &QTcpSocket::readyRead, this, [this, l] { onReadyRead(*l); });
    connect(socket, &QTcpSocket::disconnected, this, [this, l] { onLinkClosed(*l); });
    if (socket->bytesAvailable() > 0) onReadyRead(*l);
  }
  evaluate();
}

void ServerExecution::onReadyRead(Link& link) {
  if (finished_) return;
  const QByteArray data = link.socket->readAll();
  link.framer.feed(std::string_view(data.constData(), static_cast<std::size_t>(data.size())));
  while (!finished_) {
    const auto frame = link.framer.next();
    if (frame.status == mqtt::FrameInfo::Status::need_more) break;
    if (frame.status == mqtt::FrameInfo::Status::error) {
      record(report::Direction::to_broker, "MALFORMED", nullptr, {});
      fail("the client sent bytes that are not an MQTT packet: " + std::string(frame.error.message),
           std::string(frame.error.spec), frame.error.spec.empty() ? std::string(kNoneNumbered) : std::string());
      return;
    }
    const std::string_view raw(reinterpret_cast<const char*>(frame.packet.data()), frame.packet.size());
    const auto decoded = mqtt::decode(frame.packet, mqtt::DecodeOptions{link.version});
    if (!decoded.ok()) {
      record(report::Direction::to_broker, "MALFORMED", nullptr, raw);
      fail("the client sent a packet the codec refuses (" + std::string(mqtt::to_string(decoded.error.code)) + " at byte " +
               std::to_string(decoded.error.offset) + "): " + std::string(decoded.error.message),
           std::string(decoded.error.spec), decoded.error.spec.empty() ? std::string(kNoneNumbered) : std::string());
      return;
    }
    if (const auto* c = std::get_if<mqtt::ConnectView>(&decoded.value)) link.version = c->protocol_version;
    mqtt::Json json = mqtt::to_json(decoded.value, link.version);
    const auto type = mqtt::packet_type(decoded.value);
    record(report::Direction::to_broker, type_name(type), json, raw);
    const auto breaches = obligations_.client_sent(decoded.value, elapsedMs());
    if (!breaches.empty()) {
      const auto& breach = breaches.front();
      fail(breach.message, breach.statement, breach.statement.empty() ? std::string(kNoneNumbered) : std::string());
      return;
    }
    link.received.push_back({type, std::move(json), false});
    // A broker answers PINGREQ (3.12.4); the scenario need not script it.
    if (type == mqtt::PacketType::pingreq && link.connack_sent) send(link, std::string("\xd0\x00", 2));
  }
  armKeepAlive();
  evaluate();
}

void ServerExecution::onLinkClosed(Link& link) {
  if (finished_ || link.closed) return;
  link.closed = true;
  if (&link == current_ || !current_) obligations_.connection_closed();
  armKeepAlive();
  evaluate();
}

void ServerExecution::onClientOutput() {
  const QByteArray data = process_->readAllStandardOutput();
  output_.append(data.constData(), static_cast<std::size_t>(data.size()));
  if (output_.size() > kOutputKeep) output_.erase(0, output_.size() - kOutputKeep);
  stdout_line_.append(data.constData(), static_cast<std::size_t>(data.size()));
  for (auto end = stdout_line_.find('\n'); end != std::string::npos; end = stdout_line_.find('\n')) {
    std::string line = stdout_line_.substr(0, end);
    stdout_line_.erase(0, end + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // `received TOPIC QOS PAYLOAD` (docs/clients.md "Adapter protocol"); other lines are
    // kept as output only.
    if (!line.starts_with("received ")) {
      app_events_.push_back({std::move(line), false});
      continue;
    }
    const auto topic_end = line.find(' ', 9);
    if (topic_end == std::string::npos || topic_end + 2 > line.size()) continue;
    AppMessage m;
    m.topic = line.substr(9, topic_end - 9);
    m.qos = static_cast<std::uint8_t>(line[topic_end + 1] - '0');
    m.payload = topic_end + 3 <= line.size() ? line.substr(topic_end + 3) : std::string();
    app_received_.push_back(std::move(m));
  }
  evaluate();
}

void ServerExecution::onClientFinished() {
  if (finished_) return;
  // The adapter protocol (docs/clients.md) has an adapter exit only at the end of its stdin,
  // which the harness closes after the last step; no step expects an exit, not even after
  // the client's DISCONNECT (the application may connect again). An exit with status 0 is
  // a failure too: the scenario's remaining steps could only time out, and would say less.
  const bool crashed = process_->exitStatus() == QProcess::CrashExit;
  fail(std::string("the client under test ended during the scenario (") +
           (crashed ? "killed by a signal" : "exit " + std::to_string(process_->exitCode())) +
           "); an adapter exits only at the end of its stdin, after the last step",
       {}, "the client process ended");
}

void ServerExecution::send(Link& link, const std::string& bytes) {
  if (!link.socket || link.closed) return;
  link.socket->write(bytes.data(), static_cast<qint64>(bytes.size()));
  mqtt::Framer framer;
  framer.feed(bytes);
  for (;;) {
    const auto frame = framer.next();
    if (frame.status != mqtt::FrameInfo::Status::complete) {
      if (frame.status == mqtt::FrameInfo::Status::error || framer.buffered() > 0)
        record(report::Direction::from_broker, "RAW", nullptr,
               std::string_view(bytes).substr(static_cast<std::size_t>(framer.stream_offset())));
      break;
    }
    const std::string_view raw(reinterpret_cast<const char*>(frame.packet.data()), frame.packet.size());
    const auto decoded = mqtt::decode(frame.packet, mqtt::DecodeOptions{link.version});
    if (!decoded.ok()) {
      record(report::Direction::from_broker, "MALFORMED", nullptr, raw);
      continue;
    }
    record(report::Direction::from_broker, type_name(mqtt::packet_type(decoded.value)), mqtt::to_json(decoded.value, link.version), raw);
    obligations_.server_sent(decoded.value, elapsedMs());
    if (const auto* c = std::get_if<mqtt::ConnackView>(&decoded.value); c && c->reason_code == 0) link.connack_sent = true;
  }
  armKeepAlive();
}

void ServerExecution::record(report::Direction direction, const std::string& type, mqtt::Json decoded, std::string_view raw) {
  report::PacketRecord r;
  r.client = scenario_.clients.empty() ? std::string("client") : scenario_.clients.front().name;
  r.direction = direction;
  r.time_ms = elapsedMs();
  r.type = type;
  r.decoded = std::move(decoded);
  r.hex = mqtt::to_hex(raw.substr(0, 512));
  if (result_.packets.size() < 2000) result_.packets.push_back(std::move(r));
}

void ServerExecution::armKeepAlive() {
  if (finished_) return;
  const auto due = obligations_.keep_alive_due_ms();
  if (!due) {
    keep_alive_timer_->stop();
    return;
  }
  keep_alive_timer_->start(static_cast<int>(std::max(0.0, *due - elapsedMs())) + 1);
}

std::string ServerExecution::receivedSummary(const Link& link) const {
  std::string out;
  for (const auto& r : link.received)
    if (!r.consumed) out += (out.empty() ? "" : ", ") + r.json.dump();
  return out.empty() ? "nothing unconsumed" : out;
}

// ---------------------------------------------------------------------------------------
// Steps

void ServerExecution::run(const scenario::AcceptConnectionStep& s) {
  wait(
      [this] {
        for (auto& link : links_)
          if (!link->claimed) {
            link->claimed = true;
            current_ = link.get();
            return true;
          }
        return false;
      },
      s.within, [this, s] {
        fail("the client under test opened no connection within " + ms_text((s.within ? *s.within : scenario_.timeout).count()),
             {}, "the client under test did not connect (its output may say why)");
      });
}

void ServerExecution::run(const scenario::SendRawStep& s) {
  Link* link = current();
  if (!link || link->closed) {
    fail("the client's connection is closed: nothing to send on", {}, "the connection the step needs is gone");
    return;
  }
  send(*link, std::string(s.bytes.begin(), s.bytes.end()));
  completeStep();
}

void ServerExecution::run(const scenario::ExpectPacketStep& s) {
  if (s.qos_effective) {
    error("expect_packet: `qos: effective` means nothing in role: server");
    return;
  }
  Link* link = current();
  if (!link) {
    error("expect_packet before accept_connection: no connection of the client under test yet");
    return;
  }
  wait(
      [this, link, s] {
        for (auto& r : link->received)
          if (!r.consumed && r.type == s.type && json_subset_match(s.match, r.json)) {
            r.consumed = true;
            if (r.type == mqtt::PacketType::publish) last_publish_ = r.json;
            if (r.type == mqtt::PacketType::pubrel) last_pubrel_ = r.json;
            if (r.type == mqtt::PacketType::subscribe) last_subscribe_ = r.json;
            return true;
          }
        if (link->closed) {
          fail("the client's connection closed before it sent " + type_name(s.type) + " " + s.match.dump() + "; it sent " +
               receivedSummary(*link));
        }
        return false;
      },
      s.within,
      [this, link, s] {
        fail("the client sent no " + type_name(s.type) + " matching " + s.match.dump() + " within " +
             ms_text((s.within ? *s.within : scenario_.timeout).count()) + "; it sent " + receivedSummary(*link));
      });
}

void ServerExecution::run(const scenario::ExpectNoPacketStep& s) {
  Link* link = current();
  if (!link) {
    error("expect_no_packet before accept_connection");
    return;
  }
  wait(
      [this, link, s] {
        for (const auto& r : link->received) {
          // Keep alive is the client's own business (a PINGREQ may come at any time).
          const bool unwanted = s.type ? r.type == *s.type : r.type != mqtt::PacketType::pingreq;
          if (!r.consumed && unwanted) {
            fail("the client sent " + r.json.dump() + " where no " + (s.type ? type_name(*s.type) : std::string("packet")) +
                 " may come");
            return false;
          }
        }
        return false;
      },
      s.duration, [this] { completeStep(); });
}

void ServerExecution::run(const scenario::ExpectDisconnectStep& s) {
  Link* link = current();
  if (!link) {
    error("expect_disconnect before accept_connection");
    return;
  }
  wait(
      [this, link, s] {
        if (!link->closed) return false;
        if (link->closed_by_harness) {
          error("expect_disconnect: the harness closed this connection itself");
          return false;
        }
        if (s.reason_code) {
          const bool sent = std::any_of(link->received.begin(), link->received.end(), [&](const Received& r) {
            return r.type == mqtt::PacketType::disconnect && r.json.value("reason_code", 0) == *s.reason_code;
          });
          if (!sent) {
            fail("the client closed the connection without a DISCONNECT with reason code " + hex_byte(*s.reason_code));
            return false;
          }
        }
        return true;
      },
      s.within,
      [this, s] {
        fail("the client did not close the connection within " + ms_text((s.within ? *s.within : scenario_.timeout).count()));
      });
}

void ServerExecution::run(const scenario::DisconnectStep& s) {
  Link* link = current();
  if (!link) {
    error("disconnect before accept_connection: no connection to close");
    return;
  }
  // The client may have closed first (e.g. after a refused CONNACK): nothing left to close.
  if (link->closed) {
    completeStep();
    return;
  }
  // 3.1.1 has no DISCONNECT from a server: closing is all it can do.
  if (!s.abrupt && link->version == mqtt::Version::v5) {
    mqtt::Json packet = {{"type", "DISCONNECT"}, {"reason_code", s.reason_code.value_or(0)}};
    if (!s.properties.empty()) packet["properties"] = s.properties;
    auto bytes = mqtt::encode_json(packet, mqtt::Version::v5);
    if (!bytes.ok()) {
      error("disconnect: " + bytes.error->message);
      return;
    }
    send(*link, bytes.value);
  }
  link->closed_by_harness = true;
  link->closed = true;
  obligations_.connection_closed();
  if (s.abrupt) link->socket->abort();
  else link->socket->disconnectFromHost();
  armKeepAlive();
  completeStep();
}

void ServerExecution::run(const scenario::SleepStep& s) {
  wait([] { return false; }, s.duration, [this] { completeStep(); });
}

void ServerExecution::run(const scenario::ClientCommandStep& s) {
  if (!process_ || process_->state() == QProcess::NotRunning) {
    fail("the client under test is not running: cannot send '" + s.command + "'", {}, "the client process ended");
    return;
  }
  const std::string line = s.command + "\n";
  process_->write(line.data(), static_cast<qint64>(line.size()));
  completeStep();
}

void ServerExecution::run(const scenario::ExpectClientReceivedStep& s) {
  auto matches = [s](const AppMessage& m) {
    return !m.counted && m.topic == s.topic && (!s.qos || *s.qos == m.qos) && (!s.payload || *s.payload == m.payload);
  };
  wait(
      [this, s, matches] {
        const auto n = static_cast<std::uint32_t>(std::count_if(app_received_.begin(), app_received_.end(), matches));
        if (n < s.count) return false;
        std::uint32_t taken = 0;
        for (auto& m : app_received_)
          if (taken < s.count && matches(m)) {
            m.counted = true;
            ++taken;
          }
        return true;
      },
      s.within,
      [this, s, matches] {
        const auto n = std::count_if(app_received_.begin(), app_received_.end(), matches);
        std::string got;
        for (const auto& m : app_received_)
          if (!m.counted) got += (got.empty() ? "" : ", ") + m.topic + " qos" + std::to_string(m.qos) + " '" + m.payload + "'";
        fail("the client application received " + std::to_string(n) + " of " + std::to_string(s.count) + " message(s) on '" +
             s.topic + "'" + (s.payload ? " '" + *s.payload + "'" : "") + " within " +
             ms_text((s.within ? *s.within : scenario_.timeout).count()) + "; its adapter reported " +
             (got.empty() ? std::string("none") : got),
             {}, std::string(kAdapterReport));
      });
}

void ServerExecution::run(const scenario::ExpectClientEventStep& s) {
  auto is_event = [s](const AppEvent& e) { return !e.taken && e.line.substr(0, e.line.find(' ')) == s.event; };
  wait(
      [this, is_event] {
        auto it = std::find_if(app_events_.begin(), app_events_.end(), is_event);
        if (it == app_events_.end()) return false;
        it->taken = true;
        return true;
      },
      s.within,
      [this, s] {
        std::string got;
        for (const auto& e : app_events_)
          if (!e.taken) got += (got.empty() ? "'" : ", '") + e.line + "'";
        fail("the client under test's adapter reported no '" + s.event + "' within " +
                 ms_text((s.within ? *s.within : scenario_.timeout).count()) + "; it reported " + (got.empty() ? "nothing" : got),
             {}, std::string(kAdapterReport));
      });
}

void ServerExecution::run(const scenario::SendAckStep& s) {
  Link* link = current();
  if (!link || link->closed) {
    fail("the client's connection is closed: nothing to acknowledge on", {}, "the connection the step needs is gone");
    return;
  }
  const auto& taken = s.type == mqtt::PacketType::pubcomp  ? last_pubrel_
                      : s.type == mqtt::PacketType::suback ? last_subscribe_
                                                           : last_publish_;
  if (!taken || !taken->contains("packet_id")) {
    error("send_ack " + type_name(s.type) + ": no expect_packet took the packet it acknowledges (QoS 0 has no packet id)");
    return;
  }
  mqtt::Json packet = {{"type", type_name(s.type)}, {"packet_id", (*taken)["packet_id"]}};
  if (s.type == mqtt::PacketType::suback) {
    mqtt::Json codes = mqtt::Json::array();
    for (const auto& sub : (*taken)["subscriptions"])
      codes.push_back(s.reason_code ? mqtt::Json(*s.reason_code) : sub.value("qos", mqtt::Json(0)));
    packet["reason_codes"] = codes;
  } else if (s.reason_code) {
    packet["reason_code"] = *s.reason_code;
  }
  auto bytes = mqtt::encode_json(packet, link->version);
  if (!bytes.ok()) {
    error("send_ack: " + bytes.error->message);
    return;
  }
  send(*link, bytes.value);
  completeStep();
}

}  // namespace mqtth::runner
