// BrokerServer: the embedded reference broker's Qt shell -- a QTcpServer around the
// sans-I/O engine::BrokerEngine (harness/engine).
//
// The shell owns sockets, the clock and one timer; the engine owns every protocol
// decision. One event loop, no threads, nothing blocks:
//   accept      -> engine.open(now)
//   readyRead   -> engine.receive(id, bytes, now)
//   disconnected/socket error -> engine.closed(id, now)
//   timer       -> engine.advance(now); the single QTimer is re-armed at
//                  engine.next_deadline() after every call into the engine
// and after each call the engine's take_output() is written to the right socket; an
// output marked `close` closes that socket once its bytes are flushed.
//
// The clock is a QElapsedTimer (monotonic milliseconds since the server was made), so
// wall-clock jumps never fire or delay keep-alive, will-delay or expiry timers.
//
// Used by `mqtt-harness broker` (harness/cli/cmd_broker.cpp) and in-process by the
// scenario runner: construct with a BrokerConfig, listen(address, 0), read port().
// Logging category: mqtth.broker (QT_LOGGING_RULES="mqtth.broker.debug=true").
#pragma once

#include <mqtth/engine/BrokerConfig.hpp>
#include <mqtth/engine/BrokerEngine.hpp>

#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QLoggingCategory>
#include <QObject>

#include <cstdint>

class QTcpServer;
class QTcpSocket;
class QTimer;

Q_DECLARE_LOGGING_CATEGORY(lcBroker)

namespace mqtth::net {

class BrokerServer : public QObject {
  Q_OBJECT

 public:
  explicit BrokerServer(engine::BrokerConfig config = {}, QObject* parent = nullptr);
  ~BrokerServer() override;

  // Starts accepting on address:port (port 0: the OS picks a free one; read port()).
  // Returns false and sets errorString() when the address cannot be bound. Emits
  // listening(port()) on success.
  bool listen(const QHostAddress& address = QHostAddress::LocalHost, quint16 port = 0);
  // Stops accepting and aborts every connection (no will processing: the engine is left
  // as it was, this is the end of the broker's life).
  void close();

  bool isListening() const;
  quint16 port() const;             // 0 when not listening
  QHostAddress address() const;     // the bound address
  QString errorString() const;
  int connectionCount() const;      // open TCP connections the engine knows about

  // The engine, for in-process introspection (sessions(), stats(), check_invariants()).
  // Calls that feed it input must go through the server, not here.
  const engine::BrokerEngine& engine() const { return engine_; }

  // A connection whose peer neither reads nor closes would make the shell buffer output
  // without bound (QoS 0 has no flow control); above this many unsent bytes it is aborted
  // and reported to the engine as lost. Default 16 MiB.
  void setMaxPendingWriteBytes(qint64 bytes) { maxPendingWrite_ = bytes; }

  // Milliseconds since the server was constructed: the engine's clock.
  std::uint64_t nowMs() const { return static_cast<std::uint64_t>(clock_.elapsed()); }

 signals:
  void listening(quint16 port);
  // A TCP connection was accepted and handed to the engine (before any MQTT byte).
  void clientConnected(quint64 connection);
  // A connection is gone, whoever closed it (peer, engine decision, write overflow).
  void clientDisconnected(quint64 connection);
  // The engine asked to close this connection (protocol error, refusal, keep-alive
  // timeout, takeover, DISCONNECT handled); clientDisconnected follows once it is closed.
  void closingConnection(quint64 connection);

 private:
  void acceptPending();
  void onReadyRead(QTcpSocket* socket, engine::ConnectionId id);
  void onDisconnected(QTcpSocket* socket, engine::ConnectionId id);
  void onTimer();
  // Writes everything the engine queued and re-arms the deadline timer.
  void flushEngine();
  void closeSocket(QTcpSocket* socket, engine::ConnectionId id);

  engine::BrokerEngine engine_;
  QElapsedTimer clock_;
  QTcpServer* server_ = nullptr;  // child of this
  QTimer* timer_ = nullptr;       // child of this
  // Connections the engine still knows. A socket being closed at the engine's request
  // is removed first, so its late readyRead/disconnected never reach the engine.
  QHash<engine::ConnectionId, QTcpSocket*> sockets_;
  qint64 maxPendingWrite_ = 16 * 1024 * 1024;
};

}  // namespace mqtth::net
