// FaultProxy in front of the in-process BrokerServer: the per-packet signal reports the
// exchange in order (what fault-point exploration counts), and a rule added at runtime
// (a scenario `fault:` step arriving mid-scenario) applies from that moment on.
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
};

QTEST_GUILESS_MAIN(FaultProxyTest)
#include "fault_proxy_test.moc"
