#include "mqtth/net/BrokerServer.hpp"

#include <QSocketNotifier>
#include <QSslServer>
#include <QSslSocket>
#include <QTcpServer>
#include <QTimer>

#include <algorithm>
#include <array>
#include <climits>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcBroker, "mqtth.broker", QtInfoMsg)

namespace mqtth::net {
namespace {

// Pending connections the kernel may hold before accept(): Qt's default of 50 makes a
// burst of a thousand CONNECTs (scripts/e2e/test_broker_scale.py) hit SYN retries.
constexpr int kListenBacklog = 1024;
// A socket the engine asked to close gets this long to flush its last bytes (e.g. a
// DISCONNECT 0x81) and for the peer to close its side, then it is aborted.
constexpr int kCloseFlushTimeoutMs = 5000;
// Ready descriptors taken from epoll per wake; more stay ready and wake the loop again,
// so timers and accepts are not starved by a storm of traffic.
constexpr int kMaxEventsPerWake = 256;
// Bytes read from one connection per wake; a peer that sends more is served again on the
// next wake, so one flood does not starve the other connections and the timers.
constexpr std::size_t kMaxReadPerWake = 1024 * 1024;
// Edge-triggered: a descriptor joins epoll's ready list when new bytes arrive (or it
// becomes writable while EPOLLOUT is asked for) and leaves it when epoll_wait() reports
// it, so the list is in arrival order. Level-triggered epoll would put every reported
// descriptor back at the list's head end, and bytes arriving on it while the shell is
// still busy would then be taken before older bytes of other connections.
constexpr std::uint32_t kWatched = EPOLLIN | EPOLLET;

// Takes accepted descriptors before Qt wraps them in a QTcpSocket: the broker does the
// connection I/O itself (see BrokerServer.hpp for why).
class Acceptor : public QTcpServer {
 public:
  Acceptor(std::function<void(int)> onAccepted, QObject* parent)
      : QTcpServer(parent), onAccepted_(std::move(onAccepted)) {}

 protected:
  void incomingConnection(qintptr descriptor) override { onAccepted_(int(descriptor)); }

 private:
  std::function<void(int)> onAccepted_;
};

// Sends as much of `bytes` as the kernel takes now and returns how many went out, or
// nothing when the connection is broken: epoll then reports EPOLLERR/EPOLLHUP and
// readFrom() tells the engine.
std::optional<std::size_t> sendAvailable(int fd, std::string_view bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += std::size_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return std::nullopt;
    }
  }
  return sent;
}

}  // namespace

BrokerServer::BrokerServer(engine::BrokerConfig config, QObject* parent)
    : QObject(parent),
      engine_(std::move(config)),
      server_(new Acceptor([this](int fd) { accept(fd); }, this)),
      timer_(new QTimer(this)),
      resumeReading_(new QTimer(this)),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      readBuffer_(64 * 1024) {
  clock_.start();
  server_->setListenBacklogSize(kListenBacklog);
  if (epoll_ < 0) qFatal("mqtth.broker: epoll_create1 failed: %s", std::strerror(errno));
  readyNotifier_ = new QSocketNotifier(epoll_, QSocketNotifier::Read, this);
  connect(readyNotifier_, &QSocketNotifier::activated, this, &BrokerServer::onReady);
  resumeReading_->setSingleShot(true);
  connect(resumeReading_, &QTimer::timeout, this, &BrokerServer::onReady);
  timer_->setSingleShot(true);
  // Keep-alive is judged at 1.5x the interval (MQTT-3.1.2-24 in 3.1.1, MQTT-3.1.2-22 in
  // 5.0); a coarse timer's 5% slack is harmless, but precise costs nothing with one timer.
  timer_->setTimerType(Qt::PreciseTimer);
  connect(timer_, &QTimer::timeout, this, &BrokerServer::onTimer);
  engine_.set_logger([](engine::ConnectionId id, std::string_view line) {
    qCDebug(lcBroker).noquote() << "conn" << id << QString::fromUtf8(line.data(), qsizetype(line.size()));
  });
}

BrokerServer::~BrokerServer() {
  close();
  delete readyNotifier_;  // before its descriptor goes
  ::close(epoll_);
}

bool BrokerServer::listen(const QHostAddress& address, quint16 port) {
  if (!server_->listen(address, port)) {
    qCWarning(lcBroker).noquote() << "cannot listen on" << address.toString() << port << ":"
                                  << server_->errorString();
    return false;
  }
  qCDebug(lcBroker).noquote() << "listening on" << server_->serverAddress().toString() << server_->serverPort();
  emit listening(server_->serverPort());
  return true;
}

bool BrokerServer::listenTls(const QHostAddress& address, quint16 port, const QSslConfiguration& configuration) {
  if (!tlsServer_) {
    tlsServer_ = new QSslServer(this);
    tlsServer_->setListenBacklogSize(kListenBacklog);
    // Emitted once a connection's handshake is done; one that fails never gets here.
    connect(tlsServer_, &QSslServer::pendingConnectionAvailable, this, &BrokerServer::acceptTls);
    connect(tlsServer_, &QSslServer::errorOccurred, this, [](QSslSocket* socket, QAbstractSocket::SocketError) {
      qCDebug(lcBroker).noquote() << "TLS handshake failed:" << socket->errorString();
    });
  }
  tlsServer_->setSslConfiguration(configuration);
  if (!tlsServer_->listen(address, port)) {
    qCWarning(lcBroker).noquote() << "cannot listen (TLS) on" << address.toString() << port << ":"
                                  << tlsServer_->errorString();
    return false;
  }
  return true;
}

quint16 BrokerServer::tlsPort() const { return tlsServer_ && tlsServer_->isListening() ? tlsServer_->serverPort() : 0; }
QHostAddress BrokerServer::tlsAddress() const { return tlsServer_ ? tlsServer_->serverAddress() : QHostAddress(); }
QString BrokerServer::tlsErrorString() const { return tlsServer_ ? tlsServer_->errorString() : QString(); }

void BrokerServer::acceptTls() {
  while (tlsServer_->hasPendingConnections()) {
    auto* socket = qobject_cast<QSslSocket*>(tlsServer_->nextPendingConnection());
    if (!socket) continue;
    socket->setParent(this);
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    const engine::ConnectionId id = engine_.open(nowMs());
    Connection connection;
    connection.tls = socket;
    connections_.emplace(id, std::move(connection));
    connect(socket, &QSslSocket::readyRead, this, [this, id] { readTls(id); });
    connect(socket, &QSslSocket::disconnected, this, [this, id] {
      readTls(id);  // bytes that arrived right before the close come first
      lost(id);
    });
    emit clientConnected(id);
    flushEngine();  // the engine may refuse it at once (max_connections)
    // Bytes that came with the end of the handshake are already buffered.
    if (socket->bytesAvailable() > 0) readTls(id);
  }
}

void BrokerServer::readTls(engine::ConnectionId id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  const QByteArray bytes = it->second.tls->readAll();
  // A connection the engine closed is only waiting for the peer's close: drop its bytes.
  if (bytes.isEmpty() || !it->second.engineOwned) return;
  engine_.receive(id, std::string_view(bytes.constData(), std::size_t(bytes.size())), nowMs());
  flushEngine();
}

qint64 BrokerServer::pendingBytes(const Connection& connection) {
  return connection.tls ? connection.tls->bytesToWrite() + connection.tls->encryptedBytesToWrite()
                        : qint64(connection.pending.size());
}

void BrokerServer::close() {
  server_->close();
  if (tlsServer_) tlsServer_->close();
  timer_->stop();
  resumeReading_->stop();
  unread_.clear();
  // No will processing and no signals: this is the end of the broker's life.
  for (auto& [id, connection] : connections_) {
    if (connection.tls) {
      connection.tls->disconnect(this);
      connection.tls->abort();
      connection.tls->deleteLater();
      continue;
    }
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, connection.fd, nullptr);
    ::close(connection.fd);
  }
  connections_.clear();
}

bool BrokerServer::isListening() const { return server_->isListening(); }
quint16 BrokerServer::port() const { return server_->isListening() ? server_->serverPort() : 0; }
QHostAddress BrokerServer::address() const { return server_->serverAddress(); }
QString BrokerServer::errorString() const { return server_->errorString(); }
int BrokerServer::connectionCount() const {
  return int(std::count_if(connections_.begin(), connections_.end(),
                           [](const auto& entry) { return entry.second.engineOwned; }));
}

void BrokerServer::accept(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  // MQTT is request/response with small packets: Nagle would add latency to every ack.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const engine::ConnectionId id = engine_.open(nowMs());
  epoll_event event{};
  event.events = kWatched;
  event.data.u64 = id;
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) {
    qCWarning(lcBroker).noquote() << "conn" << id << "cannot watch the socket:" << std::strerror(errno);
    ::close(fd);
    engine_.closed(id, nowMs());
    flushEngine();
    return;
  }
  connections_.emplace(id, Connection{fd, true, {}, nullptr});
  emit clientConnected(id);
  flushEngine();  // the engine may refuse it at once (max_connections)
}

void BrokerServer::onReady() {
  // Bytes left unread on the last wake arrived before anything epoll reports now.
  for (const engine::ConnectionId id : std::exchange(unread_, {}))
    if (connections_.contains(id)) readFrom(id);
  std::array<epoll_event, kMaxEventsPerWake> events;
  int n;
  do {
    n = ::epoll_wait(epoll_, events.data(), int(events.size()), 0);
  } while (n < 0 && errno == EINTR);
  for (int i = 0; i < n; ++i) {
    const engine::ConnectionId id = events[std::size_t(i)].data.u64;
    const std::uint32_t ready = events[std::size_t(i)].events;
    // An earlier event of this batch may have closed it (write overflow, lost peer).
    if (!connections_.contains(id)) continue;
    if (ready & EPOLLOUT) writePending(id);
    if (!connections_.contains(id)) continue;
    if (ready & (EPOLLIN | EPOLLHUP | EPOLLERR)) readFrom(id);
  }
  // Edge-triggered epoll will not report those bytes again: wake up for them.
  if (!unread_.empty()) resumeReading_->start();
}

void BrokerServer::readFrom(engine::ConnectionId id) {
  std::size_t total = 0;
  while (total < kMaxReadPerWake) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    const ssize_t n = ::recv(it->second.fd, readBuffer_.data(), readBuffer_.size(), 0);
    if (n > 0) {
      total += std::size_t(n);
      // A connection the engine closed is only waiting for the peer's FIN: drop its bytes.
      if (!it->second.engineOwned) continue;
      engine_.receive(id, std::string_view(readBuffer_.data(), std::size_t(n)), nowMs());
      flushEngine();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // 0: the peer closed (a half-close ends the connection too, as with QTcpSocket);
    // below 0: reset or another error.
    if (n < 0) qCDebug(lcBroker).noquote() << "conn" << id << "socket error:" << std::strerror(errno);
    lost(id);
    return;
  }
  unread_.push_back(id);
}

void BrokerServer::lost(engine::ConnectionId id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  const bool engineOwned = it->second.engineOwned;
  drop(it);
  if (engineOwned) engine_.closed(id, nowMs());  // loss without DISCONNECT -> will (engine decides)
  emit clientDisconnected(id);
  if (engineOwned) flushEngine();
}

void BrokerServer::drop(std::unordered_map<engine::ConnectionId, Connection>::iterator it) {
  if (QSslSocket* socket = it->second.tls) {
    socket->disconnect(this);
    socket->abort();
    socket->deleteLater();
    connections_.erase(it);
    return;
  }
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, it->second.fd, nullptr);
  ::close(it->second.fd);
  connections_.erase(it);
}

void BrokerServer::watchWritable(Connection& connection, engine::ConnectionId id, bool writable) {
  epoll_event event{};
  event.events = kWatched | (writable ? std::uint32_t(EPOLLOUT) : 0u);
  event.data.u64 = id;
  ::epoll_ctl(epoll_, EPOLL_CTL_MOD, connection.fd, &event);
}

void BrokerServer::sendOrQueue(Connection& connection, engine::ConnectionId id, std::string_view bytes) {
  if (connection.tls) {  // QSslSocket encrypts and queues itself
    connection.tls->write(bytes.data(), qint64(bytes.size()));
    return;
  }
  std::size_t sent = 0;
  if (connection.pending.empty()) {  // otherwise behind the queue, so byte order is kept
    const auto n = sendAvailable(connection.fd, bytes);
    if (!n) return;  // what the peer can no longer read is dropped
    sent = *n;
  }
  if (sent == bytes.size()) return;
  if (connection.pending.empty()) watchWritable(connection, id, true);
  connection.pending.append(bytes.substr(sent));
}

void BrokerServer::writePending(engine::ConnectionId id) {
  Connection& connection = connections_.at(id);
  const auto sent = sendAvailable(connection.fd, connection.pending);
  connection.pending.erase(0, sent.value_or(connection.pending.size()));
  if (!connection.pending.empty()) return;
  std::string().swap(connection.pending);  // an idle connection keeps no buffer
  watchWritable(connection, id, false);
  if (!connection.engineOwned) ::shutdown(connection.fd, SHUT_WR);  // the close it was waiting for
}

void BrokerServer::onTimer() {
  engine_.advance(nowMs());
  flushEngine();
}

void BrokerServer::closeConnection(Connection& connection, engine::ConnectionId id) {
  connection.engineOwned = false;
  emit closingConnection(id);
  if (connection.tls) {
    // Flushes what is queued, sends close_notify, then closes; disconnected() calls lost().
    connection.tls->disconnectFromHost();
    QTimer::singleShot(kCloseFlushTimeoutMs, this, [this, id] {
      if (connections_.contains(id)) lost(id);
    });
    return;
  }
  // Lingering close: send FIN once the queued bytes are out (writePending() does it if
  // some are still queued), keep reading and dropping until the peer closes too.
  // Closing outright while the peer's bytes are still arriving makes the kernel answer
  // with RST, which can destroy our last packet (the DISCONNECT 0x81 that explains the
  // close, MQTT-4.13.1-1) before the peer has read it.
  if (connection.pending.empty()) ::shutdown(connection.fd, SHUT_WR);
  QTimer::singleShot(kCloseFlushTimeoutMs, this, [this, id] {
    if (connections_.contains(id)) lost(id);
  });
}

void BrokerServer::flushEngine() {
  // Writing or closing can find a connection lost, which calls into the engine again;
  // loop until the engine has nothing left instead of recursing.
  while (engine_.has_output()) {
    for (engine::Output& out : engine_.take_output()) {
      auto it = connections_.find(out.connection);
      if (it == connections_.end() || !it->second.engineOwned) continue;  // the engine hears of it via closed()
      Connection& connection = it->second;
      if (!out.bytes.empty()) {
        sendOrQueue(connection, out.connection, std::string_view(out.bytes.data(), out.bytes.size()));
        if (pendingBytes(connection) > maxPendingWrite_) {
          qCWarning(lcBroker).noquote() << "conn" << out.connection << "not reading:"
                                        << pendingBytes(connection) << "bytes unsent; aborting";
          drop(it);
          engine_.closed(out.connection, nowMs());
          emit clientDisconnected(out.connection);
          continue;
        }
      }
      if (out.close) closeConnection(connection, out.connection);
    }
  }
  if (const auto deadline = engine_.next_deadline()) {
    const std::uint64_t now = nowMs();
    const std::uint64_t wait = *deadline > now ? *deadline - now : 0;
    timer_->start(int(std::min<std::uint64_t>(wait, INT_MAX)));
  } else {
    timer_->stop();
  }
}

}  // namespace mqtth::net
