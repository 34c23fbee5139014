// BrokerServer, the Qt shell around BrokerEngine: real sockets on 127.0.0.1, port 0.
// Waits are QSignalSpy/QTRY_*/qWaitFor with bounds; the one sleep orders two clients'
// writes, it waits for nothing. The MQTT bytes are written out by hand (not by the codec
// under test) from the spec's packet layouts.
#include "mqtth/net/BrokerServer.hpp"

#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>

#include <memory>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

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

// 5.0 CONNECT (3.1): as above with level 5 and an empty property block; a client id of
// up to 100 bytes (the remaining length stays one byte).
QByteArray connectV5(quint16 keepAlive = 60, const QByteArray& clientId = "q5") {
  QByteArray p = QByteArray::fromHex("10");
  p.append(char(13 + clientId.size())).append(QByteArray::fromHex("00044d5154540502"));
  p.append(char(keepAlive >> 8)).append(char(keepAlive & 0xff));
  p.append('\0').append(char(clientId.size() >> 8)).append(char(clientId.size() & 0xff)).append(clientId);
  return p;
}

// 5.0 SUBSCRIBE (3.8) of one filter (under 100 bytes) at QoS 1, packet id 1, no properties.
QByteArray subscribeV5(const QByteArray& filter) {
  QByteArray p = QByteArray::fromHex("82");
  p.append(char(2 + 1 + 2 + filter.size() + 1)).append(QByteArray::fromHex("000100"));
  p.append(char(filter.size() >> 8)).append(char(filter.size() & 0xff)).append(filter);
  p.append('\x01');
  return p;
}

// 5.0 PUBLISH (3.3) QoS 1, packet id 7, no properties, payload "hi", to a topic under 100 bytes.
QByteArray publishV5Qos1(const QByteArray& topic) {
  QByteArray p = QByteArray::fromHex("32");
  p.append(char(2 + topic.size() + 2 + 1 + 2));
  p.append(char(topic.size() >> 8)).append(char(topic.size() & 0xff)).append(topic);
  p.append(QByteArray::fromHex("0007006869"));
  return p;
}

// Splits a byte stream into whole MQTT packets (fixed header 2.1, Variable Byte Integer
// remaining length 1.5.5); an incomplete tail is left in `stream`.
QList<QByteArray> takePackets(QByteArray& stream) {
  QList<QByteArray> packets;
  for (;;) {
    qsizetype pos = 1;
    quint32 length = 0;
    int shift = 0;
    bool complete = false;
    while (pos < stream.size() && shift <= 21) {
      const quint8 b = quint8(stream[pos++]);
      length |= quint32(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) { complete = true; break; }
    }
    if (!complete || stream.size() < pos + qsizetype(length)) return packets;
    packets.append(stream.left(pos + qsizetype(length)));
    stream.remove(0, pos + qsizetype(length));
  }
}

// A client on a plain blocking POSIX socket: its connect() and send() complete in the
// kernel without the test's event loop running, so the test decides when the broker's
// loop gets to see the bytes.
class RawClient {
 public:
  explicit RawClient(quint16 port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawClient() { if (fd_ >= 0) ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  bool send(const QByteArray& bytes) {
    return ::send(fd_, bytes.constData(), std::size_t(bytes.size()), MSG_NOSIGNAL) == bytes.size();
  }
  // Runs the event loop until `count` whole packets arrived (10 s bound) and returns them.
  QList<QByteArray> receivePackets(int count) {
    QList<QByteArray> packets;
    (void)QTest::qWaitFor([&] {  // the caller checks the count
      char buffer[4096];
      ssize_t n;
      while ((n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT)) > 0) stream_.append(buffer, n);
      packets += takePackets(stream_);
      return packets.size() >= count;
    }, 10000);
    return packets;
  }

 private:
  int fd_;
  bool connected_ = false;
  QByteArray stream_;
};

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

  // MQTT orders nothing across connections, but a client that saw its SUBSCRIBE leave
  // before another client's PUBLISH expects the broker to take them in that order, as an
  // epoll broker (mosquitto) does: paho's client_test5 test_subscribe_options and
  // test_request_response depend on it (docs/broker-server.md, "The paho interoperability
  // suite"). B's SUBSCRIBE and then A's PUBLISH are both in the kernel before the broker's
  // loop runs, with A the older connection; B must get the message, and A's PUBACK must
  // not say 0x10 No matching subscribers (3.4.2.1).
  void packets_of_different_connections_are_handled_in_arrival_order() {
    auto server = startServer();
    QVERIFY(server);
    for (int round = 0; round < 20; ++round) {
      const QByteArray suffix = QByteArray::number(round);
      const QByteArray topic = "order/" + suffix;
      RawClient publisher(server->port());
      QVERIFY(publisher.connected());
      QVERIFY(publisher.send(connectV5(60, "pub" + suffix)));
      QList<QByteArray> publisherPackets = publisher.receivePackets(1);
      QCOMPARE(publisherPackets.size(), 1);
      QCOMPARE(quint8(publisherPackets[0][0]), quint8(0x20));  // CONNACK
      RawClient subscriber(server->port());
      QVERIFY(subscriber.connected());
      QVERIFY(subscriber.send(connectV5(60, "sub" + suffix)));
      QList<QByteArray> subscriberPackets = subscriber.receivePackets(1);
      QCOMPARE(subscriberPackets.size(), 1);
      QCOMPARE(quint8(subscriberPackets[0][0]), quint8(0x20));

      QVERIFY(subscriber.send(subscribeV5(topic)));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      QVERIFY(publisher.send(publishV5Qos1(topic)));

      publisherPackets = publisher.receivePackets(1);
      QCOMPARE(publisherPackets.size(), 1);
      const QByteArray puback = publisherPackets[0];
      QCOMPARE(quint8(puback[0]), quint8(0x40));
      // Reason code 0x00 may be left out with no properties (3.4.2.1).
      const quint8 reason = puback.size() > 4 ? quint8(puback[4]) : 0x00;
      QCOMPARE(reason, quint8(0x00));
      subscriberPackets = subscriber.receivePackets(2);
      QCOMPARE(subscriberPackets.size(), 2);
      QCOMPARE(quint8(subscriberPackets[0][0]), quint8(0x90));  // SUBACK
      QCOMPARE(quint8(subscriberPackets[1][0]) & 0xf0, 0x30);   // the PUBLISH
    }
  }

  // More bytes at once than the shell reads from one connection per wake (1 MiB): every
  // packet is still answered, in order, and the rest of the loop is not held up.
  void a_burst_larger_than_one_read_is_handled_completely() {
    auto server = startServer();
    QVERIFY(server);
    auto client = connectClient(*server);
    QVERIFY(client);
    client->write(connectV311());
    QByteArray reply;
    QVERIFY(waitForBytes(*client, reply, 4));
    QCOMPARE(quint8(reply[0]), quint8(0x20));
    reply.remove(0, 4);
    constexpr int kPings = 600000;  // 1.2 MB of PINGREQ (3.12)
    client->write(QByteArray::fromHex("c000").repeated(kPings));
    QVERIFY(QTest::qWaitFor([&] { reply += client->readAll(); return reply.size() >= 2 * kPings; }, 60000));
    QCOMPARE(reply, QByteArray::fromHex("d000").repeated(kPings));  // PINGRESP (3.13)
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
