// BrokerServer, the Qt shell around BrokerEngine: real sockets on 127.0.0.1, port 0.
// Waits are QSignalSpy/QTRY_* with bounds, never sleeps. The MQTT bytes are written out
// by hand (not by the codec under test) from the spec's packet layouts.
#include "mqtth/net/BrokerServer.hpp"

#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>

#include <memory>

using mqtth::net::BrokerServer;

namespace {

// 3.1.1 CONNECT (3.1): "MQTT", level 4, flags 0x02 (clean session), keep alive, a
// two-letter client id (distinct ids: the same id would take the other session over).
QByteArray connectV311(quint16 keepAlive = 60, const char* clientId = "q1") {
  QByteArray p = QByteArray::fromHex("100e00044d5154540402");
  p.append(char(keepAlive >> 8)).append(char(keepAlive & 0xff));
  p.append(QByteArray::fromHex("0002")).append(clientId, 2);
  return p;
}

// 5.0 CONNECT (3.1): as above with level 5 and an empty property block.
QByteArray connectV5(quint16 keepAlive = 60, const char* clientId = "q5") {
  QByteArray p = QByteArray::fromHex("100f00044d5154540502");
  p.append(char(keepAlive >> 8)).append(char(keepAlive & 0xff));
  p.append(QByteArray::fromHex("000002")).append(clientId, 2);
  return p;
}

// Reads until at least `n` bytes arrived (event loop running); false after 10 s.
bool waitForBytes(QTcpSocket& socket, QByteArray& into, int n) {
  return QTest::qWaitFor([&] { into += socket.readAll(); return into.size() >= n; }, 10000);
}

}  // namespace

class BrokerServerTest : public QObject {
  Q_OBJECT

 private:
  // A listening server on 127.0.0.1:0 (parented to the test object's lifetime via unique_ptr).
  std::unique_ptr<BrokerServer> startServer(mqtth::engine::BrokerConfig config = {}) {
    auto server = std::make_unique<BrokerServer>(std::move(config));
    if (!server->listen(QHostAddress::LocalHost, 0)) return nullptr;
    return server;
  }

  // A client socket connected to `server`, its accept seen by the server.
  std::unique_ptr<QTcpSocket> connectClient(BrokerServer& server) {
    QSignalSpy accepted(&server, &BrokerServer::clientConnected);
    auto socket = std::make_unique<QTcpSocket>();
    socket->connectToHost(QHostAddress::LocalHost, server.port());
    if (!socket->waitForConnected(10000)) return nullptr;
    if (!accepted.wait(10000) && accepted.isEmpty()) return nullptr;
    return socket;
  }

 private slots:
  void listen_on_port_zero_announces_the_chosen_port() {
    BrokerServer server;
    QSignalSpy listening(&server, &BrokerServer::listening);
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    QVERIFY(server.isListening());
    QVERIFY(server.port() != 0);
    QCOMPARE(listening.count(), 1);
    QCOMPARE(listening.at(0).at(0).value<quint16>(), server.port());
  }

  void listen_on_a_port_in_use_fails_with_an_error_string() {
    auto first = startServer();
    QVERIFY(first);
    BrokerServer second;
    QSignalSpy listening(&second, &BrokerServer::listening);
    QVERIFY(!second.listen(QHostAddress::LocalHost, first->port()));
    QVERIFY(!second.errorString().isEmpty());
    QCOMPARE(listening.count(), 0);
    QCOMPARE(second.port(), quint16(0));
  }

  void accepted_connection_and_its_close_are_signalled() {
    auto server = startServer();
    QVERIFY(server);
    QSignalSpy disconnected(server.get(), &BrokerServer::clientDisconnected);
    auto client = connectClient(*server);
    QVERIFY(client);
    QCOMPARE(server->connectionCount(), 1);
    client->disconnectFromHost();
    QTRY_COMPARE_WITH_TIMEOUT(disconnected.count(), 1, 10000);
    QCOMPARE(server->connectionCount(), 0);
  }

  // The first packet the server sends is CONNACK (3.1.1 MQTT-3.2.0-1; 5.0 MQTT-3.2.0-1),
  // accepted with return/reason code 0x00 (3.2.2.3).
  void connect_is_answered_with_connack_accepted_data() {
    QTest::addColumn<QByteArray>("connectPacket");
    QTest::newRow("3.1.1") << connectV311();
    QTest::newRow("5.0") << connectV5();
  }
  void connect_is_answered_with_connack_accepted() {
    QFETCH(QByteArray, connectPacket);
    auto server = startServer();
    QVERIFY(server);
    auto client = connectClient(*server);
    QVERIFY(client);
    client->write(connectPacket);
    QByteArray reply;
    QVERIFY(waitForBytes(*client, reply, 4));
    QCOMPARE(quint8(reply[0]), quint8(0x20));  // CONNACK
    QCOMPARE(quint8(reply[2]) & 0x01, 0);      // session present 0 for a clean start
    QCOMPARE(quint8(reply[3]), quint8(0x00));  // accepted / success
  }

  // PUBLISH with both QoS bits set is malformed (5.0 MQTT-3.3.1-4); the server answers
  // DISCONNECT 0x81 and closes (MQTT-4.13.1-1). Another client is unaffected.
  void malformed_v5_publish_gets_disconnect_0x81_then_close_MQTT_3_3_1_4() {
    auto server = startServer();
    QVERIFY(server);
    QSignalSpy closing(server.get(), &BrokerServer::closingConnection);
    auto bystander = connectClient(*server);
    QVERIFY(bystander);
    bystander->write(connectV311());
    QByteArray bystanderReply;
    QVERIFY(waitForBytes(*bystander, bystanderReply, 4));

    auto client = connectClient(*server);
    QVERIFY(client);
    QSignalSpy clientClosed(client.get(), &QTcpSocket::disconnected);
    client->write(connectV5());
    QByteArray reply;
    QVERIFY(waitForBytes(*client, reply, 3));
    const int connackSize = 2 + quint8(reply[1]);
    reply.remove(0, connackSize);
    client->write(QByteArray::fromHex("3605000174000100"));  // QoS 3, topic "t", id 1
    QVERIFY(waitForBytes(*client, reply, 3));
    QCOMPARE(quint8(reply[0]), quint8(0xE0));  // DISCONNECT
    QCOMPARE(quint8(reply[2]), quint8(0x81));  // Malformed Packet
    QTRY_COMPARE_WITH_TIMEOUT(clientClosed.count(), 1, 10000);
    QCOMPARE(closing.count(), 1);

    bystander->write(QByteArray::fromHex("c000"));  // PINGREQ
    QByteArray pong;
    QVERIFY(waitForBytes(*bystander, pong, 2));
    QCOMPARE(pong, QByteArray::fromHex("d000"));  // PINGRESP
  }

  // Keep Alive 1 s and silence: the server closes after 1.5x (5.0 MQTT-3.1.2-22). The
  // bound is generous; this checks the engine's deadline reaches the shell's QTimer, not speed.
  void silent_client_is_closed_after_keep_alive_MQTT_3_1_2_22() {
    auto server = startServer();
    QVERIFY(server);
    auto client = connectClient(*server);
    QVERIFY(client);
    QSignalSpy clientClosed(client.get(), &QTcpSocket::disconnected);
    client->write(connectV5(1));
    QByteArray reply;
    QVERIFY(waitForBytes(*client, reply, 4));
    QCOMPARE(quint8(reply[0]), quint8(0x20));
    QTRY_COMPARE_WITH_TIMEOUT(clientClosed.count(), 1, 15000);
  }

  void connection_above_max_connections_is_closed_and_the_others_carry_on() {
    mqtth::engine::BrokerConfig config;
    config.max_connections = 1;
    auto server = startServer(config);
    QVERIFY(server);
    auto first = connectClient(*server);
    QVERIFY(first);
    auto second = connectClient(*server);
    QVERIFY(second);
    QSignalSpy secondClosed(second.get(), &QTcpSocket::disconnected);
    QTRY_COMPARE_WITH_TIMEOUT(secondClosed.count(), 1, 10000);
    first->write(connectV311());
    QByteArray reply;
    QVERIFY(waitForBytes(*first, reply, 4));
    QCOMPARE(quint8(reply[0]), quint8(0x20));
  }

  void close_stops_listening_and_drops_every_connection() {
    auto server = startServer();
    QVERIFY(server);
    auto client = connectClient(*server);
    QVERIFY(client);
    QSignalSpy clientClosed(client.get(), &QTcpSocket::disconnected);
    server->close();
    QVERIFY(!server->isListening());
    QTRY_COMPARE_WITH_TIMEOUT(clientClosed.count(), 1, 10000);
  }
};

QTEST_GUILESS_MAIN(BrokerServerTest)
#include "broker_server_test.moc"
