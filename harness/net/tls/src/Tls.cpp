#include "mqtth/tls/Tls.hpp"

#include <QFile>
#include <QSslCertificate>
#include <QSslKey>
#include <QSslSocket>
#include <QStringList>

#include <optional>

namespace mqtth::tls {
namespace {

std::optional<QList<QSslCertificate>> read_certificates(const std::string& path, const char* option,
                                                        std::string& error) {
  QFile file(QString::fromStdString(path));
  if (!file.open(QIODevice::ReadOnly)) {
    error = std::string(option) + " " + path + ": " + file.errorString().toStdString();
    return std::nullopt;
  }
  auto certificates = QSslCertificate::fromData(file.readAll(), QSsl::Pem);
  if (certificates.isEmpty()) {
    error = std::string(option) + " " + path + ": no PEM certificate in it";
    return std::nullopt;
  }
  return certificates;
}

std::optional<QSslKey> read_key(const std::string& path, const char* option, std::string& error) {
  QFile file(QString::fromStdString(path));
  if (!file.open(QIODevice::ReadOnly)) {
    error = std::string(option) + " " + path + ": " + file.errorString().toStdString();
    return std::nullopt;
  }
  const QByteArray pem = file.readAll();
  for (const auto algorithm : {QSsl::Rsa, QSsl::Ec, QSsl::Dsa}) {
    QSslKey key(pem, algorithm, QSsl::Pem, QSsl::PrivateKey);
    if (!key.isNull()) return key;
  }
  error = std::string(option) + " " + path + ": no unencrypted PEM private key (RSA, EC or DSA) in it";
  return std::nullopt;
}

// The certificate problems a person can act on, in words; the rest as Qt says them.
QString describe(const QSslError& e) {
  switch (e.error()) {
    case QSslError::CertificateExpired: return "the server certificate has expired";
    case QSslError::CertificateNotYetValid: return "the server certificate is not valid yet";
    case QSslError::HostNameMismatch: return "the server certificate does not name this host (name mismatch)";
    case QSslError::SelfSignedCertificate:
    case QSslError::SelfSignedCertificateInChain:
    case QSslError::UnableToGetLocalIssuerCertificate:
    case QSslError::UnableToGetIssuerCertificate:
    case QSslError::UnableToVerifyFirstCertificate:
    case QSslError::CertificateUntrusted:
      return "the server certificate is signed by an unknown CA (--cafile names the CA to trust)";
    default: return e.errorString();
  }
}

}  // namespace

std::shared_ptr<const Client> make_client(const ClientOptions& options, std::string& error) {
  auto client = std::make_shared<Client>();
  client->configuration = QSslConfiguration::defaultConfiguration();
  if (!options.ca_file.empty()) {
    const auto cas = read_certificates(options.ca_file, "--cafile", error);
    if (!cas) return nullptr;
    client->configuration.setCaCertificates(*cas);
  }
  if (auto problem = check_client_options(options, true); !problem.empty()) {
    error = problem;
    return nullptr;
  }
  if (!options.cert_file.empty()) {
    const auto chain = read_certificates(options.cert_file, "--cert", error);
    if (!chain) return nullptr;
    const auto key = read_key(options.key_file, "--key", error);
    if (!key) return nullptr;
    client->configuration.setLocalCertificateChain(*chain);
    client->configuration.setPrivateKey(*key);
  }
  if (options.insecure) client->configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
  client->server_name = QString::fromStdString(options.server_name);
  client->insecure = options.insecure;
  return client;
}

std::optional<QSslConfiguration> make_server_configuration(const ServerOptions& options, std::string& error) {
  if (options.cert_file.empty() || options.key_file.empty()) {
    error = "an mqtts:// listener needs --cert and --key (the server certificate and its private key)";
    return std::nullopt;
  }
  QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
  const auto chain = read_certificates(options.cert_file, "--cert", error);
  if (!chain) return std::nullopt;
  const auto key = read_key(options.key_file, "--key", error);
  if (!key) return std::nullopt;
  configuration.setLocalCertificateChain(*chain);
  configuration.setPrivateKey(*key);
  if (options.client_ca_file.empty()) {
    configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
  } else {
    const auto cas = read_certificates(options.client_ca_file, "--client-ca", error);
    if (!cas) return std::nullopt;
    configuration.setCaCertificates(*cas);
    configuration.setPeerVerifyMode(QSslSocket::VerifyPeer);  // a client without a certificate is refused
  }
  return configuration;
}

QSslSocket* new_client_socket(const Client& client, QObject* parent) {
  auto* socket = new QSslSocket(parent);
  socket->setSslConfiguration(client.configuration);
  return socket;
}

bool is_tls_failure(const QAbstractSocket& socket) {
  // A TLS 1.3 client finishes its handshake before the server has checked the client's
  // certificate: the server's refusal then arrives as an alert on the first read.
  return qobject_cast<const QSslSocket*>(&socket) && (socket.error() == QAbstractSocket::SslHandshakeFailedError ||
                                                      socket.error() == QAbstractSocket::SslInternalError);
}

QString describe_failure(const QSslSocket& socket, const QList<QSslError>& verify_errors) {
  const QString where = socket.peerName() + ":" + QString::number(socket.peerPort());
  QStringList reasons;
  for (const auto& e : verify_errors)
    if (!reasons.contains(describe(e))) reasons << describe(e);
  QString why = reasons.join("; ");
  if (why.isEmpty()) why = socket.errorString();
  // A server that refuses our certificate (or its absence) ends the handshake with an alert.
  if (why.contains("alert certificate required") || why.contains("alert handshake failure") ||
      why.contains("alert bad certificate") || why.contains("alert unknown ca"))
    why += " (the server refused the client certificate, or its absence: --cert/--key)";
  return "TLS handshake with " + where + " failed: " + why;
}

}  // namespace mqtth::tls
