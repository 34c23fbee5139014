#include "mqtth/net/BrokerServer.hpp"

#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include <algorithm>
#include <climits>
#include <string_view>

#include <cerrno>

#include <sys/socket.h>

Q_LOGGING_CATEGORY(lcBroker, "mqtth.broker", QtInfoMsg)

namespace mqtth::net {
namespace {

// Pending connections the kernel may hold before accept(): Qt's default of 50 makes a
// burst of a thousand CONNECTs (scripts/e2e/test_broker_scale.py) hit SYN retries.
constexpr int kListenBacklog = 1024;
// A socket the engine asked to close gets this long to flush its last bytes (e.g. a
// DISCONNECT 0x81) and for the peer to close its side, then it is aborted.
constexpr int kCloseFlushTimeoutMs = 5000;

// Writes as much of `data` as the kernel takes right now, straight to the socket's
// descriptor, and returns how many bytes went out (0 on EAGAIN or error: the caller queues
// the rest in QTcpSocket, and a real error surfaces through Qt as a disconnect).
//
// Why not just QTcpSocket::write(): it copies every write into a ring-buffer chunk of
// 32 KiB that the socket then keeps for its whole life, which alone breaks the budget of
// 10 KiB per idle connection (docs/broker-server.md, measured with heaptrack). Only
// used while Qt's own write buffer is empty, so byte order is kept.
qint64 sendNow(QTcpSocket* socket, const char* data, qint64 size) {
  const qintptr fd = socket->socketDescriptor();
  if (fd < 0) return 0;
  qint64 sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(int(fd), data + sent, std::size_t(size - sent), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  return sent;
}

}  // namespace

BrokerServer::BrokerServer(engine::BrokerConfig config, QObject* parent)
    : QObject(parent),
      engine_(std::move(config)),
      server_(new QTcpServer(this)),
      timer_(new QTimer(this)) {
  clock_.start();
  server_->setListenBacklogSize(kListenBacklog);
  timer_->setSingleShot(true);
  // Keep-alive is judged at 1.5x the interval (MQTT-3.1.2-24 in 3.1.1, MQTT-3.1.2-22 in
  // 5.0); a coarse timer's 5% slack is harmless, but precise costs nothing with one timer.
  timer_->setTimerType(Qt::PreciseTimer);
  connect(server_, &QTcpServer::newConnection, this, &BrokerServer::acceptPending);
  connect(timer_, &QTimer::timeout, this, &BrokerServer::onTimer);
  engine_.set_logger([](engine::ConnectionId id, std::string_view line) {
    qCDebug(lcBroker).noquote() << "conn" << id << QString::fromUtf8(line.data(), qsizetype(line.size()));
  });
}

BrokerServer::~BrokerServer() { close(); }

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

void BrokerServer::close() {
  server_->close();
  timer_->stop();
  // Forget the engine's connections first so the disconnected() that abort() emits does
  // not feed the engine (and publish wills) while the broker is going away.
  sockets_.clear();
  const auto children = server_->findChildren<QTcpSocket*>(Qt::FindDirectChildrenOnly);
  for (QTcpSocket* socket : children) {
    socket->disconnect(this);
    socket->abort();
    socket->deleteLater();
  }
}

bool BrokerServer::isListening() const { return server_->isListening(); }
quint16 BrokerServer::port() const { return server_->isListening() ? server_->serverPort() : 0; }
QHostAddress BrokerServer::address() const { return server_->serverAddress(); }
QString BrokerServer::errorString() const { return server_->errorString(); }
int BrokerServer::connectionCount() const { return int(sockets_.size()); }

void BrokerServer::acceptPending() {
  while (QTcpSocket* socket = server_->nextPendingConnection()) {  // parent: server_
    // MQTT is request/response with small packets: Nagle would add latency to every ack.
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    const engine::ConnectionId id = engine_.open(nowMs());
    sockets_.insert(id, socket);
    connect(socket, &QTcpSocket::readyRead, this, [this, socket, id] { onReadyRead(socket, id); });
    connect(socket, &QTcpSocket::disconnected, this, [this, socket, id] { onDisconnected(socket, id); });
    connect(socket, &QTcpSocket::errorOccurred, this, [socket, id](QAbstractSocket::SocketError) {
      qCDebug(lcBroker).noquote() << "conn" << id << "socket error:" << socket->errorString();
    });
    emit clientConnected(id);
    flushEngine();  // the engine may refuse it at once (max_connections)
  }
}

void BrokerServer::onReadyRead(QTcpSocket* socket, engine::ConnectionId id) {
  if (!sockets_.contains(id)) {
    socket->readAll();  // the engine closed it; drop what is still arriving
    return;
  }
  const QByteArray data = socket->readAll();
  engine_.receive(id, std::string_view(data.constData(), std::size_t(data.size())), nowMs());
  flushEngine();
}

void BrokerServer::onDisconnected(QTcpSocket* socket, engine::ConnectionId id) {
  const bool engineKnew = sockets_.remove(id);
  if (engineKnew) engine_.closed(id, nowMs());  // loss without DISCONNECT -> will (engine decides)
  socket->deleteLater();
  emit clientDisconnected(id);
  if (engineKnew) flushEngine();
}

void BrokerServer::onTimer() {
  engine_.advance(nowMs());
  flushEngine();
}

void BrokerServer::closeSocket(QTcpSocket* socket, engine::ConnectionId id) {
  sockets_.remove(id);
  emit closingConnection(id);
  if (socket->bytesToWrite() == 0 && socket->socketDescriptor() >= 0) {
    // Lingering close: send FIN now, keep reading (and dropping, see onReadyRead) until the
    // peer closes too. Closing outright while the peer's bytes are still arriving makes
    // the kernel answer with RST, which can destroy our last packet (the DISCONNECT 0x81
    // that explains the close, MQTT-4.13.1-1) before the peer has read it.
    ::shutdown(int(socket->socketDescriptor()), SHUT_WR);
  } else {
    // disconnectFromHost() waits for Qt's write buffer to drain, then closes.
    socket->disconnectFromHost();
  }
  if (socket->state() != QAbstractSocket::UnconnectedState)
    QTimer::singleShot(kCloseFlushTimeoutMs, socket, [socket] { socket->abort(); });
}

void BrokerServer::flushEngine() {
  // Writing or closing can emit disconnected() synchronously, which may call into the
  // engine again; loop until the engine has nothing left instead of recursing.
  while (engine_.has_output()) {
    for (engine::Output& out : engine_.take_output()) {
      QTcpSocket* socket = sockets_.value(out.connection, nullptr);
      if (!socket) continue;  // already gone: the engine hears of it via closed()
      if (!out.bytes.empty()) {
        const qint64 size = qint64(out.bytes.size());
        const qint64 sent = socket->bytesToWrite() == 0 ? sendNow(socket, out.bytes.data(), size) : 0;
        if (sent < size) socket->write(out.bytes.data() + sent, size - sent);
        if (socket->bytesToWrite() > maxPendingWrite_) {
          qCWarning(lcBroker).noquote() << "conn" << out.connection << "not reading:"
                                        << socket->bytesToWrite() << "bytes unsent; aborting";
          sockets_.remove(out.connection);
          engine_.closed(out.connection, nowMs());
          socket->abort();
          continue;
        }
      }
      if (out.close) closeSocket(socket, out.connection);
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
