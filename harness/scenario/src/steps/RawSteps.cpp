// Raw steps: bytes written as they are, past the client session.
#include "steps/StepFamilies.hpp"

namespace mqtth::scenario::steps {

namespace {

// ---- send_raw ----------------------------------------------------------------------------

constexpr KeySpec kSendRawKeys[] = {
    kClientKey,
    {"hex", ValueType::hex, true, {}, "the bytes to send, as hex"},
};

std::optional<StepAction> parse_send_raw(StepInput& in) {
  Parser& p = in.p;
  SendRawStep r;
  auto c = in.client();
  if (auto x = in.get("hex")) {
    if (auto b = p.hex(x, "hex")) {
      r.bytes.assign(b->begin(), b->end());
      if (b->empty()) p.error(x, "send_raw: hex must contain at least one byte");
    }
  }
  if (!c) return std::nullopt;
  r.client = *c;
  p.mark_opened(r.client);
  return r;
}

constexpr StepDescriptor kSendRaw{
    "send_raw", StepKind::send_raw,
    "Writes bytes as they are; without a connection it first opens TCP without sending CONNECT",
    {"step_send_raw", "", kSendRawKeys}, StepShorthand::none, false,
    "{client: raw, hex: \"10 0e 00 04 4d 51 54 54 04 02 00 00 00 02 72 31\"}", parse_send_raw};
}  // namespace

const StepDescriptor& send_raw_step() { return kSendRaw; }

}  // namespace mqtth::scenario::steps
