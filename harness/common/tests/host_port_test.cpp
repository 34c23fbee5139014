// The one HOST:PORT grammar (mqtth/common/HostPort.hpp): names, IPv4, bracketed IPv6, the
// port range with and without 0, and garbage, each error naming what is wrong.
#include "mqtth/common/HostPort.hpp"

#include <gtest/gtest.h>

using mqtth::common::format_host_port;
using mqtth::common::HostPort;
using mqtth::common::parse_host_port;
using mqtth::common::PortZero;

namespace {

HostPort ok(std::string_view text, PortZero zero = PortZero::refused) {
  const auto r = parse_host_port(text, zero);
  EXPECT_TRUE(r.value) << text << ": " << r.error;
  return r.value.value_or(HostPort{"<none>", 0});
}

std::string error(std::string_view text, PortZero zero = PortZero::refused) {
  const auto r = parse_host_port(text, zero);
  EXPECT_FALSE(r.value) << text;
  EXPECT_EQ(r.error.rfind("'" + std::string(text) + "' is not HOST:PORT: ", 0), 0u) << r.error;
  return r.error;
}

}  // namespace

TEST(HostPort, names_ipv4_and_bracketed_ipv6) {
  EXPECT_EQ(ok("127.0.0.1:1883"), (HostPort{"127.0.0.1", 1883}));
  EXPECT_EQ(ok("localhost:8883"), (HostPort{"localhost", 8883}));
  EXPECT_EQ(ok("broker-1.example_net:1"), (HostPort{"broker-1.example_net", 1}));
  EXPECT_EQ(ok("[::1]:1883"), (HostPort{"::1", 1883}));
  EXPECT_EQ(ok("[fe80::1%eth0]:1883"), (HostPort{"fe80::1%eth0", 1883}));
  EXPECT_EQ(ok("[::ffff:127.0.0.1]:65535"), (HostPort{"::ffff:127.0.0.1", 65535}));
}

TEST(HostPort, port_range_with_and_without_zero) {
  EXPECT_EQ(ok("h:65535").port, 65535);
  EXPECT_EQ(ok("h:00080").port, 80);
  EXPECT_NE(error("h:65536").find("the port 65536 is not in 1..65535"), std::string::npos);
  EXPECT_NE(error("h:0").find("the port 0 is not allowed here (1..65535)"), std::string::npos);
  EXPECT_EQ(ok("127.0.0.1:0", PortZero::allowed).port, 0);
  EXPECT_NE(error("h:70000", PortZero::allowed).find("the port 70000 is not in 0..65535"), std::string::npos);
  EXPECT_NE(error("h:99999999999999999999").find("is not in 1..65535"), std::string::npos);
}

TEST(HostPort, an_empty_host_or_port_is_named) {
  EXPECT_NE(error(":1883").find("the host is empty"), std::string::npos);
  EXPECT_NE(error("[]:1883").find("the host is empty"), std::string::npos);
  EXPECT_NE(error("h:").find("the port is empty"), std::string::npos);
  EXPECT_NE(error("[::1]:").find("the port is empty"), std::string::npos);
  EXPECT_NE(error("").find("no ':PORT'"), std::string::npos);
}

TEST(HostPort, garbage_is_refused_saying_what_is_wrong) {
  EXPECT_NE(error("localhost").find("no ':PORT'"), std::string::npos);
  EXPECT_NE(error("::1:8883").find("an IPv6 address needs brackets, e.g. [::1]:1883"), std::string::npos);
  EXPECT_NE(error("[::1:8883").find("'[' without ']'"), std::string::npos);
  EXPECT_NE(error("[::1]8883").find("']' must be followed by ':PORT'"), std::string::npos);
  EXPECT_NE(error("[::1]").find("']' must be followed by ':PORT'"), std::string::npos);
  EXPECT_NE(error("[localhost]:1").find("brackets are for IPv6 addresses"), std::string::npos);
  EXPECT_NE(error("[::1 ]:1").find("' ' cannot be part of an IPv6 address"), std::string::npos);
  EXPECT_NE(error("a b:1").find("' ' cannot be part of a host name or address"), std::string::npos);
  EXPECT_NE(error("mqtt://h:1883").find("a URL; give HOST:PORT without the scheme"), std::string::npos);
  EXPECT_NE(error("h/x:1883").find("'/' cannot be part of a host name"), std::string::npos);
  EXPECT_NE(error("h:18 83").find("the port '18 83' is not a number"), std::string::npos);
  EXPECT_NE(error("h:-1").find("the port '-1' is not a number"), std::string::npos);
  EXPECT_NE(error("h:0x50").find("the port '0x50' is not a number"), std::string::npos);
}

TEST(HostPort, format_brackets_ipv6_and_reads_back) {
  EXPECT_EQ(format_host_port("127.0.0.1", 1883), "127.0.0.1:1883");
  EXPECT_EQ(format_host_port("::1", 0), "[::1]:0");
  for (const HostPort& hp : {HostPort{"localhost", 1}, HostPort{"::1", 65535}, HostPort{"10.0.0.2", 8883}})
    EXPECT_EQ(ok(format_host_port(hp.host, hp.port), PortZero::allowed), hp);
}
