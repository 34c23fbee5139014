// One `role: server` scenario on the runner's event loop (docs/clients.md): the harness
// listens on a free 127.0.0.1 port, starts the client under test (`run --client -- CMD`,
// `{host}` and `{port}` substituted) and plays the broker side of its links as the steps
// say. Every byte the client sends goes through the strict codec and ClientObligations, so
// a client that breaks a MUST fails the scenario even where no step looked for it. Like
// Execution, nothing sleeps: each step installs a check re-evaluated after every event and
// a deadline.
#pragma once

#include <QElapsedTimer>
#include <QObject>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <mqtt/codec.hpp>
#include <mqtt/json.hpp>

#include "ClientObligations.hpp"
#include "mqtth/report/Report.hpp"
#include "mqtth/scenario/Scenario.hpp"

class QProcess;
class QTcpServer;
class QTcpSocket;
class QTimer;

namespace mqtth::runner {

struct ServerContext {
  std::vector<std::string> client_command;  // run --client -- CMD...: `{host}` `{port}` substituted
  std::chrono::milliseconds stop_grace{2000};  // after closing its stdin, then SIGTERM, then SIGKILL
};

class ServerExecution : public QObject {
  Q_OBJECT

 public:
  ServerExecution(const scenario::Scenario& scenario, ServerContext context, QObject* parent = nullptr);
  ~ServerExecution() override;

  void start();
  report::ScenarioResult& result() { return result_; }
  const std::vector<std::string>& failure_spec() const { return failure_spec_; }

 signals:
  void finished();

 private:
  struct Received {
    mqtt::PacketType type{};
    mqtt::Json json;
    bool consumed = false;
  };
  // One TCP connection from the client under test.
  struct Link {
    QTcpSocket* socket = nullptr;
    mqtt::Framer framer;
    mqtt::Version version = mqtt::Version::v5;
    std::vector<Received> received;
    bool claimed = false;     // an accept_connection step took it
    bool closed = false;      // ended (either side)
    bool closed_by_harness = false;
    bool connack_sent = false;
  };
  struct AppMessage {  // a `received TOPIC QOS PAYLOAD` line of the adapter
    std::string topic;
    std::uint8_t qos = 0;
    std::string payload;
    bool counted = false;
  };

  void runNextStep();
  void beginStep(const scenario::Step& step);
  void wait(std::function<bool()> check, std::optional<scenario::Duration> within, std::function<void()> on_deadline);
  void evaluate();
  void completeStep();
  void fail(std::string message, std::string statement = {}, std::string no_statement = {});
  void error(std::string message);
  void finish(report::Status status);
  void teardown();
  double elapsedMs() const;

  void onNewConnection();
  void onReadyRead(Link& link);
  void onLinkClosed(Link& link);
  void onClientOutput();
  void onClientFinished();
  void send(Link& link, const std::string& bytes);
  void record(report::Direction direction, const std::string& type, mqtt::Json decoded, std::string_view raw);
  void armKeepAlive();
  Link* current();
  std::string receivedSummary(const Link& link) const;

  // The steps of role: server (scenario::steps::server_role_step()).
  void run(const scenario::AcceptConnectionStep& s);
  void run(const scenario::SendRawStep& s);
  void run(const scenario::ExpectPacketStep& s);
  void run(const scenario::ExpectNoPacketStep& s);
  void run(const scenario::ExpectDisconnectStep& s);
  void run(const scenario::DisconnectStep& s);
  void run(const scenario::SleepStep& s);
  void run(const scenario::ClientCommandStep& s);
  void run(const scenario::ExpectClientReceivedStep& s);
  void run(const scenario::SendAckStep& s);
  void run(const scenario::ExpectClientEventStep& s);

  const scenario::Scenario& scenario_;
  ServerContext context_;
  report::ScenarioResult result_;
  std::vector<std::string> failure_spec_;
  ClientObligations obligations_;

  QTcpServer* server_ = nullptr;
  QProcess* process_ = nullptr;
  std::string output_;       // the client's stdout and stderr (last 64 KiB), for the report
  std::string stdout_line_;  // an incomplete stdout line
  std::vector<AppMessage> app_received_;
  struct AppEvent {  // every other adapter output line
    std::string line;
    bool taken = false;
  };
  std::vector<AppEvent> app_events_;
  std::vector<std::unique_ptr<Link>> links_;
  Link* current_ = nullptr;
  // The decode JSON of the last PUBLISH, PUBREL and SUBSCRIBE an expect_packet took (send_ack).
  std::optional<mqtt::Json> last_publish_, last_pubrel_, last_subscribe_;

  QElapsedTimer clock_;
  QTimer* step_timer_ = nullptr;
  QTimer* scenario_timer_ = nullptr;
  QTimer* keep_alive_timer_ = nullptr;
  std::size_t step_index_ = 0;
  double step_started_ms_ = 0;
  std::function<bool()> check_;
  std::function<void()> on_deadline_;
  bool finished_ = false;
};

}  // namespace mqtth::runner
