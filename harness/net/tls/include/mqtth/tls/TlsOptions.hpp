// The TLS options of the command line as plain values (no Qt, so option parsers stay
// testable without an event loop); Tls.hpp turns them into QSslConfiguration.
#pragma once

#include <string>
#include <string_view>

namespace mqtth::tls {

// The client side of an mqtts:// connection, as given on the command line.
struct ClientOptions {
  std::string ca_file;      // --cafile: PEM CA certificate(s) to trust; empty: the system's
  std::string cert_file;    // --cert: PEM client certificate (mutual TLS), with key_file
  std::string key_file;     // --key: its PEM private key (unencrypted)
  std::string server_name;  // --tls-server-name: SNI and the name checked; empty: the host
  bool insecure = false;    // --insecure: the server certificate is not verified at all
};

// The client TLS options every command with --broker reads (run, bench): one parser.
// Whether `option` is one (--insecure takes no value, the others one).
bool is_client_option(std::string_view option);
bool client_option_takes_value(std::string_view option);
// Sets `option` to `value`; "" or what is wrong ("--cafile needs a file name").
std::string set_client_option(ClientOptions& options, std::string_view option, std::string_view value = {});
// After parsing: "" or what is wrong with the options together (a TLS option without an
// mqtts:// broker, --cert without --key).
std::string check_client_options(const ClientOptions& options, bool mqtts);

// The server side of an mqtts:// listener: `broker --listen mqtts://... --cert --key
// [--client-ca]`.
struct ServerOptions {
  std::string cert_file;       // PEM server certificate (chain)
  std::string key_file;        // its PEM private key
  std::string client_ca_file;  // when set: client certificates are required and checked against it
};
}  // namespace mqtth::tls
