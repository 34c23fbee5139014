// BrokerServer's mqtts:// listener (docs/tls.md): QSslSocket clients on 127.0.0.1, port 0,
// with certificates made at test time by scripts/certs.sh (Debian's openssl). Bounded
// QTRY_* waits, no sleeps. The MQTT bytes are written out by hand from the spec's packet
// layouts, as in broker_server_test.cpp.
#include "mqtth/net/BrokerServer.hpp"
#include "mqtth/tls/Tls.hpp"

#include <QProcess>
#include <QSignalSpy>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using mqtth::net::BrokerServer;

namespace {

const QByteArray kConnect311 = QByteArray::fromHex("100e00044d51545404020000000274" "31");  // client id "t1"
const QByteArray kConnack311Accepted = QByteArray::fromHex("20020000");
// SUBSCRIBE (3.8, 3.1.1) packet id 1, filter "a/b" at QoS 1.
const QByteArray kSubscribe = QByteArray::fromHex("8208" "0001" "0003612f62" "01");
// PUBLISH (3.3) QoS 0 to "a/b", payload "hi".
const QByteArray kPublish = QByteArray::fromHex("3007" "0003612f62" "6869");

}  // namespace

class BrokerServerTlsTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir certs_;
  QString cert(const char* name) const { return certs_.filePath(name); }

  std::optional<QSslConfiguration> serverConfig(bool requireClientCert) {
    std::string error;
    auto config = mqtth::tls::make_server_configuration(
        {cert("server.pem").toStdString(), cert("server.key").toStdString(),
         requireClientCert ? cert("ca.pem").toStdString() : std::string()},
        error);
    if (!config) qWarning("%s", error.c_str());
    return config;
  }

  // A TLS client trusting the test CA, with `clientCert` ("client", "untrusted") or none.
  std::unique_ptr<QSslSocket> tlsClient(quint16 port, const char* clientCert = nullptr) {
    mqtth::tls::ClientOptions options;
    options.ca_file = cert("ca.pem").toStdString();
    if (clientCert) {
      options.cert_file = cert((std::string(clientCert) + ".pem").c_str()).toStdString();
      options.key_file = cert((std::string(clientCert) + ".key").c_str()).toStdString();
    }
    std::string error;
    const auto client = mqtth::tls::make_client(options, error);
    if (!client) qWarning("%s", error.c_str());
    std::unique_ptr<QSslSocket> socket(mqtth::tls::new_client_socket(*client, nullptr));
    socket->connectToHostEncrypted("127.0.0.1", port, client->peerName("127.0.0.1"));
    return socket;
  }

 private slots:
  void initTestCase() {
    QVERIFY(certs_.isValid());
    QProcess make;
    make.start("bash", {MQTTH_SOURCE_DIR "/scripts/certs.sh", certs_.path()});
    QVERIFY(make.waitForFinished(60000));
    QCOMPARE(make.exitCode(), 0);
  }

  // Both listeners feed one engine: a TLS subscriber gets what a plain client publishes.
  void tls_and_plain_listeners_share_one_engine() {
    BrokerServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    const auto config = serverConfig(false);
    QVERIFY(config);
    QVERIFY(server.listenTls(QHostAddress::LocalHost, 0, *config));
    QVERIFY(server.tlsPort() != 0 && server.tlsPort() != server.port());

    auto subscriber = tlsClient(server.tlsPort());
    QTRY_VERIFY_WITH_TIMEOUT(subscriber->isEncrypted(), 10000);
    subscriber->write(kConnect311 + kSubscribe);
    QByteArray received;
    QTRY_VERIFY_WITH_TIMEOUT((received += subscriber->readAll()).size() >= 9, 10000);
    QCOMPARE(received.left(4), kConnack311Accepted);
    QCOMPARE(received.mid(4, 5), QByteArray::fromHex("9003000101"));  // SUBACK granted QoS 1

    QTcpSocket publisher;
    publisher.connectToHost(QHostAddress::LocalHost, server.port());
    QVERIFY(publisher.waitForConnected(10000));
    QByteArray connectP2 = kConnect311;
    connectP2[connectP2.size() - 1] = '2';  // client id "t2"
    publisher.write(connectP2 + kPublish);
    received.clear();
    QTRY_VERIFY_WITH_TIMEOUT((received += subscriber->readAll()).size() >= kPublish.size(), 10000);
    QCOMPARE(received, kPublish);
    QCOMPARE(server.connectionCount(), 2);
  }

  // An engine decision to close (a first packet that is not CONNECT, MQTT-3.1.0-1) closes
  // the TLS connection, and the shell forgets it.
  void an_engine_close_ends_the_tls_connection() {
    BrokerServer server;
    const auto config = serverConfig(false);
    QVERIFY(config);
    QVERIFY(server.listenTls(QHostAddress::LocalHost, 0, *config));
    QSignalSpy gone(&server, &BrokerServer::clientDisconnected);
    auto client = tlsClient(server.tlsPort());
    QTRY_VERIFY_WITH_TIMEOUT(client->isEncrypted(), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(server.connectionCount(), 1, 10000);
    client->write(QByteArray::fromHex("c000"));  // PINGREQ
    QTRY_COMPARE_WITH_TIMEOUT(client->state(), QAbstractSocket::UnconnectedState, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(gone.count(), 1, 10000);
    QCOMPARE(server.connectionCount(), 0);
  }

  // --client-ca: a client without a certificate, or with one from another CA, never
  // reaches the engine; one signed by the CA does.
  void client_certificates_are_required_with_a_client_ca() {
    BrokerServer server;
    const auto config = serverConfig(true);
    QVERIFY(config);
    QVERIFY(server.listenTls(QHostAddress::LocalHost, 0, *config));
    QSignalSpy accepted(&server, &BrokerServer::clientConnected);
    for (const char* refused : {static_cast<const char*>(nullptr), "untrusted"}) {
      auto client = tlsClient(server.tlsPort(), refused);
      client->write(kConnect311);
      QTRY_COMPARE_WITH_TIMEOUT(client->state(), QAbstractSocket::UnconnectedState, 10000);
      QCOMPARE(client->readAll(), QByteArray());
    }
    QCOMPARE(accepted.count(), 0);
    auto client = tlsClient(server.tlsPort(), "client");
    QTRY_VERIFY_WITH_TIMEOUT(client->isEncrypted(), 10000);
    client->write(kConnect311);
    QByteArray received;
    QTRY_VERIFY_WITH_TIMEOUT((received += client->readAll()).size() >= 4, 10000);
    QCOMPARE(received, kConnack311Accepted);
    QCOMPARE(accepted.count(), 1);
  }
};

QTEST_GUILESS_MAIN(BrokerServerTlsTest)
#include "broker_server_tls_test.moc"
