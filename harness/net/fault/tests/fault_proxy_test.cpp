// FaultProxy in front of the in-process BrokerServer: the per-packet signal reports the
// exchange in order (what fault-point exploration counts), a rule added at runtime
// (a scenario `fault:` step arriving mid-scenario) applies from that moment on, and a rule
// of one connection (the one it was armed on, or the next one) does not follow the client
// to its later connections.
#include "mqtth/net/BrokerServer.hpp"
#include "mqtth/fault/FaultProxy.hpp"

#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>

using mqtth::fault::Direction;
using mqtth::fault::FaultProxy;
using mqtth::fault::PacketRecord;
using mqtt::PacketType;

namespace {
// MQTT 5 CONNECT, client id "p", clean start, keep alive 0 (3.1.2).
const QByteArray kConnect = QByteArray::fromHex("100e00044d5154540502000000000170");
const QByteArray kPingreq = QByteArray::fromHex("c000");

std::vector<std::pair<Direction, PacketType>> seen(const QSignalSpy& spy) {
  std::vector<std::pair<Direction, PacketType>> out;
  for (const auto& args : spy) {
    const auto r = args.at(0).value<PacketRecord>();
    out.emplace_back(r.direction, r.type);
  }
  return out;
}
}  // namespace

class FaultProxyTest : public QObject {
  Q_OBJECT
 private slots:
  void passthrough_reports_every_packet_in_order() {
    mqtth::net::BrokerServer broker;
    QVERIFY(broker.listen());
    FaultProxy proxy(QHostAddress::LocalHost, broker.port());
    QVERIFY(proxy.listen());
    QSignalSpy packets(&proxy, &FaultProxy::packetReceived);
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, proxy.port());
    QVERIFY(client.waitForConnected(5000));
    client.write(kConnect);
    QTRY_COMPARE_WITH_TIMEOUT(packets.size(), 2, 5000);
    client.write(kPingreq);
    QTRY_COMPARE_WITH_TIMEOUT(packets.size(), 4, 5000);
    const std::vector<std::pair<Direction, PacketType>> expected = {
        {Direction::to_broker, PacketType::connect}, {Direction::to_client, PacketType::connack},
        {Direction::to_broker, PacketType::pingreq}, {Direction::to_client, PacketType::pingresp}};
    QCOMPARE(seen(packets), expected);
    QTRY_VERIFY_WITH_TIMEOUT(client.bytesAvailable() >= 5 + 2, 5000);  // CONNACK (>= 5 bytes in 5.0) + PINGRESP
  }

  void fault_added_at_runtime_counts_from_then_and_cuts_the_client() {
    mqtth::net::BrokerServer broker;
    QVERIFY(broker.listen());
    FaultProxy proxy(QHostAddress::LocalHost, broker.port());
    QVERIFY(proxy.listen());
    QSignalSpy packets(&proxy, &FaultProxy::packetReceived);
    QSignalSpy closed(&proxy, &FaultProxy::connectionClosed);
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, proxy.port());
    QVERIFY(client.waitForConnected(5000));
    client.write(kConnect + kPingreq);
    QTRY_COMPARE_WITH_TIMEOUT(packets.size(), 4, 5000);
    // The 2nd PINGRESP from now on: earlier ones do not count.
    auto rule = mqtth::fault::parse_fault_spec("cut:to_client:after=PINGRESP:nth=2:fin").rule;
    QVERIFY(rule);
    proxy.addFault(*rule);
    client.write(kPingreq);
    QTRY_COMPARE_WITH_TIMEOUT(packets.size(), 6, 5000);
    QCOMPARE(client.state(), QAbstractSocket::ConnectedState);
    client.write(kPingreq);
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::UnconnectedState, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(closed.size(), 1, 5000);
    QCOMPARE(proxy.openConnections(), 0);
  }

  void rule_of_one_connection_stays_with_it_and_a_next_rule_waits_for_the_next() {
    mqtth::net::BrokerServer broker;
    QVERIFY(broker.listen());
    FaultProxy proxy(QHostAddress::LocalHost, broker.port());
    QVERIFY(proxy.listen());
    QSignalSpy packets(&proxy, &FaultProxy::packetReceived);
    QSignalSpy closed(&proxy, &FaultProxy::connectionClosed);
    // Each socket with its own client id (the last byte of kConnect), so no takeover.
    auto connect_client = [&](QTcpSocket& s, char id) {
      s.connectToHost(QHostAddress::LocalHost, proxy.port());
      QVERIFY(s.waitForConnected(5000));
      const auto before = packets.size();
      QByteArray connect = kConnect;
      connect.back() = id;
      s.write(connect);
      QTRY_VERIFY_WITH_TIMEOUT(packets.size() >= before + 2, 5000);  // CONNECT, CONNACK: accepted
    };
    QCOMPARE(proxy.newestConnection(), 0);
    QTcpSocket first;
    connect_client(first, 'a');
    const int first_id = proxy.newestConnection();
    QVERIFY(first_id != 0);
    // Armed on the open connection: cut after its next PINGRESP.
    auto cut = mqtth::fault::parse_fault_spec("cut:to_client:after=PINGRESP:fin").rule;
    QVERIFY(cut);
    QVERIFY(proxy.addFaultTo(first_id, *cut) != 0);
    QCOMPARE(proxy.addFaultTo(first_id + 100, *cut), 0);  // no such connection: nothing armed
    first.write(kPingreq);
    QTRY_COMPARE_WITH_TIMEOUT(first.state(), QAbstractSocket::UnconnectedState, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(closed.size(), 1, 5000);
    QVERIFY(proxy.faults().empty());  // it went with its connection
    // A second connection of the client is not cut again.
    QTcpSocket second;
    connect_client(second, 'b');
    QVERIFY(proxy.newestConnection() > first_id);
    second.write(kPingreq);
    QTRY_VERIFY_WITH_TIMEOUT(second.bytesAvailable() >= 5 + 2, 5000);  // CONNACK + PINGRESP
    QCOMPARE(second.state(), QAbstractSocket::ConnectedState);
    // A rule for the next connection leaves the open one alone and cuts the next one.
    QVERIFY(proxy.addFaultToNext(*cut) != 0);
    second.write(kPingreq);
    QTRY_VERIFY_WITH_TIMEOUT(second.bytesAvailable() >= 5 + 2 + 2, 5000);
    QCOMPARE(second.state(), QAbstractSocket::ConnectedState);
    QTcpSocket third;
    connect_client(third, 'c');
    third.write(kPingreq);
    QTRY_COMPARE_WITH_TIMEOUT(third.state(), QAbstractSocket::UnconnectedState, 5000);
    QCOMPARE(second.state(), QAbstractSocket::ConnectedState);
    QTRY_VERIFY_WITH_TIMEOUT(proxy.faults().empty(), 5000);
  }
};

QTEST_GUILESS_MAIN(FaultProxyTest)
#include "fault_proxy_test.moc"
