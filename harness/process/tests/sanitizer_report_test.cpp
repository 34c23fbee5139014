// The one sanitizer-report matcher, on reports in the shapes the gcc/clang runtimes and
// the C libraries print them (abridged from real runs: an ASan-built mosquitto, a leaking
// program, UBSan's recoverable checks, glibc's assert, Qt's Q_ASSERT).
#include "mqtth/process/SanitizerReport.hpp"

#include <gtest/gtest.h>

using mqtth::process::find_sanitizer_report;
using mqtth::process::last_lines;

TEST(SanitizerReport, address_sanitizer_header_and_its_first_stack) {
  const std::string out =
      "1733600000: New connection from 127.0.0.1:40000 on port 1883.\n"
      "=================================================================\n"
      "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x1 bp 0x2 sp 0x3\n"
      "READ of size 8 at 0x602000000010 thread T0\n"
      "    #0 0x55 in sub__remove src/subs.c:120\n"
      "    #1 0x56 in handle__unsubscribe src/handle_unsubscribe.c:88\n"
      "\n"
      "0x602000000010 is located 0 bytes inside of 16-byte region\n"
      "freed by thread T0 here:\n"
      "    #0 0x57 in free\n"
      "SUMMARY: AddressSanitizer: heap-use-after-free src/subs.c:120 in sub__remove\n";
  const auto r = find_sanitizer_report(out);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, "AddressSanitizer");
  EXPECT_EQ(r->headline, "ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x1 bp 0x2 sp 0x3");
  EXPECT_EQ(r->offset, out.find("==4242=="));
  EXPECT_EQ(r->excerpt,
            "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x1 bp 0x2 sp 0x3\n"
            "READ of size 8 at 0x602000000010 thread T0\n"
            "    #0 0x55 in sub__remove src/subs.c:120\n"
            "    #1 0x56 in handle__unsubscribe src/handle_unsubscribe.c:88\n"
            "...\n"
            "SUMMARY: AddressSanitizer: heap-use-after-free src/subs.c:120 in sub__remove\n");
}

TEST(SanitizerReport, leak_sanitizer_report_at_exit) {
  const std::string out =
      "listening on 127.0.0.1:1883\n"
      "\n"
      "=================================================================\n"
      "==77==ERROR: LeakSanitizer: detected memory leaks\n"
      "\n"
      "Direct leak of 24 byte(s) in 1 object(s) allocated from:\n"
      "    #0 0x7f in malloc\n"
      "    #1 0x40 in handle_connect src/handle_connect.c:300\n"
      "\n"
      "SUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s).\n";
  const auto r = find_sanitizer_report(out);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, "LeakSanitizer");
  EXPECT_EQ(r->headline, "ERROR: LeakSanitizer: detected memory leaks");
  EXPECT_NE(r->excerpt.find("Direct leak of 24 byte(s)"), std::string::npos) << r->excerpt;
  EXPECT_NE(r->excerpt.find("#1 0x40 in handle_connect"), std::string::npos) << r->excerpt;
  EXPECT_NE(r->excerpt.find("SUMMARY: AddressSanitizer: 24 byte(s) leaked"), std::string::npos) << r->excerpt;
}

TEST(SanitizerReport, undefined_behaviour_recoverable_line_with_and_without_debug_info) {
  const auto with = find_sanitizer_report("ok\nsrc/packet.c:77:12: runtime error: left shift of 1 by 31 places\nmore\n");
  ASSERT_TRUE(with);
  EXPECT_EQ(with->kind, "UndefinedBehaviorSanitizer");
  EXPECT_EQ(with->headline, "src/packet.c:77:12: runtime error: left shift of 1 by 31 places");
  const auto without = find_sanitizer_report("(/usr/sbin/broker+0x1234): runtime error: null pointer passed as argument 2\n");
  ASSERT_TRUE(without);
  EXPECT_EQ(without->kind, "UndefinedBehaviorSanitizer");
  const auto fatal = find_sanitizer_report("==9==ERROR: UndefinedBehaviorSanitizer: SEGV on unknown address 0x000\n");
  ASSERT_TRUE(fatal);
  EXPECT_EQ(fatal->kind, "UndefinedBehaviorSanitizer");
}

TEST(SanitizerReport, assertion_failures_of_glibc_bsd_and_qt) {
  const auto glibc = find_sanitizer_report("broker: src/db.c:42: db__msg_add: Assertion `msg != NULL' failed.\n");
  ASSERT_TRUE(glibc);
  EXPECT_EQ(glibc->kind, "assertion");
  EXPECT_EQ(glibc->headline, "broker: src/db.c:42: db__msg_add: Assertion `msg != NULL' failed.");
  const auto bsd = find_sanitizer_report("Assertion failed: (n > 0), function f, file x.c, line 9.\n");
  ASSERT_TRUE(bsd);
  EXPECT_EQ(bsd->kind, "assertion");
  const auto qt = find_sanitizer_report("ASSERT: \"m_state == Connected\" in file conn.cpp, line 51\n");
  ASSERT_TRUE(qt);
  EXPECT_EQ(qt->kind, "assertion");
  const auto qt_x = find_sanitizer_report("ASSERT failure in Engine::route: \"no session\", file e.cpp, line 3\n");
  ASSERT_TRUE(qt_x);
  EXPECT_EQ(qt_x->kind, "assertion");
}

TEST(SanitizerReport, thread_and_memory_sanitizer_warnings) {
  EXPECT_EQ(find_sanitizer_report("==1==WARNING: ThreadSanitizer: data race (pid=1)\n")->kind, "ThreadSanitizer");
  EXPECT_EQ(find_sanitizer_report("==1==WARNING: MemorySanitizer: use-of-uninitialized-value\n")->kind, "MemorySanitizer");
}

TEST(SanitizerReport, the_first_report_by_position_wins) {
  const auto r = find_sanitizer_report(
      "a.c:1:1: runtime error: signed integer overflow\n==5==ERROR: AddressSanitizer: SEGV on unknown address\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, "UndefinedBehaviorSanitizer");
}

// A broker's ordinary log lines that merely mention the words are no report.
TEST(SanitizerReport, ordinary_output_is_no_report) {
  EXPECT_FALSE(find_sanitizer_report(""));
  EXPECT_FALSE(find_sanitizer_report("listening on 127.0.0.1:1883\n"));
  EXPECT_FALSE(find_sanitizer_report("Received PUBLISH from c (d0, q0, r0, m0, 'runtime error', ... (5 bytes))\n"));
  EXPECT_FALSE(find_sanitizer_report("client said: Assertion `x' is fine\n"));
  EXPECT_FALSE(find_sanitizer_report("AddressSanitizer is not enabled in this build\n"));
}

TEST(SanitizerReport, excerpt_is_bounded) {
  std::string out = "==1==ERROR: AddressSanitizer: stack-overflow on address 0x1\n";
  for (int i = 0; i < 500; ++i) out += "    #" + std::to_string(i) + " 0x1 in recurse src/r.c:10\n";
  const auto r = find_sanitizer_report(out);
  ASSERT_TRUE(r);
  EXPECT_LE(r->excerpt.size(), 4096u);
  EXPECT_LE(std::count(r->excerpt.begin(), r->excerpt.end(), '\n'), 40);
}

TEST(LastLines, keeps_the_last_n_lines) {
  EXPECT_EQ(last_lines("a\nb\nc\n", 2), "b\nc\n");
  EXPECT_EQ(last_lines("a\nb\nc", 2), "b\nc");
  EXPECT_EQ(last_lines("a\nb\n", 5), "a\nb\n");
  EXPECT_EQ(last_lines("", 3), "");
  EXPECT_EQ(last_lines("x\n", 0), "");
}

// One bug, one signature: the same use-after-free from two runs (other addresses, pcs,
// process ids) groups together; the same kind in another function does not.
TEST(SanitizerSignature, kind_what_and_top_frames_without_addresses) {
  auto report = [](const char* pid, const char* addr, const char* second) {
    return std::string("==") + pid + "==ERROR: AddressSanitizer: heap-use-after-free on address " + addr +
           " at pc 0x55d1 bp 0x7ffd sp 0x7ffc\nREAD of size 8 at " + addr + " thread T0\n"
           "    #0 0x55d1c3 in sub__remove /src/subs.c:120:5\n"
           "    #1 0x55d1c4 in " + second + " /src/handle_unsubscribe.c:88\n"
           "    #2 0x55d1c5 in loop_handle_reads_writes (/usr/sbin/mosquitto+0x4a1b2)\n"
           "    #3 0x55d1c6 in main /src/mosquitto.c:400\n\n";
  };
  const auto a = find_sanitizer_report(report("4242", "0x602000000010", "handle__unsubscribe"));
  const auto b = find_sanitizer_report(report("99", "0x6020000000f0", "handle__unsubscribe"));
  const auto c = find_sanitizer_report(report("99", "0x6020000000f0", "handle__subscribe"));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->signature, "AddressSanitizer|heap-use-after-free|sub__remove|handle__unsubscribe|loop_handle_reads_writes");
  EXPECT_EQ(a->signature, b->signature);
  EXPECT_NE(a->signature, c->signature);
  EXPECT_EQ(a->frames.size(), 4u);
  EXPECT_FALSE(a->recoverable);
}

TEST(SanitizerSignature, allocator_frames_and_unsymbolised_offsets_are_left_out) {
  const auto leak = find_sanitizer_report(
      "==77==ERROR: LeakSanitizer: detected memory leaks\n\n"
      "Direct leak of 24 byte(s) in 1 object(s) allocated from:\n"
      "    #0 0x7f3a in __interceptor_malloc ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:69\n"
      "    #1 0x40 in handle_connect src/handle_connect.c:300\n"
      "    #2 0x41 (/usr/sbin/broker+0x1234)\n"
      "    #3 0x42 in operator new(unsigned long) (/lib/libstdc++.so.6+0x99)\n\n"
      "SUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s).\n");
  ASSERT_TRUE(leak);
  EXPECT_EQ(leak->signature, "LeakSanitizer|detected memory leaks|handle_connect|broker");
}

TEST(SanitizerSignature, recoverable_ubsan_values_blanked_location_kept) {
  const auto one = find_sanitizer_report("src/p.c:7:3: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'\n");
  const auto two = find_sanitizer_report("src/p.c:7:3: runtime error: signed integer overflow: 2147483600 + 99 cannot be represented in type 'int'\n");
  const auto other = find_sanitizer_report("src/p.c:9:3: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'\n");
  ASSERT_TRUE(one && two && other);
  EXPECT_TRUE(one->recoverable);
  EXPECT_EQ(one->signature, "UndefinedBehaviorSanitizer|src/p.c:7:3: runtime error: signed integer overflow: N + N cannot be represented in type 'int'");
  EXPECT_EQ(one->signature, two->signature);
  EXPECT_NE(one->signature, other->signature);
  const auto bare = find_sanitizer_report("(/usr/sbin/broker+0x1234): runtime error: null pointer passed as argument 2\n");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->signature.find("1234"), std::string::npos) << bare->signature;
}

TEST(SanitizerReports, every_report_in_order_each_with_its_own_lines) {
  const auto all = mqtth::process::find_sanitizer_reports(
      "src/a.c:1:2: runtime error: null pointer passed as argument 2\n"
      "log line\n"
      "src/a.c:1:2: runtime error: null pointer passed as argument 2\n"
      "    #0 0x1 in parse src/a.c:1\n"
      "    #1 0x2 in main src/m.c:5\n"
      "==3==ERROR: AddressSanitizer: SEGV on unknown address 0x000000000000 (pc 0x1 bp 0x2 sp 0x3 T0)\n"
      "    #0 0x3 in route src/r.c:9\n");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].excerpt, "src/a.c:1:2: runtime error: null pointer passed as argument 2\n");
  EXPECT_EQ(all[1].frames, (std::vector<std::string>{"parse", "main"}));
  EXPECT_EQ(all[2].signature, "AddressSanitizer|SEGV|route");
  EXPECT_TRUE(mqtth::process::find_sanitizer_reports("nothing here\n").empty());
}
