// BrokerServer: the embedded reference broker's shell -- a listening QTcpServer and
// Linux epoll around the sans-I/O engine::BrokerEngine (harness/engine).
//
// The shell owns sockets, the clock and one timer; the engine owns every protocol
// decision. One Qt event loop, no threads, nothing blocks:
//   accept      -> engine.open(now)
//   readable    -> engine.receive(id, bytes, now)
//   peer close/reset -> engine.closed(id, now)
//   timer       -> engine.advance(now); the single QTimer is re-armed at
//                  engine.next_deadline() after every call into the engine
// and after each call the engine's take_output() is written to the right socket; an
// output marked `close` closes that socket once its bytes are flushed.
//
// Connections are plain non-blocking descriptors in one epoll instance, which the event
// loop watches through one QSocketNotifier. epoll's ready list keeps the order in which
// connections became readable, so packets of different connections are handled in the
// order they arrived; Qt's dispatcher, with a QTcpSocket per connection, hands ready
// sockets out in its own order (docs/broker-server.md, "The paho interoperability
// suite"). Linux only.
//
// Beside it, listenTls() opens an mqtts:// listener (docs/tls.md): a QSslServer whose
// connections are QSslSockets driven by Qt's dispatcher (TLS needs OpenSSL between the
// descriptor and the engine); they feed the same engine, so sessions are shared across
// both listeners. The plain-TCP path above is unchanged.
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
#include <QHostAddress>
#include <QLoggingCategory>
#include <QObject>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

class QSocketNotifier;
class QSslConfiguration;
class QSslServer;
class QSslSocket;
class QTcpServer;
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
  // Starts accepting TLS connections on address:port with `configuration` (server
  // certificate and key; VerifyPeer with CA certificates to require client certificates).
  // At most one TLS listener; false and tlsErrorString() when it cannot be bound.
  bool listenTls(const QHostAddress& address, quint16 port, const QSslConfiguration& configuration);
  quint16 tlsPort() const;          // 0 when not listening on TLS
  QHostAddress tlsAddress() const;
  QString tlsErrorString() const;
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
  struct Connection {
    int fd = -1;
    // False once the engine asked to close it: its late bytes and its loss never reach
    // the engine; the shell only waits for the peer's FIN (lingering close).
    bool engineOwned = true;
    std::string pending;  // bytes the kernel did not take yet, sent on EPOLLOUT
    QSslSocket* tls = nullptr;  // an mqtts:// connection (fd is -1): Qt does its I/O
  };
  using Connections = std::unordered_map<engine::ConnectionId, Connection>;

  void accept(int fd);
  void acceptTls();
  void readTls(engine::ConnectionId id);
  // Unsent bytes of a connection: its own queue, or the QSslSocket's.
  static qint64 pendingBytes(const Connection& connection);
  // Handles the connections epoll reports ready, in the order it reports them.
  void onReady();
  // Reads until the socket is empty, the peer is gone or kMaxReadPerWake; in the last
  // case the connection goes into unread_.
  void readFrom(engine::ConnectionId id);
  void writePending(engine::ConnectionId id);
  // Sends now what the kernel takes; queues the rest and watches for EPOLLOUT.
  void sendOrQueue(Connection& connection, engine::ConnectionId id, std::string_view bytes);
  void watchWritable(Connection& connection, engine::ConnectionId id, bool writable);
  // The peer closed or reset, or the close timeout ran out: closes the descriptor, tells
  // the engine if it still owned the connection, emits clientDisconnected.
  void lost(engine::ConnectionId id);
  void drop(Connections::iterator it);  // closes the descriptor and forgets it, no signal
  void onTimer();
  // Writes everything the engine queued and re-arms the deadline timer.
  void flushEngine();
  void closeConnection(Connection& connection, engine::ConnectionId id);

  engine::BrokerEngine engine_;
  QElapsedTimer clock_;
  QTcpServer* server_ = nullptr;  // child of this; accepts, then hands the descriptor over
  QSslServer* tlsServer_ = nullptr;  // child of this, made by listenTls()
  QTimer* timer_ = nullptr;       // child of this
  QTimer* resumeReading_ = nullptr;  // child of this; 0 ms, while unread_ is not empty
  int epoll_ = -1;
  QSocketNotifier* readyNotifier_ = nullptr;  // on epoll_
  Connections connections_;  // every open connection, including those being closed
  std::vector<engine::ConnectionId> unread_;  // stopped at kMaxReadPerWake, in order
  std::vector<char> readBuffer_;  // shared by all connections: one recv() at a time
  qint64 maxPendingWrite_ = 16 * 1024 * 1024;
};

}  // namespace mqtth::net
