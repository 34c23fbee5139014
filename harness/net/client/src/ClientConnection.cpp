#include <mqtth/client/ClientConnection.hpp>

#include <QMetaObject>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTimer>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <limits>

Q_LOGGING_CATEGORY(lcMqtthClient, "mqtth.client")

namespace mqtth::client {

ClientConnection::ClientConnection(QObject* parent, SessionConfig config)
    : QObject(parent), session_(config), timer_(new QTimer(this)) {
  timer_->setSingleShot(true);
  timer_->setTimerType(Qt::PreciseTimer);
  connect(timer_, &QTimer::timeout, this, &ClientConnection::onTimer);
  clock_.start();
}

ClientConnection::~ClientConnection() {
  // The socket is our child and dies with us; make sure its signals do not reach a
  // half-destroyed object.
  if (socket_) socket_->disconnect(this);
}

TimeMs ClientConnection::now() const { return clock_.elapsed(); }

void ClientConnection::setConnectOptions(ConnectOptions options) { options_ = std::move(options); }

void ClientConnection::connectToBroker(const QString& host, quint16 port, ConnectOptions options) {
  options_ = std::move(options);
  connectToBroker(host, port);
}

void ClientConnection::connectToBroker(const QString& host, quint16 port) {
  host_ = host;
  port_ = port;
  openSocket();
}

void ClientConnection::reconnect() { openSocket(); }

void ClientConnection::openSocket() {
  dropSocket();
  tlsErrors_.clear();
  QSslSocket* ssl = tls_ ? tls::new_client_socket(*tls_, this) : nullptr;
  socket_ = ssl ? ssl : new QTcpSocket(this);
  if (ssl) {
    connect(ssl, &QSslSocket::encrypted, this, &ClientConnection::onConnected);
    connect(ssl, &QSslSocket::sslErrors, this, [this](const QList<QSslError>& errors) { tlsErrors_ = errors; });
  } else {
    connect(socket_, &QTcpSocket::connected, this, &ClientConnection::onConnected);
  }
  connect(socket_, &QTcpSocket::readyRead, this, &ClientConnection::onReadyRead);
  connect(socket_, &QTcpSocket::disconnected, this, &ClientConnection::onDisconnected);
  connect(socket_, &QTcpSocket::errorOccurred, this, &ClientConnection::onErrorOccurred);
  closingSocket_ = false;
  qCDebug(lcMqtthClient) << "connecting to" << host_ << port_ << "client id" << options_.client_id.c_str();
  if (ssl) ssl->connectToHostEncrypted(host_, port_, tls_->peerName(host_));
  else socket_->connectToHost(host_, port_);
}

// Detaches and deletes the current socket without waiting for anything; the session is
// told the connection ended (once) if it had started.
void ClientConnection::dropSocket() {
  if (!socket_) return;
  QTcpSocket* old = socket_;
  socket_ = nullptr;
  old->disconnect(this);
  old->abort();
  old->deleteLater();
  if (session_.state() != SessionState::disconnected) {
    session_.transport_closed(now(), "client reconnected");
    afterSessionCall();
  }
}

void ClientConnection::onConnected() {
  qCDebug(lcMqtthClient) << "TCP connected to" << host_ << port_;
  // Only now: QAbstractSocket drops options set before it has a native socket, and with
  // Nagle on, small packets wait for the peer's delayed ACK (40 ms stalls).
  socket_->setSocketOption(QAbstractSocket::LowDelayOption, 1);
  session_.connect(options_, now());
  emit transportConnected();
  writeOutput();  // CONNECT goes out at once
  afterSessionCall();
}

void ClientConnection::onReadyRead() {
  if (!socket_) return;
  // Read everything available and feed it in one go; answers are written in one batch.
  const qint64 available = socket_->bytesAvailable();
  if (available <= 0) return;
  readBuffer_.resize(static_cast<qsizetype>(available));
  const qint64 n = socket_->read(readBuffer_.data(), available);
  if (n <= 0) return;
  // The answers to what was just read (acks) leave in this loop turn, not the next one.
  WriteBatch batch(*this);
  session_.receive(std::string_view(readBuffer_.constData(), static_cast<std::size_t>(n)), now());
  afterSessionCall();
}

void ClientConnection::onDisconnected() {
  qCDebug(lcMqtthClient) << "TCP connection closed" << host_ << port_;
  // Bytes that arrived right before the FIN (a DISCONNECT, say) are read first.
  if (socket_ && socket_->bytesAvailable() > 0) onReadyRead();
  if (socket_) {
    QTcpSocket* old = socket_;
    socket_ = nullptr;
    old->disconnect(this);
    old->deleteLater();
  }
  timer_->stop();
  session_.transport_closed(now());
  afterSessionCall();
}

void ClientConnection::onErrorOccurred() {
  if (!socket_) return;
  const auto error = socket_->error();
  const QString message = tls::is_tls_failure(*socket_)
                              ? tls::describe_failure(*qobject_cast<QSslSocket*>(socket_), tlsErrors_)
                              : socket_->errorString();
  // RemoteHostClosedError is the ordinary end of a connection; disconnected() reports it.
  if (error == QAbstractSocket::RemoteHostClosedError) return;
  qCDebug(lcMqtthClient) << "socket error:" << message;
  emit transportError(message);
  // A connection that never opened ends here (no disconnected() will follow).
  if (socket_ && socket_->state() == QAbstractSocket::UnconnectedState) {
    QTcpSocket* old = socket_;
    socket_ = nullptr;
    old->disconnect(this);
    old->deleteLater();
    if (session_.state() != SessionState::disconnected) {
      session_.transport_closed(now());
      afterSessionCall();
    }
  }
}

std::size_t ClientConnection::reportResendsMissing() {
  const std::size_t reported = session_.report_resends_missing(now());
  afterSessionCall();
  return reported;
}

void ClientConnection::onTimer() {
  session_.advance(now());
  afterSessionCall();
}

void ClientConnection::disconnectFromBroker(std::uint8_t reasonCode, mqtt::Properties properties) {
  session_.disconnect(now(), reasonCode, std::move(properties));
  afterSessionCall();
  flush();
}

void ClientConnection::abort() {
  qCDebug(lcMqtthClient) << "abort (TCP close without DISCONNECT)";
  timer_->stop();
  outBuffer_.clear();
  session_.take_output(outBuffer_);  // unwritten bytes die with the connection
  outBuffer_.clear();
  if (socket_) {
    QTcpSocket* old = socket_;
    socket_ = nullptr;
    old->disconnect(this);
    old->abort();
    old->deleteLater();
  }
  if (session_.state() != SessionState::disconnected) {
    session_.transport_closed(now(), "client abort (TCP close without DISCONNECT)");
  }
  afterSessionCall();
}

CommandResult ClientConnection::publish(PublishRequest request) {
  const auto r = session_.publish(std::move(request), now());
  afterSessionCall();
  return r;
}

CommandResult ClientConnection::subscribe(SubscribeRequest request) {
  const auto r = session_.subscribe(std::move(request), now());
  afterSessionCall();
  return r;
}

CommandResult ClientConnection::unsubscribe(UnsubscribeRequest request) {
  const auto r = session_.unsubscribe(std::move(request), now());
  afterSessionCall();
  return r;
}

CommandResult ClientConnection::sendPacket(const mqtt::Packet& packet) {
  const auto r = session_.send_packet(packet, now());
  afterSessionCall();
  return r;
}

void ClientConnection::sendRaw(const QByteArray& bytes) {
  session_.send_raw(std::string_view(bytes.constData(), static_cast<std::size_t>(bytes.size())), now());
  afterSessionCall();
}

void ClientConnection::ping() {
  session_.ping(now());
  afterSessionCall();
}

bool ClientConnection::isSocketOpen() const {
  return socket_ && socket_->state() == QAbstractSocket::ConnectedState;
}

void ClientConnection::flush() {
  flushScheduled_ = false;
  writeOutput();
}

void ClientConnection::endWriteBatch() {
  if (--writeBatches_ > 0) return;
  // Closing stays on the queued path: the socket is not torn down inside a caller's
  // signal handler (onReadyRead's included).
  if (session_.close_requested()) scheduleFlush();
  else if (session_.has_output()) flush();
}

void ClientConnection::scheduleFlush() {
  if (flushScheduled_ || writeBatches_ > 0) return;
  flushScheduled_ = true;
  QMetaObject::invokeMethod(this, &ClientConnection::flush, Qt::QueuedConnection);
}

void ClientConnection::writeOutput() {
  if (session_.has_output()) {
    session_.take_output(outBuffer_);
    if (socket_ && socket_->state() == QAbstractSocket::ConnectedState) {
      // QTcpSocket::write only buffers and sends on a later loop turn; when nothing is
      // queued in Qt already (so order is kept), hand the bytes to the kernel at once and
      // let Qt buffer only what the kernel did not take. Over TLS every byte goes through
      // QSslSocket, which encrypts it.
      const qint64 size = static_cast<qint64>(outBuffer_.size());
      qint64 sent = 0;
      const bool plain = qobject_cast<QSslSocket*>(socket_) == nullptr;
      const qintptr fd = plain && socket_->bytesToWrite() == 0 ? socket_->socketDescriptor() : -1;
      while (fd >= 0 && sent < size) {
        const ssize_t n = ::send(int(fd), outBuffer_.data() + sent, std::size_t(size - sent), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) sent += n;
        else if (!(n < 0 && errno == EINTR)) break;
      }
      if (sent < size) socket_->write(outBuffer_.data() + sent, size - sent);
    }
    outBuffer_.clear();
  }
  if (session_.close_requested() && socket_ && !closingSocket_) {
    // Graceful: the written bytes (e.g. DISCONNECT) go out before the FIN.
    closingSocket_ = true;
    socket_->disconnectFromHost();
  }
}

void ClientConnection::afterSessionCall() {
  if (session_.has_output() || session_.close_requested()) scheduleFlush();
  dispatchEvents();
  armTimer();
}

void ClientConnection::armTimer() {
  const auto deadline = session_.next_deadline();
  if (!deadline || !socket_) {
    timer_->stop();
    return;
  }
  // Most calls leave the deadline where it was (keep-alive, retry): restarting the timer
  // would re-register it with the event dispatcher once per packet for nothing.
  if (deadline == armedDeadline_ && timer_->isActive()) return;
  armedDeadline_ = deadline;
  const TimeMs wait = std::max<TimeMs>(0, *deadline - now());
  timer_->start(static_cast<int>(std::min<TimeMs>(wait, std::numeric_limits<int>::max())));
}

void ClientConnection::dispatchEvents() {
  // A slot may call back into this object (publish from messageDelivered ...): events it
  // causes are dispatched by the outer loop, in order.
  if (dispatching_) return;
  dispatching_ = true;
  while (session_.has_events()) {
    session_.take_events(events_);
    for (const Event& e : events_) {
      emit sessionEvent(e);
      std::visit(
          [this](const auto& ev) {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, event::PacketReceived>) emit packetReceived(ev);
            else if constexpr (std::is_same_v<T, event::PacketSent>) emit packetSent(ev);
            else if constexpr (std::is_same_v<T, event::ConnackReceived>) emit connackReceived(ev);
            else if constexpr (std::is_same_v<T, event::SubackReceived>) emit subackReceived(ev);
            else if constexpr (std::is_same_v<T, event::UnsubackReceived>) emit unsubackReceived(ev);
            else if constexpr (std::is_same_v<T, event::MessageDelivered>) emit messageDelivered(ev);
            else if constexpr (std::is_same_v<T, event::PublishAccepted>) emit publishAccepted(ev);
            else if constexpr (std::is_same_v<T, event::PublishCompleted>) emit publishCompleted(ev);
            else if constexpr (std::is_same_v<T, event::PublishAbandoned>) emit publishAbandoned(ev);
            else if constexpr (std::is_same_v<T, event::DisconnectReceived>) emit disconnectReceived(ev);
            else if constexpr (std::is_same_v<T, event::BrokerViolation>) {
              qCWarning(lcMqtthClient) << "broker violation" << QString::fromUtf8(ev.spec.data(), static_cast<qsizetype>(ev.spec.size()))
                                       << QString::fromStdString(ev.message);
              emit brokerViolation(ev);
            } else if constexpr (std::is_same_v<T, event::ConnectionClosed>) emit closed(ev);
          },
          e);
    }
    events_.clear();
  }
  dispatching_ = false;
}

}  // namespace mqtth::client
