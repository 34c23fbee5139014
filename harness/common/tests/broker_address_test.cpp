// The one BROKER-URL grammar (mqtth/common/BrokerAddress.hpp): the schemes, the bare
// HOST:PORT form it keeps accepting, and bad input, each error naming what is wrong.
#include "mqtth/common/BrokerAddress.hpp"

#include <gtest/gtest.h>

using mqtth::common::BrokerAddress;
using mqtth::common::format_broker_address;
using mqtth::common::HostPort;
using mqtth::common::parse_broker_address;
using mqtth::common::PortZero;
using mqtth::common::Transport;

namespace {

BrokerAddress ok(std::string_view text, PortZero zero = PortZero::refused) {
  const auto r = parse_broker_address(text, zero);
  EXPECT_TRUE(r.value) << text << ": " << r.error;
  return r.value.value_or(BrokerAddress{Transport::mqtt, {"<none>", 0}});
}

std::string error(std::string_view text, PortZero zero = PortZero::refused) {
  const auto r = parse_broker_address(text, zero);
  EXPECT_FALSE(r.value) << text;
  EXPECT_NE(r.error.find("'" + std::string(text) + "'"), std::string::npos) << "quotes the text: " << r.error;
  return r.error;
}

}  // namespace

TEST(BrokerAddress, bare_host_port_is_plain_mqtt) {
  EXPECT_EQ(ok("127.0.0.1:1883"), (BrokerAddress{Transport::mqtt, {"127.0.0.1", 1883}}));
  EXPECT_EQ(ok("mqtt://127.0.0.1:1883"), ok("127.0.0.1:1883"));
  EXPECT_EQ(ok("mqtt://localhost:1883"), (BrokerAddress{Transport::mqtt, {"localhost", 1883}}));
}

TEST(BrokerAddress, mqtts_and_ipv6) {
  EXPECT_EQ(ok("mqtts://broker.example:8883"), (BrokerAddress{Transport::mqtts, {"broker.example", 8883}}));
  EXPECT_EQ(ok("mqtts://[::1]:8883/"), (BrokerAddress{Transport::mqtts, {"::1", 8883}}));
  EXPECT_EQ(ok("mqtts://127.0.0.1:0", PortZero::allowed), (BrokerAddress{Transport::mqtts, {"127.0.0.1", 0}}));
}

TEST(BrokerAddress, format_always_names_the_scheme_and_reads_back) {
  for (const char* text : {"mqtt://127.0.0.1:1883", "mqtts://[::1]:8883", "mqtts://h-1.example:1"}) {
    EXPECT_EQ(format_broker_address(ok(text)), text);
    EXPECT_EQ(ok(format_broker_address(ok(text))), ok(text));
  }
  EXPECT_EQ(format_broker_address(ok("localhost:1883")), "mqtt://localhost:1883");
}

TEST(BrokerAddress, bad_input_says_what_is_wrong) {
  EXPECT_NE(error("http://127.0.0.1:80").find("unknown scheme 'http://'"), std::string::npos);
  EXPECT_NE(error("ssl://127.0.0.1:8883").find("unknown scheme"), std::string::npos);
  EXPECT_NE(error("ws://127.0.0.1:8080/mqtt").find("not supported yet"), std::string::npos);
  EXPECT_NE(error("wss://127.0.0.1:8084").find("not supported yet"), std::string::npos);
  EXPECT_NE(error("mqtts://127.0.0.1:8883/mqtt").find("a path"), std::string::npos);
  EXPECT_NE(error("mqtts://127.0.0.1").find("no ':PORT'"), std::string::npos);
  EXPECT_NE(error("mqtts://127.0.0.1:0").find("port 0 is not allowed"), std::string::npos);
  EXPECT_NE(error("mqtts://::1:8883").find("IPv6 address needs brackets"), std::string::npos);
  EXPECT_NE(error("mqtts://:8883").find("host is empty"), std::string::npos);
  EXPECT_NE(error("mqtt://").find("no ':PORT'"), std::string::npos);
  EXPECT_NE(error("mqtts://h:99999").find("not in 1..65535"), std::string::npos);
}
