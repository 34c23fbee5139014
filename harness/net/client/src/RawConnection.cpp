#include <mqtth/client/RawConnection.hpp>

#include <QSslSocket>
#include <QTcpSocket>

#include <sys/socket.h>

namespace mqtth::client {

RawConnection::RawConnection(mqtt::Version version, QObject* parent) : QObject(parent), version_(version) {
  clock_.start();
}

RawConnection::~RawConnection() {
  // The socket is our child and dies with us; its signals must not reach a half-destroyed object.
  if (socket_) socket_->disconnect(this);
}

TimeMs RawConnection::now() const { return clock_.elapsed(); }

void RawConnection::connectToHost(const QString& host, quint16 port) {
  const std::string keep = std::move(pending_);  // written for this connection already
  dropSocket();
  pending_ = keep;
  tlsErrors_.clear();
  QSslSocket* ssl = tls_ ? tls::new_client_socket(*tls_, this) : nullptr;
  socket_ = ssl ? ssl : new QTcpSocket(this);
  framer_ = std::make_unique<mqtt::Framer>();
  lastDisconnect_.reset();
  unframable_ = false;
  if (ssl) {
    connect(ssl, &QSslSocket::encrypted, this, &RawConnection::onConnected);
    connect(ssl, &QSslSocket::sslErrors, this, [this](const QList<QSslError>& errors) { tlsErrors_ = errors; });
  } else {
    connect(socket_, &QTcpSocket::connected, this, &RawConnection::onConnected);
  }
  connect(socket_, &QTcpSocket::readyRead, this, &RawConnection::onReadyRead);
  connect(socket_, &QTcpSocket::disconnected, this, &RawConnection::onDisconnected);
  connect(socket_, &QTcpSocket::errorOccurred, this, &RawConnection::onErrorOccurred);
  qCDebug(lcMqtthClient) << "raw connection to" << host << port;
  if (ssl) ssl->connectToHostEncrypted(host, port, tls_->peerName(host));
  else socket_->connectToHost(host, port);
}

void RawConnection::write(std::string_view bytes) {
  event::PacketSent sent;
  sent.type = type_of_first_byte(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (sent.type) {
    mqtt::DecodeOptions options;
    options.version = version_;
    if (const auto decoded = mqtt::decode(bytes, options); decoded.ok()) sent.packet = mqtt::to_owned(decoded.value);
  }
  sent.raw.assign(bytes);
  sent.at = now();
  if (connected_) socket_->write(bytes.data(), static_cast<qint64>(bytes.size()));
  else pending_.append(bytes);
  emit packetSent(sent);
}

void RawConnection::abort() {
  qCDebug(lcMqtthClient) << "raw connection aborted";
  dropSocket();
}

// Detaches and deletes the socket; nothing more is emitted for this connection.
void RawConnection::dropSocket() {
  connected_ = false;
  halfClosePending_ = false;
  pending_.clear();
  if (!socket_) return;
  QTcpSocket* old = socket_;
  socket_ = nullptr;
  old->disconnect(this);
  old->abort();
  old->deleteLater();
}

void RawConnection::onConnected() {
  connected_ = true;
  // Each write is one the broker should see now, not after a delayed ACK; set once
  // connected, since Qt ignores socket options before then.
  socket_->setSocketOption(QAbstractSocket::LowDelayOption, 1);
  if (!pending_.empty()) {
    socket_->write(pending_.data(), static_cast<qint64>(pending_.size()));
    pending_.clear();
  }
  emit connected();
  if (halfClosePending_ && socket_) halfClose();
}

void RawConnection::halfClose() {
  if (!socket_) return;
  if (!connected_) {
    halfClosePending_ = true;
    return;
  }
  halfClosePending_ = false;
  // Qt buffers writes; the FIN must follow the last byte, not overtake it. Loopback takes
  // everything at once; the wait only bounds a peer that stopped reading.
  // Over TLS, what QSslSocket has encrypted but not yet sent counts too.
  const auto* ssl = qobject_cast<QSslSocket*>(socket_);
  auto unsent = [&] { return socket_->bytesToWrite() + (ssl ? ssl->encryptedBytesToWrite() : 0); };
  while (unsent() > 0 && socket_->waitForBytesWritten(1000)) {
  }
  ::shutdown(static_cast<int>(socket_->socketDescriptor()), SHUT_WR);
}

void RawConnection::onReadyRead() {
  if (!socket_) return;
  const QByteArray bytes = socket_->readAll();
  if (unframable_) return;
  framer_->feed(std::string_view(bytes.constData(), static_cast<std::size_t>(bytes.size())));
  // A slot may abort this connection (socket_ turns null): then nothing more is emitted.
  while (socket_) {
    const auto offset = framer_->stream_offset();
    auto frame = framer_->next();
    if (frame.status == mqtt::FrameInfo::Status::need_more) return;
    if (frame.status == mqtt::FrameInfo::Status::error) {
      unframable_ = true;
      emit framingError(frame.error);
      return;
    }
    RawPacket received;
    received.raw.assign(reinterpret_cast<const char*>(frame.packet.data()), frame.packet.size());
    received.stream_offset = offset;
    received.version = version_;
    received.at = now();
    mqtt::DecodeOptions options;
    options.version = version_;
    auto decoded = mqtt::decode(frame.packet, options);
    if (!decoded.ok() && version_ == mqtt::Version::v5 &&
        type_of_first_byte(frame.packet.data(), frame.packet.size()) == mqtt::PacketType::connack) {
      mqtt::DecodeOptions old_options;
      old_options.version = mqtt::Version::v3_1_1;
      if (auto retry = mqtt::decode(frame.packet, old_options); retry.ok()) {
        decoded = retry;
        received.version = mqtt::Version::v3_1_1;
      }
    }
    if (decoded.ok()) {
      received.packet = mqtt::to_owned(decoded.value);
      if (const auto* d = std::get_if<mqtt::Disconnect>(&*received.packet)) lastDisconnect_ = d->reason_code;
    } else {
      received.error = decoded.error;
    }
    emit packetReceived(received);
  }
}

void RawConnection::onDisconnected() {
  if (!socket_) return;
  // Bytes that arrived right before the FIN (a DISCONNECT, say) are read first.
  onReadyRead();
  if (!socket_) return;
  event::ConnectionClosed closing;
  closing.by_client = false;
  closing.disconnect_reason = lastDisconnect_;
  closing.cause = "broker closed";
  closing.at = now();
  qCDebug(lcMqtthClient) << "raw connection closed by the peer";
  dropSocket();
  emit closed(closing);
}

void RawConnection::onErrorOccurred() {
  if (!socket_) return;
  // RemoteHostClosedError is the ordinary end of a connection; disconnected() reports it.
  if (socket_->error() == QAbstractSocket::RemoteHostClosedError) return;
  const QString message = tls::is_tls_failure(*socket_)
                              ? tls::describe_failure(*qobject_cast<QSslSocket*>(socket_), tlsErrors_)
                              : socket_->errorString();
  qCDebug(lcMqtthClient) << "raw connection error:" << message;
  // A connection that never came up ends here (no disconnected() will follow).
  if (!connected_) dropSocket();
  emit transportError(message);
}

}  // namespace mqtth::client
