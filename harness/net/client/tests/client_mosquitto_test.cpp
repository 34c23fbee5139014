// ClientConnection against a real broker: Debian's mosquitto on a free loopback port
// (client_mosquitto_tests; skipped when mosquitto is not installed), or the embedded
// BrokerServer in-process (client_broker_tests, built with MQTTH_CLIENT_TEST_EMBEDDED).
// Checks that the client completes real QoS flows and session resumption without reporting
// violations a conforming broker does not commit.
#include <mqtth/client/ClientConnection.hpp>

#ifdef MQTTH_CLIENT_TEST_EMBEDDED
#include "mqtth/net/BrokerServer.hpp"
#endif

#include <QFile>
#include <QHostAddress>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

#include <set>

using namespace mqtth::client;

namespace {

[[maybe_unused]] quint16 freePort() {
  QTcpServer probe;
  if (!probe.listen(QHostAddress::LocalHost, 0)) return 0;
  return probe.serverPort();
}

[[maybe_unused]] bool accepts(quint16 port) {
  QTcpSocket s;
  s.connectToHost(QHostAddress::LocalHost, port);
  return s.waitForConnected(200);
}

ConnectOptions opts(mqtt::Version v, const std::string& id, bool clean) {
  ConnectOptions o;
  o.version = v;
  o.client_id = id;
  o.clean_start = clean;
  o.keep_alive = 30;
  if (v == mqtt::Version::v5 && !clean) o.session_expiry_interval = 300;
  return o;
}

SubscribeRequest subscription(const std::string& filter, std::uint8_t qos) {
  SubscribeRequest r;
  mqtt::Subscription s;
  s.filter = filter;
  s.options.qos = qos;
  r.subscriptions.push_back(s);
  return r;
}

PublishRequest message(const std::string& topic, const std::string& payload, std::uint8_t qos) {
  PublishRequest r;
  r.topic = topic;
  r.payload = payload;
  r.qos = qos;
  return r;
}

}  // namespace

class ClientMosquittoTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QLoggingCategory::setFilterRules(QStringLiteral("mqtth.client.debug=false"));
#ifdef MQTTH_CLIENT_TEST_EMBEDDED
    embedded_ = new mqtth::net::BrokerServer({}, this);
    QVERIFY2(embedded_->listen(QHostAddress::LocalHost, 0), qPrintable(embedded_->errorString()));
    port_ = embedded_->port();
#else
    QString exe = QStandardPaths::findExecutable(QStringLiteral("mosquitto"));
    if (exe.isEmpty() && QFile::exists(QStringLiteral("/usr/sbin/mosquitto"))) exe = QStringLiteral("/usr/sbin/mosquitto");
    if (exe.isEmpty()) QSKIP("mosquitto is not installed (scripts/setup.sh installs it)");
    QVERIFY(dir_.isValid());
    port_ = freePort();
    QVERIFY(port_ != 0);
    const QString conf = dir_.filePath(QStringLiteral("mosquitto.conf"));
    QFile f(conf);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(QStringLiteral("listener %1 127.0.0.1\nallow_anonymous true\npersistence false\n").arg(port_).toUtf8());
    f.close();
    broker_ = new QProcess(this);
    broker_->setProcessChannelMode(QProcess::MergedChannels);
    broker_->start(exe, {QStringLiteral("-c"), conf});
    QVERIFY(broker_->waitForStarted(5000));
    QTRY_VERIFY_WITH_TIMEOUT(accepts(port_), 10000);
#endif
  }

  void cleanupTestCase() {
    if (broker_ && broker_->state() != QProcess::NotRunning) {
      broker_->terminate();
      if (!broker_->waitForFinished(5000)) broker_->kill();
      broker_->waitForFinished(2000);
    }
  }

  void qos_flows_complete_without_violations_data() {
    QTest::addColumn<int>("version");
    QTest::addColumn<int>("qos");
    for (int v : {4, 5}) {
      for (int q : {0, 1, 2}) {
        QTest::addRow("v%d-qos%d", v, q) << v << q;
      }
    }
  }

  void qos_flows_complete_without_violations() {
    QFETCH(int, version);
    QFETCH(int, qos);
    const auto v = static_cast<mqtt::Version>(version);
    const std::string topic = "client-test/flows/" + std::to_string(version) + "/" + std::to_string(qos);
    ClientConnection sub;
    ClientConnection pub;
    QSignalSpy subConnack(&sub, &ClientConnection::connackReceived);
    QSignalSpy subAck(&sub, &ClientConnection::subackReceived);
    QSignalSpy delivered(&sub, &ClientConnection::messageDelivered);
    QSignalSpy pubConnack(&pub, &ClientConnection::connackReceived);
    QSignalSpy completed(&pub, &ClientConnection::publishCompleted);
    QSignalSpy violations1(&sub, &ClientConnection::brokerViolation);
    QSignalSpy violations2(&pub, &ClientConnection::brokerViolation);
    sub.connectToBroker(QStringLiteral("127.0.0.1"), port_, opts(v, "flow-sub", true));
    pub.connectToBroker(QStringLiteral("127.0.0.1"), port_, opts(v, "flow-pub", true));
    QTRY_COMPARE_WITH_TIMEOUT(subConnack.count(), 1, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(pubConnack.count(), 1, 5000);
    QVERIFY(sub.subscribe(subscription(topic, static_cast<std::uint8_t>(qos))).ok());
    QTRY_COMPARE_WITH_TIMEOUT(subAck.count(), 1, 5000);
    constexpr int kMessages = 60;  // above mosquitto's default in-flight window of 20
    for (int i = 0; i < kMessages; ++i) {
      QVERIFY(pub.publish(message(topic, std::to_string(i), static_cast<std::uint8_t>(qos))).ok());
    }
    QTRY_COMPARE_WITH_TIMEOUT(delivered.count(), kMessages, 10000);
    if (qos > 0) QTRY_COMPARE_WITH_TIMEOUT(completed.count(), kMessages, 10000);
    std::set<std::string> payloads;
    for (const auto& args : delivered) payloads.insert(args.at(0).value<event::MessageDelivered>().payload);
    QCOMPARE(static_cast<int>(payloads.size()), kMessages);
    QCOMPARE(violations1.count(), 0);
    QCOMPARE(violations2.count(), 0);
    QCOMPARE(pub.session().outbound_in_flight(), 0u);
    // Deliveries happen on PUBLISH; the last QoS 2 flows end when their PUBRELs arrive.
    QTRY_COMPARE_WITH_TIMEOUT(sub.session().inbound_in_flight(), 0u, 5000);
  }

  void persistent_session_receives_what_was_published_while_away_data() {
    QTest::addColumn<int>("version");
    QTest::addRow("v4") << 4;
    QTest::addRow("v5") << 5;
  }

  void persistent_session_receives_what_was_published_while_away() {
    QFETCH(int, version);
    const auto v = static_cast<mqtt::Version>(version);
    const std::string topic = "client-test/away/" + std::to_string(version);
    const std::string id = "away-sub-" + std::to_string(version);
    ClientConnection sub;
    ClientConnection pub;
    QSignalSpy subConnack(&sub, &ClientConnection::connackReceived);
    QSignalSpy subAck(&sub, &ClientConnection::subackReceived);
    QSignalSpy subClosed(&sub, &ClientConnection::closed);
    QSignalSpy delivered(&sub, &ClientConnection::messageDelivered);
    QSignalSpy violations(&sub, &ClientConnection::brokerViolation);
    QSignalSpy pubConnack(&pub, &ClientConnection::connackReceived);
    QSignalSpy completed(&pub, &ClientConnection::publishCompleted);
    // Start from no stored session, then keep one.
    sub.connectToBroker(QStringLiteral("127.0.0.1"), port_, opts(v, id, true));
    QTRY_COMPARE_WITH_TIMEOUT(subConnack.count(), 1, 5000);
    sub.disconnectFromBroker();
    QTRY_COMPARE_WITH_TIMEOUT(subClosed.count(), 1, 5000);
    sub.connectToBroker(QStringLiteral("127.0.0.1"), port_, opts(v, id, false));
    QTRY_COMPARE_WITH_TIMEOUT(subConnack.count(), 2, 5000);
    QVERIFY(sub.subscribe(subscription(topic, 1)).ok());
    QTRY_COMPARE_WITH_TIMEOUT(subAck.count(), 1, 5000);
    sub.abort();
    QCOMPARE(subClosed.count(), 2);

    pub.connectToBroker(QStringLiteral("127.0.0.1"), port_, opts(v, "away-pub", true));
    QTRY_COMPARE_WITH_TIMEOUT(pubConnack.count(), 1, 5000);
    for (int i = 0; i < 10; ++i) QVERIFY(pub.publish(message(topic, std::to_string(i), 1)).ok());
    QTRY_COMPARE_WITH_TIMEOUT(completed.count(), 10, 5000);

    sub.reconnect();
    QTRY_COMPARE_WITH_TIMEOUT(subConnack.count(), 3, 5000);
    QVERIFY(subConnack.at(2).at(0).value<event::ConnackReceived>().session_present);
    QTRY_COMPARE_WITH_TIMEOUT(delivered.count(), 10, 5000);
    QCOMPARE(violations.count(), 0);
  }

  void withheld_puback_is_redelivered_with_dup_after_reconnect() {
    const std::string topic = "client-test/redeliver";
    ClientConnection sub;
    ClientConnection pub;
    QSignalSpy subConnack(&sub, &ClientConnection::connackReceived);
    QSignalSpy subAck(&sub, &ClientConnection::subackReceived);
    QSignalSpy delivered(&sub, &ClientConnection::messageDelivered);
    QSignalSpy violations(&sub, &ClientConnection::brokerViolation);
    QSignalSpy pubConnack(&pub, &ClientConnection::connackReceived);
    sub.connectToBroker(QStringLiteral("127.0.0.1"), port_, opts(mqtt::Version::v3_1_1, "redeliver-sub", true));
    QTRY_COMPARE_WITH_TIMEOUT(subConnack.count(), 1, 5000);
    sub.abort();
    sub.connectToBroker(QStringLiteral("127.0.0.1"), port_, opts(mqtt::Version::v3_1_1, "redeliver-sub", false));
    QTRY_COMPARE_WITH_TIMEOUT(subConnack.count(), 2, 5000);
    QVERIFY(sub.subscribe(subscription(topic, 1)).ok());
    QTRY_COMPARE_WITH_TIMEOUT(subAck.count(), 1, 5000);
    sub.misbehaviour().withhold_puback = 1;

    pub.connectToBroker(QStringLiteral("127.0.0.1"), port_, opts(mqtt::Version::v3_1_1, "redeliver-pub", true));
    QTRY_COMPARE_WITH_TIMEOUT(pubConnack.count(), 1, 5000);
    QVERIFY(pub.publish(message(topic, "once", 1)).ok());
    QTRY_COMPARE_WITH_TIMEOUT(delivered.count(), 1, 5000);
    QCOMPARE(sub.session().inbound_in_flight(), 1u);

    sub.abort();
    sub.reconnect();
    QTRY_COMPARE_WITH_TIMEOUT(subConnack.count(), 3, 5000);
    // [MQTT-4.4.0-1]: mosquitto re-sends the unacknowledged PUBLISH with DUP=1.
    QTRY_COMPARE_WITH_TIMEOUT(delivered.count(), 2, 5000);
    const auto again = delivered.at(1).at(0).value<event::MessageDelivered>();
    QVERIFY(again.dup);
    QCOMPARE(again.payload, std::string("once"));
    QCOMPARE(violations.count(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(sub.session().inbound_in_flight(), 0u, 5000);
  }

  void ping_gets_pingresp() {
    ClientConnection c;
    QSignalSpy connack(&c, &ClientConnection::connackReceived);
    QSignalSpy received(&c, &ClientConnection::packetReceived);
    c.connectToBroker(QStringLiteral("127.0.0.1"), port_, opts(mqtt::Version::v5, "pinger", true));
    QTRY_COMPARE_WITH_TIMEOUT(connack.count(), 1, 5000);
    c.ping();
    QTRY_VERIFY_WITH_TIMEOUT(
        std::any_of(received.begin(), received.end(), [](const QList<QVariant>& args) {
          return mqtt::packet_type(args.at(0).value<event::PacketReceived>().packet) == mqtt::PacketType::pingresp;
        }),
        5000);
  }

 private:
  QTemporaryDir dir_;
  QProcess* broker_ = nullptr;
#ifdef MQTTH_CLIENT_TEST_EMBEDDED
  mqtth::net::BrokerServer* embedded_ = nullptr;
#endif
  quint16 port_ = 0;
};

QTEST_GUILESS_MAIN(ClientMosquittoTest)
#include "client_mosquitto_test.moc"
