// RawConnection: a bare TCP link to a broker that carries only the bytes its owner writes:
// no CONNECT, no session, no keep-alive, no answers of its own. The scenario runner's
// `send_raw` on a client without a session uses it to put packets a broker must reject on
// the wire exactly as given. What comes back is framed and decoded by the codec, one
// signal per packet, malformed ones included; judging them is the owner's business.
//
// Beside ClientConnection (the same Qt habits: one QTcpSocket per connection, child of
// this object; signals carry plain structs). Logging category: mqtth.client.
#pragma once

#include <mqtth/client/ClientConnection.hpp>  // the event structs and their metatypes
#include <mqtth/client/ClientSession.hpp>
#include <mqtth/tls/Tls.hpp>

#include <QElapsedTimer>
#include <QObject>
#include <QString>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

class QTcpSocket;

namespace mqtth::client {

// One whole packet read on a RawConnection.
struct RawPacket {
  // The decoded packet; nullopt when the framed bytes do not decode (then `error` says
  // why, with its offset inside the packet and the statement id).
  std::optional<mqtt::Packet> packet;
  mqtt::Error error{};
  mqtt::Version version = mqtt::Version::v5;  // what it was decoded as (see RawConnection)
  std::string raw;                            // the whole packet, fixed header included
  std::uint64_t stream_offset = 0;            // of its first byte in this connection's input
  TimeMs at = 0;
};

class RawConnection : public QObject {
  Q_OBJECT

 public:
  // `version`: what received packets are decoded as. A CONNACK that does not decode as
  // MQTT 5 is tried as 3.1.1: a broker may answer a CONNECT with a protocol level it does
  // not support in the 3.1.1 format (3.1.2.2 of 5.0; return code 0x01 of 3.1.1).
  explicit RawConnection(mqtt::Version version, QObject* parent = nullptr);
  ~RawConnection() override;

  // TLS for the connections opened from now on (nullptr: plain TCP; docs/tls.md): the
  // bytes written go out once the handshake is done.
  void setTls(std::shared_ptr<const tls::Client> tls) { tls_ = std::move(tls); }
  // Opens TCP to host:port (a broker, or a proxy in front of it). Any previous connection
  // is aborted first, without closed(); bytes written before it was up are dropped.
  void connectToHost(const QString& host, quint16 port);
  // Writes `bytes` exactly as given: now when connected, else in order as soon as the
  // connection is up. Emits packetSent at once either way (the bytes are on their way).
  void write(std::string_view bytes);
  // Closes at once (no FIN handshake, no closed()): the caller knows it did this.
  void abort();
  // Shuts the sending side once everything written has gone out (TCP FIN; at once when
  // connected, else right after the pending bytes): the broker reads all of it, then sees
  // end-of-stream. Reading goes on; closed() follows when the broker closes its side.
  void halfClose();

  bool isOpen() const { return socket_ != nullptr; }  // connecting or connected
  bool isConnected() const { return connected_; }
  std::size_t pendingBytes() const { return pending_.size(); }  // written before the connection was up
  mqtt::Version version() const { return version_; }
  // Monotonic ms on the clock of the events' `at`.
  TimeMs now() const;

 signals:
  void connected();
  // `packet` is what the bytes decode to as one packet (nullopt when they are not exactly
  // one valid packet); `type` is read from the first byte.
  void packetSent(const mqtth::client::event::PacketSent& event);
  void packetReceived(const mqtth::client::RawPacket& packet);
  // Bytes that cannot be framed (a remaining length that is no varint, packet type 0, a
  // packet over the codec's size limit): `error.offset` is the offset in this connection's
  // input. Nothing more is read from this connection.
  void framingError(const mqtt::Error& error);
  // The broker or the network ended an open connection (by_client is always false;
  // disconnect_reason: the last DISCONNECT the broker sent on it).
  void closed(const mqtth::client::event::ConnectionClosed& event);
  // Connect refused, reset ... When the connection never came up, it ends here (isOpen()
  // turns false, no closed() follows).
  void transportError(const QString& message);

 private:
  void onConnected();
  void onReadyRead();
  void onDisconnected();
  void onErrorOccurred();
  void dropSocket();

  mqtt::Version version_;
  std::shared_ptr<const tls::Client> tls_;
  QList<QSslError> tlsErrors_;  // of the current handshake
  QTcpSocket* socket_ = nullptr;  // child of this; replaced per connection
  std::unique_ptr<mqtt::Framer> framer_;
  std::string pending_;
  std::optional<std::uint8_t> lastDisconnect_;
  bool connected_ = false;
  bool unframable_ = false;
  bool halfClosePending_ = false;  // halfClose() before the connection was up
  QElapsedTimer clock_;
};

}  // namespace mqtth::client

Q_DECLARE_METATYPE(mqtth::client::RawPacket)
Q_DECLARE_METATYPE(mqtt::Error)
