#include "mqtth/tls/TlsOptions.hpp"

namespace mqtth::tls {

bool is_client_option(std::string_view option) {
  return client_option_takes_value(option) || option == "--insecure";
}

bool client_option_takes_value(std::string_view option) {
  return option == "--cafile" || option == "--cert" || option == "--key" || option == "--tls-server-name";
}

std::string set_client_option(ClientOptions& options, std::string_view option, std::string_view value) {
  if (option == "--insecure") {
    options.insecure = true;
    return {};
  }
  if (value.empty())
    return std::string(option) + (option == "--tls-server-name" ? " needs a host name" : " needs a file name");
  if (option == "--cafile") options.ca_file = value;
  else if (option == "--cert") options.cert_file = value;
  else if (option == "--key") options.key_file = value;
  else if (option == "--tls-server-name") options.server_name = value;
  else return "'" + std::string(option) + "' is no TLS option";
  return {};
}

std::string check_client_options(const ClientOptions& options, bool mqtts) {
  const char* given = !options.ca_file.empty()     ? "--cafile"
                      : !options.cert_file.empty()   ? "--cert"
                      : !options.key_file.empty()    ? "--key"
                      : !options.server_name.empty() ? "--tls-server-name"
                      : options.insecure            ? "--insecure"
                                                    : nullptr;
  if (given && !mqtts) return std::string(given) + " is a TLS option: it needs --broker mqtts://HOST:PORT";
  if (options.cert_file.empty() != options.key_file.empty())
    return "--cert and --key go together (the client certificate and its private key)";
  return {};
}

}  // namespace mqtth::tls
