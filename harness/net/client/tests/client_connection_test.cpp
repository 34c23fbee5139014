// ClientConnection against a scripted in-test broker (QTcpServer on 127.0.0.1, port 0).
// Waits on signals (QSignalSpy / QTRY_*), never on sleeps.
#include <mqtth/client/ClientConnection.hpp>

#include <QHostAddress>
#include <QPointer>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QtTest>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

using namespace mqtth::client;

namespace {

// A broker that only records bytes and writes what the test tells it to.
class ScriptedBroker : public QObject {
  Q_OBJECT
 public:
  explicit ScriptedBroker(QObject* parent = nullptr) : QObject(parent), server_(new QTcpServer(this)) {
    connect(server_, &QTcpServer::newConnection, this, &ScriptedBroker::onNewConnection);
  }
  bool listen() { return server_->listen(QHostAddress::LocalHost, 0); }
  quint16 port() const { return server_->serverPort(); }
  int connections() const { return static_cast<int>(received_.size()); }
  // The kernel socket of connection `i`, to look at what arrived without a loop turn.
  int descriptor(int i) const { return i < sockets_.size() && sockets_[i] ? int(sockets_[i]->socketDescriptor()) : -1; }
  // Bytes received on connection `i` (0-based).
  QByteArray received(int i) const { return i < received_.size() ? received_[i] : QByteArray(); }
  bool isOpen(int i) const { return i < sockets_.size() && sockets_[i] && sockets_[i]->state() == QAbstractSocket::ConnectedState; }
  void send(int i, const QByteArray& bytes) {
    if (i < sockets_.size() && sockets_[i]) sockets_[i]->write(bytes);
  }
  void close(int i) {
    if (i < sockets_.size() && sockets_[i]) sockets_[i]->disconnectFromHost();
  }

 signals:
  void clientConnected();

 private:
  void onNewConnection() {
    while (QTcpSocket* s = server_->nextPendingConnection()) {
      s->setParent(this);
      const int index = static_cast<int>(sockets_.size());
      sockets_.append(s);
      received_.append(QByteArray());
      connect(s, &QTcpSocket::readyRead, this, [this, s, index] { received_[index].append(s->readAll()); });
      emit clientConnected();
    }
  }

  QTcpServer* server_;
  QList<QPointer<QTcpSocket>> sockets_;
  QList<QByteArray> received_;
};

QByteArray hex(const char* text) { return QByteArray::fromHex(QByteArray(text).replace(' ', "")); }

ConnectOptions options311(bool clean = true) {
  ConnectOptions o;
  o.version = mqtt::Version::v3_1_1;
  o.client_id = "qt-client";
  o.clean_start = clean;
  o.keep_alive = 0;
  return o;
}

}  // namespace

class ClientConnectionTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { QLoggingCategory::setFilterRules(QStringLiteral("mqtth.client.debug=false")); }

  void connect_writes_connect_and_reports_connack() {
    ScriptedBroker broker;
    QVERIFY(broker.listen());
    ClientConnection client;
    QSignalSpy connected(&client, &ClientConnection::transportConnected);
    QSignalSpy connacks(&client, &ClientConnection::connackReceived);
    client.connectToBroker(QStringLiteral("127.0.0.1"), broker.port(), options311());
    QTRY_COMPARE_WITH_TIMEOUT(connected.count(), 1, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(broker.received(0).size() >= 2, 5000);
    QCOMPARE(static_cast<unsigned char>(broker.received(0).at(0)), 0x10);  // CONNECT
    QCOMPARE(client.state(), SessionState::connecting);
    broker.send(0, hex("20 02 00 00"));
    QTRY_COMPARE_WITH_TIMEOUT(connacks.count(), 1, 5000);
    QCOMPARE(client.state(), SessionState::connected);
  }

  // Small MQTT packets must not wait for Nagle (TCP_NODELAY read back from the kernel),
  // on the first connection and on a reconnect's new socket.
  void connected_socket_has_tcp_nodelay() {
    ScriptedBroker broker;
    QVERIFY(broker.listen());
    ClientConnection client;
    QSignalSpy connected(&client, &ClientConnection::transportConnected);
    client.connectToBroker(QStringLiteral("127.0.0.1"), broker.port(), options311());
    const auto nodelay = [&client] {
      QTcpSocket* socket = nullptr;  // the aborted one of a reconnect may linger until deleteLater
      for (auto* s : client.findChildren<QTcpSocket*>())
        if (s->state() == QAbstractSocket::ConnectedState) socket = s;
      if (!socket) return -1;
      int value = -1;
      socklen_t size = sizeof value;
      if (::getsockopt(int(socket->socketDescriptor()), IPPROTO_TCP, TCP_NODELAY, &value, &size) != 0) return -2;
      return value;
    };
    QTRY_COMPARE_WITH_TIMEOUT(connected.count(), 1, 5000);
    QCOMPARE(nodelay(), 1);
    client.reconnect();
    QTRY_COMPARE_WITH_TIMEOUT(connected.count(), 2, 5000);
    QCOMPARE(nodelay(), 1);
  }

  void qos1_publish_round_trip_and_inbound_delivery() {
    ScriptedBroker broker;
    QVERIFY(broker.listen());
    ClientConnection client;
    QSignalSpy connacks(&client, &ClientConnection::connackReceived);
    QSignalSpy completed(&client, &ClientConnection::publishCompleted);
    QSignalSpy delivered(&client, &ClientConnection::messageDelivered);
    QSignalSpy events(&client, &ClientConnection::sessionEvent);
    client.connectToBroker(QStringLiteral("127.0.0.1"), broker.port(), options311());
    QTRY_COMPARE_WITH_TIMEOUT(broker.connections(), 1, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(!broker.received(0).isEmpty(), 5000);
    broker.send(0, hex("20 02 00 00"));
    QTRY_COMPARE_WITH_TIMEOUT(connacks.count(), 1, 5000);

    const qsizetype before = broker.received(0).size();
    PublishRequest req;
    req.topic = "t";
    req.payload = "hi";
    req.qos = 1;
    const auto r = client.publish(req);
    QVERIFY(r.ok());
    QCOMPARE(r.packet_id, 1);
    QTRY_COMPARE_WITH_TIMEOUT(broker.received(0).mid(before), hex("32 07 00 01 74 00 01 68 69"), 5000);
    broker.send(0, hex("40 02 00 01"));
    QTRY_COMPARE_WITH_TIMEOUT(completed.count(), 1, 5000);
    const auto done = completed.at(0).at(0).value<event::PublishCompleted>();
    QCOMPARE(done.packet_id, 1);

    const qsizetype before2 = broker.received(0).size();
    broker.send(0, hex("32 07 00 01 74 00 07 68 69"));
    QTRY_COMPARE_WITH_TIMEOUT(delivered.count(), 1, 5000);
    const auto msg = delivered.at(0).at(0).value<event::MessageDelivered>();
    QCOMPARE(QByteArray::fromStdString(msg.payload), QByteArray("hi"));
    QTRY_COMPARE_WITH_TIMEOUT(broker.received(0).mid(before2), hex("40 02 00 07"), 5000);
    QVERIFY(events.count() > 0);
  }

  void abort_closes_tcp_without_disconnect() {
    ScriptedBroker broker;
    QVERIFY(broker.listen());
    ClientConnection client;
    QSignalSpy connacks(&client, &ClientConnection::connackReceived);
    QSignalSpy closed(&client, &ClientConnection::closed);
    client.connectToBroker(QStringLiteral("127.0.0.1"), broker.port(), options311());
    QTRY_VERIFY_WITH_TIMEOUT(!broker.received(0).isEmpty(), 5000);
    broker.send(0, hex("20 02 00 00"));
    QTRY_COMPARE_WITH_TIMEOUT(connacks.count(), 1, 5000);
    const QByteArray beforeAbort = broker.received(0);
    client.abort();
    QCOMPARE(closed.count(), 1);
    QVERIFY(closed.at(0).at(0).value<event::ConnectionClosed>().by_client);
    QTRY_VERIFY_WITH_TIMEOUT(!broker.isOpen(0), 5000);
    QCOMPARE(broker.received(0), beforeAbort);  // no DISCONNECT (e0 00) was written
    QCOMPARE(client.state(), SessionState::disconnected);
  }

  void clean_disconnect_sends_disconnect_then_closes() {
    ScriptedBroker broker;
    QVERIFY(broker.listen());
    ClientConnection client;
    QSignalSpy connacks(&client, &ClientConnection::connackReceived);
    QSignalSpy closed(&client, &ClientConnection::closed);
    client.connectToBroker(QStringLiteral("127.0.0.1"), broker.port(), options311());
    QTRY_VERIFY_WITH_TIMEOUT(!broker.received(0).isEmpty(), 5000);
    broker.send(0, hex("20 02 00 00"));
    QTRY_COMPARE_WITH_TIMEOUT(connacks.count(), 1, 5000);
    client.disconnectFromBroker();
    QTRY_VERIFY_WITH_TIMEOUT(broker.received(0).endsWith(hex("e0 00")), 5000);
    QTRY_COMPARE_WITH_TIMEOUT(closed.count(), 1, 5000);
    QVERIFY(closed.at(0).at(0).value<event::ConnectionClosed>().by_client);
    QTRY_VERIFY_WITH_TIMEOUT(!broker.isOpen(0), 5000);
  }

  void reconnect_resumes_session_and_resends_with_dup() {
    ScriptedBroker broker;
    QVERIFY(broker.listen());
    ClientConnection client;
    QSignalSpy connacks(&client, &ClientConnection::connackReceived);
    QSignalSpy closed(&client, &ClientConnection::closed);
    client.connectToBroker(QStringLiteral("127.0.0.1"), broker.port(), options311(false));
    QTRY_VERIFY_WITH_TIMEOUT(!broker.received(0).isEmpty(), 5000);
    broker.send(0, hex("20 02 00 00"));
    QTRY_COMPARE_WITH_TIMEOUT(connacks.count(), 1, 5000);
    PublishRequest req;
    req.topic = "t";
    req.payload = "hi";
    req.qos = 1;
    QVERIFY(client.publish(req).ok());
    QTRY_VERIFY_WITH_TIMEOUT(broker.received(0).endsWith(hex("32 07 00 01 74 00 01 68 69")), 5000);

    broker.close(0);  // the broker drops the link before PUBACK
    QTRY_COMPARE_WITH_TIMEOUT(closed.count(), 1, 5000);
    QVERIFY(!closed.at(0).at(0).value<event::ConnectionClosed>().by_client);
    QCOMPARE(client.session().outbound_in_flight(), 1u);

    client.reconnect();
    QTRY_COMPARE_WITH_TIMEOUT(broker.connections(), 2, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(!broker.received(1).isEmpty(), 5000);
    QCOMPARE(static_cast<unsigned char>(broker.received(1).at(0)), 0x10);
    broker.send(1, hex("20 02 01 00"));  // session present
    // [MQTT-4.4.0-1]: re-sent with DUP=1 (0x3a) and the same packet id.
    QTRY_VERIFY_WITH_TIMEOUT(broker.received(1).endsWith(hex("3a 07 00 01 74 00 01 68 69")), 5000);
  }

  void keep_alive_sends_pingreq_on_the_timer() {
    ScriptedBroker broker;
    QVERIFY(broker.listen());
    ClientConnection client;
    QSignalSpy connacks(&client, &ClientConnection::connackReceived);
    ConnectOptions o = options311();
    o.keep_alive = 1;
    client.connectToBroker(QStringLiteral("127.0.0.1"), broker.port(), o);
    QTRY_VERIFY_WITH_TIMEOUT(!broker.received(0).isEmpty(), 5000);
    broker.send(0, hex("20 02 00 00"));
    QTRY_COMPARE_WITH_TIMEOUT(connacks.count(), 1, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(broker.received(0).endsWith(hex("c0 00")), 10000);
  }

  void garbage_from_broker_is_a_violation_not_a_crash() {
    ScriptedBroker broker;
    QVERIFY(broker.listen());
    ClientConnection client;
    QSignalSpy connacks(&client, &ClientConnection::connackReceived);
    QSignalSpy violations(&client, &ClientConnection::brokerViolation);
    QSignalSpy closed(&client, &ClientConnection::closed);
    client.connectToBroker(QStringLiteral("127.0.0.1"), broker.port(), options311());
    QTRY_VERIFY_WITH_TIMEOUT(!broker.received(0).isEmpty(), 5000);
    broker.send(0, hex("20 02 00 00"));
    QTRY_COMPARE_WITH_TIMEOUT(connacks.count(), 1, 5000);
    broker.send(0, hex("36 07 00 01 74 00 01 68 69"));  // PUBLISH QoS 3
    QTRY_COMPARE_WITH_TIMEOUT(violations.count(), 1, 5000);
    QVERIFY(violations.at(0).at(0).value<event::BrokerViolation>().fatal);
    // The client closes the connection it can no longer trust.
    QTRY_COMPARE_WITH_TIMEOUT(closed.count(), 1, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(!broker.isOpen(0), 5000);
  }

  void broker_disconnect_then_close_reports_the_reason() {
    ScriptedBroker broker;
    QVERIFY(broker.listen());
    ClientConnection client;
    QSignalSpy connacks(&client, &ClientConnection::connackReceived);
    QSignalSpy disconnects(&client, &ClientConnection::disconnectReceived);
    QSignalSpy closed(&client, &ClientConnection::closed);
    ConnectOptions o = options311();
    o.version = mqtt::Version::v5;
    client.connectToBroker(QStringLiteral("127.0.0.1"), broker.port(), o);
    QTRY_VERIFY_WITH_TIMEOUT(!broker.received(0).isEmpty(), 5000);
    broker.send(0, hex("20 03 00 00 00"));
    QTRY_COMPARE_WITH_TIMEOUT(connacks.count(), 1, 5000);
    broker.send(0, hex("e0 01 8b"));  // DISCONNECT 0x8B server shutting down
    broker.close(0);
    QTRY_COMPARE_WITH_TIMEOUT(closed.count(), 1, 5000);
    QCOMPARE(disconnects.count(), 1);
    const auto c = closed.at(0).at(0).value<event::ConnectionClosed>();
    QVERIFY(!c.by_client);
    QCOMPARE(c.disconnect_reason.value_or(0), std::uint8_t(0x8b));
  }

  // Inside a WriteBatch commands are neither written nor given a queued flush; the batch's
  // end hands all of them to the kernel at once, in the same loop turn. Outside a batch the
  // write waits for the queued flush of the next loop turn. What arrived is looked at on
  // the broker's kernel socket (MSG_PEEK), without letting the event loop run.
  void write_batch_writes_once_at_its_end_without_a_loop_turn() {
    ScriptedBroker broker;
    QVERIFY(broker.listen());
    ClientConnection client;
    QSignalSpy connacks(&client, &ClientConnection::connackReceived);
    client.connectToBroker(QStringLiteral("127.0.0.1"), broker.port(), options311());
    QTRY_VERIFY_WITH_TIMEOUT(!broker.received(0).isEmpty(), 5000);
    broker.send(0, hex("20 02 00 00"));
    QTRY_COMPARE_WITH_TIMEOUT(connacks.count(), 1, 5000);
    const int fd = broker.descriptor(0);
    QVERIFY(fd >= 0);
    const auto unread = [fd] {
      char buf[256];
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
      return n > 0 ? int(n) : 0;
    };
    // Waits in poll(), not in the event loop, so no queued flush can run meanwhile.
    const auto wait_unread = [&](int bytes) {
      for (int i = 0; i < 200 && unread() < bytes; ++i) {
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, 10);
      }
      return unread();
    };
    QCOMPARE(unread(), 0);

    PublishRequest req;
    req.topic = "t";
    req.payload = "a";
    req.qos = 0;
    const QByteArray one_publish = hex("30 04 00 01 74 61");  // 3.1.1 PUBLISH QoS 0 "t" "a"
    {
      ClientConnection::WriteBatch batch(client);
      QVERIFY(client.publish(req).ok());
      QVERIFY(client.publish(req).ok());
      QCOMPARE(unread(), 0);  // held until the batch ends
    }
    QCOMPARE(wait_unread(int(2 * one_publish.size())), int(2 * one_publish.size()));
    const qsizetype before = broker.received(0).size();
    QTRY_COMPARE_WITH_TIMEOUT(broker.received(0).size(), before + 2 * one_publish.size(), 5000);
    QCOMPARE(broker.received(0).right(2 * one_publish.size()), one_publish + one_publish);

    QVERIFY(client.publish(req).ok());
    QCOMPARE(unread(), 0);  // the queued flush has not run yet
    QTRY_COMPARE_WITH_TIMEOUT(broker.received(0).size(), before + 3 * one_publish.size(), 5000);
    QCOMPARE(broker.received(0).right(one_publish.size()), one_publish);
  }

  void connection_refused_reports_transport_error() {
    quint16 port = 0;
    {
      QTcpServer probe;
      QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
      port = probe.serverPort();
    }  // closed again: nothing listens there now
    ClientConnection client;
    QSignalSpy errors(&client, &ClientConnection::transportError);
    client.connectToBroker(QStringLiteral("127.0.0.1"), port, options311());
    QTRY_COMPARE_WITH_TIMEOUT(errors.count(), 1, 5000);
    QVERIFY(!client.isSocketOpen());
  }
};

QTEST_GUILESS_MAIN(ClientConnectionTest)
#include "client_connection_test.moc"
