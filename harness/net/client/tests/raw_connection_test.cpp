// RawConnection against a peer the test drives itself (QTcpServer on 127.0.0.1, port 0).
// Waits on signals (QSignalSpy / QTRY_*), never on sleeps.
#include <mqtth/client/RawConnection.hpp>

#include <QHostAddress>
#include <QPointer>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QtTest>

#include <sys/ioctl.h>

using namespace mqtth::client;

namespace {

QByteArray hex(const char* text) { return QByteArray::fromHex(QByteArray(text).replace(' ', "")); }
std::string bytes(const char* text) { return hex(text).toStdString(); }

// Bytes the kernel holds for `socket` that nobody has read yet.
int unread(const QTcpSocket* socket) {
  int n = -1;
  if (::ioctl(int(socket->socketDescriptor()), FIONREAD, &n) != 0) return -1;
  return n;
}

}  // namespace

class RawConnectionTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { QLoggingCategory::setFilterRules(QStringLiteral("mqtth.client.debug=false")); }

  void init() {
    server_ = new QTcpServer(this);
    QVERIFY(server_->listen(QHostAddress::LocalHost, 0));
    peer_ = nullptr;
  }
  void cleanup() {
    delete server_;  // and the peer socket, its child
    server_ = nullptr;
  }

  void bytes_written_before_the_connection_is_up_go_out_once_it_is() {
    RawConnection raw(mqtt::Version::v3_1_1);
    QSignalSpy sent(&raw, &RawConnection::packetSent);
    QSignalSpy up(&raw, &RawConnection::connected);
    // A 3.1.1 CONNECT, client id "r"; then bytes that are no packet (type 0).
    const std::string connect = bytes("10 0d 00 04 4d 51 54 54 04 02 00 00 00 01 72");
    raw.write(connect);
    raw.write(bytes("00 00"));
    QCOMPARE(raw.pendingBytes(), connect.size() + 2);
    raw.connectToHost(QStringLiteral("127.0.0.1"), server_->serverPort());
    QVERIFY(raw.isOpen());
    QTRY_COMPARE(up.count(), 1);
    QVERIFY(raw.isConnected());
    QVERIFY(accept());
    QTRY_COMPARE(peer_->bytesAvailable(), qint64(connect.size() + 2));
    QCOMPARE(peer_->readAll(), hex("10 0d 00 04 4d 51 54 54 04 02 00 00 00 01 72 00 00"));
    QCOMPARE(raw.pendingBytes(), std::size_t{0});

    // packetSent at write(), one per call: the decoded CONNECT; the type-0 bytes stay raw.
    QCOMPARE(sent.count(), 2);
    const auto first = sent.at(0).at(0).value<event::PacketSent>();
    QCOMPARE(first.raw, connect);
    QVERIFY(first.type == mqtt::PacketType::connect);
    QVERIFY(first.packet.has_value());
    QCOMPARE(std::get<mqtt::Connect>(*first.packet).client_id, std::string("r"));
    const auto second = sent.at(1).at(0).value<event::PacketSent>();
    QVERIFY(!second.type.has_value());
    QVERIFY(!second.packet.has_value());

    // Once connected, a write goes straight out.
    raw.write(bytes("c0 00"));
    QTRY_COMPARE(peer_->bytesAvailable(), qint64(2));
    QCOMPARE(peer_->readAll(), hex("c0 00"));
  }

  void a_packet_split_at_every_byte_is_received_once_whole() {
    RawConnection raw(mqtt::Version::v3_1_1);
    QSignalSpy received(&raw, &RawConnection::packetReceived);
    QVERIFY(connectRaw(raw));
    const QByteArray publish = hex("30 07 00 01 74 68 65 6c 6c");  // PUBLISH "t" "hell"
    std::uint64_t offset = 0;
    for (int split = 1; split < publish.size(); ++split) {
      peer_->write(publish.left(split));
      QVERIFY(peer_->flush());
      // The first part has been read (the kernel holds nothing for the client any more)
      // and made no packet.
      QTRY_COMPARE(unread(rawSocket(raw)), 0);
      QCOMPARE(received.count(), split - 1);
      peer_->write(publish.mid(split));
      QTRY_COMPARE(received.count(), split);
      const auto got = received.at(split - 1).at(0).value<RawPacket>();
      QVERIFY(got.packet.has_value());
      const auto& p = std::get<mqtt::Publish>(*got.packet);
      QCOMPARE(p.topic, std::string("t"));
      QCOMPARE(p.payload, std::string("hell"));
      QCOMPARE(got.raw, publish.toStdString());
      QCOMPARE(got.stream_offset, offset);
      offset += static_cast<std::uint64_t>(publish.size());
    }
  }

  void several_packets_in_one_read_each_get_a_signal_in_order() {
    RawConnection raw(mqtt::Version::v5);
    QSignalSpy received(&raw, &RawConnection::packetReceived);
    QVERIFY(connectRaw(raw));
    // CONNACK (5.0, no properties), SUBACK id 1 granting QoS 1, PINGRESP: one write.
    peer_->write(hex("20 03 00 00 00  90 04 00 01 00 01  d0 00"));
    QTRY_COMPARE(received.count(), 3);
    const auto connack = received.at(0).at(0).value<RawPacket>();
    const auto suback = received.at(1).at(0).value<RawPacket>();
    const auto pingresp = received.at(2).at(0).value<RawPacket>();
    QVERIFY(connack.packet && std::holds_alternative<mqtt::Connack>(*connack.packet));
    QVERIFY(suback.packet && std::holds_alternative<mqtt::Suback>(*suback.packet));
    QVERIFY(pingresp.packet && std::holds_alternative<mqtt::Pingresp>(*pingresp.packet));
    QCOMPARE(std::get<mqtt::Suback>(*suback.packet).packet_id, std::uint16_t{1});
    QCOMPARE(connack.stream_offset, std::uint64_t{0});
    QCOMPARE(suback.stream_offset, std::uint64_t{5});
    QCOMPARE(pingresp.stream_offset, std::uint64_t{11});
    QVERIFY(connack.version == mqtt::Version::v5);
  }

  void a_malformed_packet_is_reported_with_the_codec_error_and_reading_goes_on() {
    RawConnection raw(mqtt::Version::v3_1_1);
    QSignalSpy received(&raw, &RawConnection::packetReceived);
    QVERIFY(connectRaw(raw));
    // PUBLISH with QoS 3 [MQTT-3.3.1-4], then a PINGRESP.
    peer_->write(hex("36 05 00 01 74 00 01  d0 00"));
    QTRY_COMPARE(received.count(), 2);
    const auto bad = received.at(0).at(0).value<RawPacket>();
    QVERIFY(!bad.packet.has_value());
    QVERIFY(bad.error.code == mqtt::Errc::malformed_packet);
    QCOMPARE(QString::fromUtf8(bad.error.spec.data(), qsizetype(bad.error.spec.size())), QStringLiteral("MQTT-3.3.1-4"));
    QCOMPARE(bad.raw, bytes("36 05 00 01 74 00 01"));
    const auto next = received.at(1).at(0).value<RawPacket>();
    QVERIFY(next.packet && std::holds_alternative<mqtt::Pingresp>(*next.packet));
    QCOMPARE(next.stream_offset, std::uint64_t{7});
  }

  void bytes_that_cannot_be_framed_end_reading() {
    RawConnection raw(mqtt::Version::v3_1_1);
    QSignalSpy received(&raw, &RawConnection::packetReceived);
    QSignalSpy unframable(&raw, &RawConnection::framingError);
    QVERIFY(connectRaw(raw));
    // PINGRESP, then a remaining length of five bytes [MQTT-1.5.5-1]; then a PINGRESP
    // that is never read.
    peer_->write(hex("d0 00  30 ff ff ff ff 7f"));
    QTRY_COMPARE(unframable.count(), 1);
    QCOMPARE(received.count(), 1);
    const auto error = unframable.at(0).at(0).value<mqtt::Error>();
    QVERIFY(error.code == mqtt::Errc::malformed_packet);
    QVERIFY(error.offset >= 2);  // in the stream, past the PINGRESP
    peer_->write(hex("d0 00"));
    QVERIFY(peer_->flush());
    QTRY_COMPARE(unread(rawSocket(raw)), 0);
    QCOMPARE(received.count(), 1);
    QCOMPARE(unframable.count(), 1);
    QVERIFY(raw.isOpen());  // closing is the owner's decision
  }

  void a_connack_that_is_no_mqtt5_connack_is_read_as_3_1_1() {
    RawConnection raw(mqtt::Version::v5);
    QSignalSpy received(&raw, &RawConnection::packetReceived);
    QVERIFY(connectRaw(raw));
    // 3.1.1 CONNACK "unacceptable protocol version" (no property length: not 5.0).
    peer_->write(hex("20 02 00 01"));
    QTRY_COMPARE(received.count(), 1);
    const auto got = received.at(0).at(0).value<RawPacket>();
    QVERIFY(got.packet.has_value());
    QVERIFY(got.version == mqtt::Version::v3_1_1);
    QCOMPARE(std::get<mqtt::Connack>(*got.packet).reason_code, std::uint8_t{0x01});
  }

  void the_peer_closing_reports_its_last_disconnect() {
    RawConnection raw(mqtt::Version::v5);
    QSignalSpy received(&raw, &RawConnection::packetReceived);
    QSignalSpy closed(&raw, &RawConnection::closed);
    QVERIFY(connectRaw(raw));
    // DISCONNECT 0x81 then 0x8E, then FIN: both are read before closed().
    peer_->write(hex("e0 01 81  e0 01 8e"));
    peer_->disconnectFromHost();
    QTRY_COMPARE(closed.count(), 1);
    QCOMPARE(received.count(), 2);
    const auto close = closed.at(0).at(0).value<event::ConnectionClosed>();
    QVERIFY(!close.by_client);
    QVERIFY(close.disconnect_reason == std::optional<std::uint8_t>(0x8e));
    QVERIFY(!raw.isOpen());
    QVERIFY(!raw.isConnected());
  }

  void a_close_without_disconnect_has_no_reason_even_after_an_earlier_connection_had_one() {
    RawConnection raw(mqtt::Version::v5);
    QSignalSpy closed(&raw, &RawConnection::closed);
    QVERIFY(connectRaw(raw));
    peer_->write(hex("e0 01 8e"));
    peer_->disconnectFromHost();
    QTRY_COMPARE(closed.count(), 1);
    QVERIFY(closed.at(0).at(0).value<event::ConnectionClosed>().disconnect_reason == std::optional<std::uint8_t>(0x8e));
    QVERIFY(connectRaw(raw));
    peer_->disconnectFromHost();
    QTRY_COMPARE(closed.count(), 2);
    QVERIFY(!closed.at(1).at(0).value<event::ConnectionClosed>().disconnect_reason.has_value());
  }

  void abort_closes_without_a_closed_signal() {
    RawConnection raw(mqtt::Version::v3_1_1);
    QSignalSpy closed(&raw, &RawConnection::closed);
    QVERIFY(connectRaw(raw));
    QPointer<QTcpSocket> peer = peer_;
    raw.write(bytes("c0 00"));
    raw.abort();
    QVERIFY(!raw.isOpen());
    QTRY_VERIFY(!peer || peer->state() == QAbstractSocket::UnconnectedState);
    QCOMPARE(closed.count(), 0);
  }

  void a_refused_connection_is_a_transport_error_and_nothing_else() {
    // A port nobody listens on any more.
    QTcpServer gone;
    QVERIFY(gone.listen(QHostAddress::LocalHost, 0));
    const quint16 port = gone.serverPort();
    gone.close();
    RawConnection raw(mqtt::Version::v3_1_1);
    QSignalSpy errors(&raw, &RawConnection::transportError);
    QSignalSpy closed(&raw, &RawConnection::closed);
    QSignalSpy up(&raw, &RawConnection::connected);
    raw.write(bytes("c0 00"));
    raw.connectToHost(QStringLiteral("127.0.0.1"), port);
    QTRY_COMPARE(errors.count(), 1);
    QVERIFY(!raw.isOpen());
    QCOMPARE(raw.pendingBytes(), std::size_t{0});
    QCOMPARE(closed.count(), 0);
    QCOMPARE(up.count(), 0);
  }

 private:
  // Connects `raw` to the test's server and takes the peer side.
  [[nodiscard]] bool connectRaw(RawConnection& raw) {
    QSignalSpy up(&raw, &RawConnection::connected);
    raw.connectToHost(QStringLiteral("127.0.0.1"), server_->serverPort());
    return QTest::qWaitFor([&] { return up.count() == 1; }) && accept();
  }
  [[nodiscard]] bool accept() {
    if (!QTest::qWaitFor([&] { return server_->hasPendingConnections(); })) return false;
    peer_ = server_->nextPendingConnection();
    return peer_ != nullptr;
  }
  static const QTcpSocket* rawSocket(const RawConnection& raw) { return raw.findChild<QTcpSocket*>(); }

  QTcpServer* server_ = nullptr;
  QTcpSocket* peer_ = nullptr;  // child of server_
};

QTEST_GUILESS_MAIN(RawConnectionTest)
#include "raw_connection_test.moc"
