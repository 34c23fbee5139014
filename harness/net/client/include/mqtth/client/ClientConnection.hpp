// ClientConnection: the Qt shell around a ClientSession. Owns one QTcpSocket at a time and
// a QTimer armed at the session's next_deadline(); turns session events into signals.
//
// The session outlives the socket: reconnect() opens a new TCP connection and resumes the
// same session state (set clean_start=false in the options for a persistent session).
// connectToBroker() takes any host:port, so a fault proxy can sit in between. With
// setTls() each connection is a QSslSocket (mqtts://, docs/tls.md) and CONNECT waits for
// the handshake.
//
// Writes are batched: commands append to the session's output and one socket write
// happens per event-loop turn (or on flush(), or when a WriteBatch ends).
//
// Logging category: mqtth.client.
#pragma once

#include <mqtth/client/ClientSession.hpp>
#include <mqtth/tls/Tls.hpp>

#include <QByteArray>
#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QObject>
#include <QString>

#include <memory>
#include <optional>
#include <string>
#include <vector>

class QTcpSocket;
class QTimer;

Q_DECLARE_LOGGING_CATEGORY(lcMqtthClient)

namespace mqtth::client {

class ClientConnection : public QObject {
  Q_OBJECT

 public:
  explicit ClientConnection(QObject* parent = nullptr, SessionConfig config = {});
  ~ClientConnection() override;

  void setConnectOptions(ConnectOptions options);
  const ConnectOptions& connectOptions() const { return options_; }
  // TLS for the connections opened from now on (nullptr: plain TCP). A handshake failure
  // is a transportError() worded by tls::describe_failure().
  void setTls(std::shared_ptr<const tls::Client> tls) { tls_ = std::move(tls); }

  // Opens TCP to host:port (the broker, or a proxy in front of it); CONNECT is written as
  // soon as the socket is connected. Any previous socket is aborted first.
  void connectToBroker(const QString& host, quint16 port);
  void connectToBroker(const QString& host, quint16 port, ConnectOptions options);
  // New TCP connection to the last host:port, same session (uses connectOptions()).
  void reconnect();
  // Clean disconnect: DISCONNECT, then the socket closes once it is written.
  void disconnectFromBroker(std::uint8_t reasonCode = mqtt::reason::normal_disconnection,
                            mqtt::Properties properties = {});
  // Abrupt close: TCP close without DISCONNECT (the broker must publish the will).
  void abort();

  CommandResult publish(PublishRequest request);
  CommandResult subscribe(SubscribeRequest request);
  CommandResult unsubscribe(UnsubscribeRequest request);
  CommandResult sendPacket(const mqtt::Packet& packet);
  void sendRaw(const QByteArray& bytes);
  void ping();
  // Writes pending output now instead of at the end of this event-loop turn.
  void flush();
  // ClientSession::report_resends_missing() now, its violations dispatched as signals.
  std::size_t reportResendsMissing();

  // While a WriteBatch is alive, commands schedule no flush of their own; when the last
  // one ends, everything they produced goes out in one write, in the same loop turn. For
  // callers that issue commands and want them on the wire now (the bench's open-loop
  // sender): the default path posts one queued flush per loop turn, which costs an
  // event-dispatcher wake-up per publish when every turn carries a single message.
  class WriteBatch {
   public:
    explicit WriteBatch(ClientConnection& connection) : connection_(connection) { ++connection_.writeBatches_; }
    ~WriteBatch() { connection_.endWriteBatch(); }
    WriteBatch(const WriteBatch&) = delete;
    WriteBatch& operator=(const WriteBatch&) = delete;

   private:
    ClientConnection& connection_;
  };

  bool isSocketOpen() const;  // TCP connected (CONNACK may still be pending)
  SessionState state() const { return session_.state(); }
  QString host() const { return host_; }
  quint16 port() const { return port_; }
  ClientSession& session() { return session_; }
  const ClientSession& session() const { return session_; }
  Misbehaviour& misbehaviour() { return session_.misbehaviour(); }
  // Monotonic ms on the clock the session sees (for timestamps in events).
  TimeMs now() const;

 signals:
  void transportConnected();                      // TCP (and TLS) up, CONNECT written
  void transportError(const QString& message);    // connect refused, reset ... (closed follows when it was open)
  void sessionEvent(const mqtth::client::Event& event);  // every event, before the specific signal
  void packetReceived(const mqtth::client::event::PacketReceived& event);
  void packetSent(const mqtth::client::event::PacketSent& event);
  void connackReceived(const mqtth::client::event::ConnackReceived& event);
  void subackReceived(const mqtth::client::event::SubackReceived& event);
  void unsubackReceived(const mqtth::client::event::UnsubackReceived& event);
  void messageDelivered(const mqtth::client::event::MessageDelivered& event);
  void publishAccepted(const mqtth::client::event::PublishAccepted& event);
  void publishCompleted(const mqtth::client::event::PublishCompleted& event);
  void publishAbandoned(const mqtth::client::event::PublishAbandoned& event);
  void disconnectReceived(const mqtth::client::event::DisconnectReceived& event);
  void brokerViolation(const mqtth::client::event::BrokerViolation& event);
  void closed(const mqtth::client::event::ConnectionClosed& event);

 private:
  void openSocket();
  void onConnected();
  void onReadyRead();
  void onDisconnected();
  void onErrorOccurred();
  void onTimer();
  void afterSessionCall();  // schedule a flush, dispatch events, re-arm the timer
  void writeOutput();
  void dispatchEvents();
  void armTimer();
  void scheduleFlush();
  void endWriteBatch();
  void dropSocket();

  ClientSession session_;
  ConnectOptions options_;
  std::shared_ptr<const tls::Client> tls_;
  QList<QSslError> tlsErrors_;  // of the current handshake
  QString host_;
  quint16 port_ = 0;
  QTcpSocket* socket_ = nullptr;  // child of this; replaced per connection
  QTimer* timer_ = nullptr;       // child of this
  QElapsedTimer clock_;
  std::string outBuffer_;
  std::vector<Event> events_;
  QByteArray readBuffer_;
  std::optional<TimeMs> armedDeadline_;  // what timer_ is running for, while it runs
  int writeBatches_ = 0;                  // live WriteBatch objects (onReadyRead holds one too)
  bool flushScheduled_ = false;
  bool dispatching_ = false;
  bool closingSocket_ = false;
};

}  // namespace mqtth::client

Q_DECLARE_METATYPE(mqtth::client::Event)
Q_DECLARE_METATYPE(mqtth::client::event::PacketReceived)
Q_DECLARE_METATYPE(mqtth::client::event::PacketSent)
Q_DECLARE_METATYPE(mqtth::client::event::ConnackReceived)
Q_DECLARE_METATYPE(mqtth::client::event::SubackReceived)
Q_DECLARE_METATYPE(mqtth::client::event::UnsubackReceived)
Q_DECLARE_METATYPE(mqtth::client::event::MessageDelivered)
Q_DECLARE_METATYPE(mqtth::client::event::PublishAccepted)
Q_DECLARE_METATYPE(mqtth::client::event::PublishCompleted)
Q_DECLARE_METATYPE(mqtth::client::event::PublishAbandoned)
Q_DECLARE_METATYPE(mqtth::client::event::DisconnectReceived)
Q_DECLARE_METATYPE(mqtth::client::event::ConnectionClosed)
Q_DECLARE_METATYPE(mqtth::client::event::BrokerViolation)
