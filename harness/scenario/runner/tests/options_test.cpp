#include <gtest/gtest.h>

#include "mqtth/runner/Options.hpp"

using namespace mqtth::runner;

TEST(RunOptions, parses_every_documented_option) {
  auto r = parse_run_args({"scenarios/", "--broker", "127.0.0.1:1883", "--protocol", "3.1.1", "-j", "4",
                           "--junit", "j.xml", "--json=r.json", "--html", "out/i.html", "--seed", "42",
                           "--filter", "QoS*", "--filter", "*retain*", "--shard", "2/3", "--profile", "p.yaml",
                           "more.yaml"});
  ASSERT_TRUE(r.ok()) << *r.error;
  const auto& o = r.options;
  EXPECT_EQ(o.paths, (std::vector<std::string>{"scenarios/", "more.yaml"}));
  ASSERT_TRUE(o.broker);
  EXPECT_EQ(o.broker->host, "127.0.0.1");
  EXPECT_EQ(o.broker->port, 1883);
  EXPECT_EQ(o.protocol, "3.1.1");
  EXPECT_EQ(o.jobs, 4u);
  EXPECT_EQ(o.junit_file, "j.xml");
  EXPECT_EQ(o.json_file, "r.json");
  EXPECT_EQ(o.html_file, "out/i.html");
  EXPECT_EQ(o.seed, 42u);
  EXPECT_EQ(o.filters.size(), 2u);
  ASSERT_TRUE(o.shard);
  EXPECT_EQ(o.shard->index, 2u);
  EXPECT_EQ(o.shard->count, 3u);
  EXPECT_EQ(o.profile_file, "p.yaml");
}

TEST(RunOptions, prefix_takes_a_template_or_none) {
  EXPECT_EQ(parse_run_args({"x"}).options.prefix, "{run}/{n}");
  EXPECT_EQ(parse_run_args({"x", "--prefix", "none"}).options.prefix, "none");
  auto r = parse_run_args({"x", "--prefix=ci/{run}/{n}"});
  ASSERT_TRUE(r.ok()) << *r.error;
  EXPECT_EQ(r.options.prefix, "ci/{run}/{n}");
  r = parse_run_args({"x", "--prefix", "ci/{run}"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error->find("{n}"), std::string::npos) << *r.error;
}

TEST(RunOptions, j_accepts_the_attached_form) {
  auto r = parse_run_args({"-j2", "x.yaml"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.options.jobs, 2u);
}

TEST(RunOptions, rejects_bad_values_naming_the_option) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"x", "--broker", "localhost"}, {"x", "--broker", "h:0"}, {"x", "--broker", "h:70000"},
           {"x", "--protocol", "4"}, {"x", "-j", "0"}, {"x", "--shard", "0/2"}, {"x", "--shard", "3/2"},
           {"x", "--shard", "1"}, {"x", "--seed", "-1"}, {"x", "--bogus"}, {"x", "--json"},
           {"x", "--prefix", "{run}"}, {"x", "--prefix", "a/#/{n}"}, {"x", "--prefix"}}) {
    auto r = parse_run_args(args);
    EXPECT_FALSE(r.ok()) << args[1];
    if (!r.ok()) {
      EXPECT_NE(r.error->find(args[1].substr(0, 6)), std::string::npos) << *r.error;
    }
  }
}

TEST(RunOptions, needs_a_path_unless_help) {
  EXPECT_FALSE(parse_run_args({}).ok());
  auto r = parse_run_args({"--help"});
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.options.help);
}

TEST(RunOptions, broker_takes_the_common_host_port_grammar_with_bracketed_ipv6) {
  auto r = parse_run_args({"x", "--broker", "[::1]:8883"});
  ASSERT_TRUE(r.ok()) << *r.error;
  EXPECT_EQ(r.options.broker, (Endpoint{"::1", 8883}));
  auto bad = parse_run_args({"x", "--broker", "::1:8883"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(*bad.error, "--broker: '::1:8883' is not HOST:PORT: an IPv6 address needs brackets, e.g. [::1]:1883");
}

TEST(RunOptions, broker_url_names_the_transport_and_tls_options_need_mqtts) {
  auto plain = parse_run_args({"x", "--broker", "mqtt://127.0.0.1:1883"});
  ASSERT_TRUE(plain.ok()) << *plain.error;
  EXPECT_EQ(plain.options.transport, mqtth::common::Transport::mqtt);
  auto tls = parse_run_args({"x", "--broker", "mqtts://broker.example:8883", "--cafile", "ca.pem", "--cert=c.pem",
                             "--key", "c.key", "--tls-server-name", "mqtt.example", "--insecure"});
  ASSERT_TRUE(tls.ok()) << *tls.error;
  EXPECT_EQ(tls.options.broker, (Endpoint{"broker.example", 8883}));
  EXPECT_EQ(tls.options.transport, mqtth::common::Transport::mqtts);
  EXPECT_EQ(tls.options.tls.ca_file, "ca.pem");
  EXPECT_EQ(tls.options.tls.cert_file, "c.pem");
  EXPECT_EQ(tls.options.tls.key_file, "c.key");
  EXPECT_EQ(tls.options.tls.server_name, "mqtt.example");
  EXPECT_TRUE(tls.options.tls.insecure);
  auto error_of = [](std::vector<std::string> args) {
    auto r = parse_run_args(args);
    return r.ok() ? std::string("(accepted)") : *r.error;
  };
  EXPECT_EQ(error_of({"x", "--broker", "127.0.0.1:1883", "--cafile", "ca.pem"}),
            "--cafile is a TLS option: it needs --broker mqtts://HOST:PORT");
  EXPECT_EQ(error_of({"x", "--insecure"}), "--insecure is a TLS option: it needs --broker mqtts://HOST:PORT");
  EXPECT_EQ(error_of({"x", "--broker", "mqtts://h:8883", "--key", "c.key"}),
            "--cert and --key go together (the client certificate and its private key)");
  EXPECT_EQ(error_of({"x", "--broker", "mqtts://h:8883", "--cafile"}), "--cafile needs a file name");
  EXPECT_NE(error_of({"x", "--broker", "ws://h:8080/mqtt"}).find("not supported yet"), std::string::npos);
}

TEST(RunOptions, usage_documents_pcap_and_explore) {
  EXPECT_NE(std::string(run_usage()).find("--pcap DIR"), std::string::npos);
  EXPECT_NE(std::string(run_usage()).find("--explore cut_points"), std::string::npos);
}

TEST(RunOptions, explore_accepts_only_cut_points_and_a_bounded_run_count) {
  auto ok = parse_run_args({"s.yaml", "--explore", "cut_points", "--explore-max-runs", "12", "--pcap", "caps"});
  ASSERT_TRUE(ok.ok()) << *ok.error;
  EXPECT_EQ(ok.options.explore, "cut_points");
  EXPECT_EQ(ok.options.explore_max_runs, 12u);
  EXPECT_EQ(ok.options.pcap_dir, "caps");
  auto bad = parse_run_args({"s.yaml", "--explore", "everything"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(*bad.error, "--explore: expected cut_points, got 'everything'");
  EXPECT_FALSE(parse_run_args({"s.yaml", "--explore-max-runs", "0"}).ok());
}

TEST(RunOptions, spawn_takes_the_command_after_the_double_dash) {
  auto r = parse_run_args({"scenarios/", "--spawn", "--restart", "per-scenario", "--", "broker", "--listen",
                           "127.0.0.1:{port}", "-v"});
  ASSERT_TRUE(r.ok()) << *r.error;
  EXPECT_EQ(r.options.paths, (std::vector<std::string>{"scenarios/"}));
  EXPECT_EQ(r.options.spawn, (std::vector<std::string>{"broker", "--listen", "127.0.0.1:{port}", "-v"}));
  EXPECT_EQ(r.options.restart, RestartPolicy::per_scenario);
  r = parse_run_args({"s", "--spawn", "--", "b", "{port}"});
  ASSERT_TRUE(r.ok()) << *r.error;
  EXPECT_EQ(r.options.restart, RestartPolicy::on_crash);
  EXPECT_EQ(to_string(r.options.restart), "on-crash");
  // Without --spawn, `--` still ends the options.
  r = parse_run_args({"--", "-odd-name.yaml"});
  ASSERT_TRUE(r.ok()) << *r.error;
  EXPECT_EQ(r.options.paths, (std::vector<std::string>{"-odd-name.yaml"}));
  EXPECT_TRUE(r.options.spawn.empty());
  // A fixed address instead of {port}, as for `fuzz --spawn`.
  r = parse_run_args({"s", "--broker", "127.0.0.1:1883", "--spawn", "--", "mosquitto", "-p", "1883"});
  ASSERT_TRUE(r.ok()) << *r.error;
}

TEST(RunOptions, spawn_mistakes_are_errors_saying_what_to_do) {
  auto error_of = [](std::vector<std::string> args) {
    auto r = parse_run_args(args);
    return r.ok() ? std::string("(accepted)") : *r.error;
  };
  EXPECT_NE(error_of({"s", "--spawn"}).find("needs the broker's command after '--'"), std::string::npos);
  EXPECT_NE(error_of({"s", "--spawn", "--", "b"}).find("{port}"), std::string::npos);
  EXPECT_NE(error_of({"s", "--restart", "on-crash"}).find("--restart needs --spawn"), std::string::npos);
  EXPECT_NE(error_of({"s", "--spawn", "--restart", "always", "--", "b", "{port}"}).find("per-scenario or on-crash"),
            std::string::npos);
  EXPECT_NE(error_of({"s", "-j", "2", "--spawn", "--", "b", "{port}"}).find("-j 1"), std::string::npos);
}
