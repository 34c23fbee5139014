// TLS for the Qt shells (docs/tls.md): what the `--cafile`, `--cert`, `--key`,
// `--tls-server-name`, `--insecure` and `--client-ca` options mean, turned into a
// QSslConfiguration once (files read and checked before anything connects), and the one
// wording of TLS failures (expired, unknown CA, name mismatch, handshake failure).
//
// Qt's QSslSocket with the OpenSSL backend of qt6-base; used by ClientConnection and
// RawConnection (client side), the scenario runner's probe and BrokerServer's mqtts://
// listener (server side).
#pragma once

#include <mqtth/tls/TlsOptions.hpp>

#include <QList>
#include <QSslConfiguration>
#include <QSslError>
#include <QString>

#include <memory>
#include <optional>
#include <string>

class QSslSocket;

namespace mqtth::tls {

// What a client socket needs; made once per run, shared by every connection.
struct Client {
  QSslConfiguration configuration;
  QString server_name;  // empty: the host connected to
  bool insecure = false;
  // The name the server certificate must carry for a connection to `host`.
  QString peerName(const QString& host) const { return server_name.isEmpty() ? host : server_name; }
};

// Reads the files; nullptr and `error` ("--cafile /x.pem: no PEM certificate in it") when
// one cannot be used.
std::shared_ptr<const Client> make_client(const ClientOptions& options, std::string& error);

std::optional<QSslConfiguration> make_server_configuration(const ServerOptions& options, std::string& error);

// A new QSslSocket with `client`'s configuration, child of `parent`; start it with
// connectToHostEncrypted(host, port, client.peerName(host)).
QSslSocket* new_client_socket(const Client& client, QObject* parent);

// "TLS handshake with 127.0.0.1:8883 failed: the server certificate has expired" and the
// like: the failure of `socket` (after errorOccurred), worded once for every command.
QString describe_failure(const QSslSocket& socket, const QList<QSslError>& verify_errors);
// Whether errorOccurred() on `socket` is a TLS failure (then describe_failure() says it)
// rather than a TCP one (refused, reset: errorString() says it).
bool is_tls_failure(const QAbstractSocket& socket);

}  // namespace mqtth::tls
