// libmqttcodec: bytes <-> MQTT control packets (3.1, 3.1.1, 5.0).
//
// The one public header of the codec. Pure C++20: no Qt, no I/O, no exceptions on the
// wire path. Decoding produces *views* (std::string_view into the caller's buffer, no
// copy of topics, payloads or properties); building produces *owning* packets. Both are
// the same templates instantiated over a storage policy, so every field has one name.
//
// Errors: every failing call returns an Error carrying an Errc (whose value is the MQTT 5
// reason code the receiver must answer with, where one exists), the byte offset from the
// first byte of the packet, and the normative statement id the input breaks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mqtt {

using Bytes = std::span<const std::uint8_t>;
using MutableBytes = std::span<std::uint8_t>;

// Protocol level byte of CONNECT. 3.1 is only ever seen in CONNECT (name "MQIsdp").
enum class Version : std::uint8_t { v3_1 = 3, v3_1_1 = 4, v5 = 5 };
std::string_view to_string(Version);                      // "3.1", "3.1.1", "5"
std::optional<Version> parse_version(std::string_view);  // accepts "3.1", "3.1.1", "5", "5.0"

enum class PacketType : std::uint8_t {
  connect = 1, connack, publish, puback, pubrec, pubrel, pubcomp,
  subscribe, suback, unsubscribe, unsuback, pingreq, pingresp, disconnect, auth
};
std::string_view to_string(PacketType);                      // "CONNECT" ... "AUTH"
std::optional<PacketType> parse_packet_type(std::string_view);  // "CONNECT" ... "AUTH"

// MQTT 5 reason codes (2.4). Several names share a value, as in the spec.
namespace reason {
inline constexpr std::uint8_t success = 0x00, normal_disconnection = 0x00, granted_qos0 = 0x00,
    granted_qos1 = 0x01, granted_qos2 = 0x02, disconnect_with_will_message = 0x04,
    no_matching_subscribers = 0x10, no_subscription_existed = 0x11,
    continue_authentication = 0x18, re_authenticate = 0x19, unspecified_error = 0x80,
    malformed_packet = 0x81, protocol_error = 0x82, implementation_specific_error = 0x83,
    unsupported_protocol_version = 0x84, client_identifier_not_valid = 0x85,
    bad_user_name_or_password = 0x86, not_authorized = 0x87, server_unavailable = 0x88,
    server_busy = 0x89, banned = 0x8A, server_shutting_down = 0x8B,
    bad_authentication_method = 0x8C, keep_alive_timeout = 0x8D, session_taken_over = 0x8E,
    topic_filter_invalid = 0x8F, topic_name_invalid = 0x90, packet_identifier_in_use = 0x91,
    packet_identifier_not_found = 0x92, receive_maximum_exceeded = 0x93,
    topic_alias_invalid = 0x94, packet_too_large = 0x95, message_rate_too_high = 0x96,
    quota_exceeded = 0x97, administrative_action = 0x98, payload_format_invalid = 0x99,
    retain_not_supported = 0x9A, qos_not_supported = 0x9B, use_another_server = 0x9C,
    server_moved = 0x9D, shared_subscriptions_not_supported = 0x9E,
    connection_rate_exceeded = 0x9F, maximum_connect_time = 0xA0,
    subscription_identifiers_not_supported = 0xA1, wildcard_subscriptions_not_supported = 0xA2;
}  // namespace reason
// snake_case name of a reason code as used in `type` packets (e.g. 0x00 in SUBACK is
// "granted_qos0", in DISCONNECT "normal_disconnection"); empty if the code is not
// allowed in that packet type. For 3.1.1 CONNACK return codes pass Version::v3_1_1.
std::string_view reason_code_name(std::uint8_t code, PacketType type, Version version = Version::v5);
// Whether `code` is a reason code the spec allows in `type` (MQTT 5 only).
bool reason_code_allowed(std::uint8_t code, PacketType type);

// ---------------------------------------------------------------------------------------
// Errors
enum class Errc : std::uint8_t {
  ok = 0x00,
  // Values from here on equal the MQTT 5 reason code a receiver answers with.
  malformed_packet = 0x81,
  protocol_error = 0x82,
  unsupported_protocol_version = 0x84,
  client_identifier_not_valid = 0x85,
  topic_filter_invalid = 0x8F,
  topic_name_invalid = 0x90,
  packet_too_large = 0x95,
  payload_format_invalid = 0x99,
  // Never on the wire: problems of the caller, not of the peer.
  buffer_too_small = 0x01,    // encode: the output span is smaller than encoded_size()
  value_too_large = 0x02,     // encode: a string > 65535 bytes, a packet > 268435455 ...
};
std::string_view to_string(Errc);  // "malformed_packet", ...

struct Error {
  Errc code = Errc::ok;
  std::uint32_t offset = 0;  // from the first byte of the packet (fixed header byte 1)
  std::string_view spec;     // "MQTT-3.3.1-4", or empty where the spec has no id; static storage
  std::string_view message;  // human readable, static storage

  bool ok() const { return code == Errc::ok; }
  explicit operator bool() const { return code != Errc::ok; }  // true when this IS an error
};

template <class T>
struct Result {
  T value{};
  Error error{};
  bool ok() const { return error.code == Errc::ok; }
};

// ---------------------------------------------------------------------------------------
// MQTT 5 properties (2.2.2.2)
enum class PropertyId : std::uint8_t {
  payload_format_indicator = 0x01, message_expiry_interval = 0x02, content_type = 0x03,
  response_topic = 0x08, correlation_data = 0x09, subscription_identifier = 0x0B,
  session_expiry_interval = 0x11, assigned_client_identifier = 0x12,
  server_keep_alive = 0x13, authentication_method = 0x15, authentication_data = 0x16,
  request_problem_information = 0x17, will_delay_interval = 0x18,
  request_response_information = 0x19, response_information = 0x1A, server_reference = 0x1C,
  reason_string = 0x1F, receive_maximum = 0x21, topic_alias_maximum = 0x22, topic_alias = 0x23,
  maximum_qos = 0x24, retain_available = 0x25, user_property = 0x26,
  maximum_packet_size = 0x27, wildcard_subscription_available = 0x28,
  subscription_identifier_available = 0x29, shared_subscription_available = 0x2A
};
enum class PropertyType : std::uint8_t { byte, two_byte, four_byte, varint, utf8, binary, utf8_pair };
// Where a property may appear: a packet type, or the will properties of CONNECT.
enum class PropertyContext : std::uint8_t { packet, will };

std::optional<PropertyType> property_type(std::uint8_t id);  // nullopt: unknown id
std::string_view property_name(PropertyId);                  // "message_expiry_interval", ...
std::optional<PropertyId> parse_property_name(std::string_view);
bool property_allowed(PropertyId, PacketType, PropertyContext = PropertyContext::packet);

// One property. Integer kinds use `number`; utf8/binary use `value`; utf8_pair uses
// `key` (name) and `value`.
template <class S>
struct BasicProperty {
  PropertyId id{};
  std::uint32_t number = 0;
  S key{};
  S value{};
  bool operator==(const BasicProperty&) const = default;
};
using PropertyView = BasicProperty<std::string_view>;
using Property = BasicProperty<std::string>;

// Decoded property block: already validated, kept as the raw bytes (no allocation) and
// iterated in wire order.
class PropertiesView {
 public:
  PropertiesView() = default;
  explicit PropertiesView(std::string_view raw) : raw_(raw) {}  // raw: validated block, no length prefix

  class iterator {
   public:
    using value_type = PropertyView;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(std::string_view rest) : rest_(rest) { load(); }
    const PropertyView& operator*() const { return current_; }
    const PropertyView* operator->() const { return &current_; }
    iterator& operator++() { rest_.remove_prefix(size_); load(); return *this; }
    iterator operator++(int) { auto copy = *this; ++*this; return copy; }
    bool operator==(const iterator& other) const { return rest_.data() == other.rest_.data() && rest_.size() == other.rest_.size(); }
   private:
    void load();
    std::string_view rest_;
    std::size_t size_ = 0;
    PropertyView current_{};
  };
  iterator begin() const { return iterator(raw_); }
  iterator end() const { return iterator(raw_.substr(raw_.size())); }
  bool empty() const { return raw_.empty(); }
  std::string_view raw() const { return raw_; }
  // The first property with this id, if any.
  std::optional<PropertyView> find(PropertyId) const;
  bool operator==(const PropertiesView& other) const { return raw_ == other.raw_; }

 private:
  std::string_view raw_;
};

// Owning property list, in the order it will be encoded.
class Properties {
 public:
  Properties() = default;
  Properties(std::initializer_list<Property> list) : list_(list) {}
  Properties& add_number(PropertyId id, std::uint32_t value);
  Properties& add_string(PropertyId id, std::string value);  // utf8 or binary
  Properties& add_user(std::string key, std::string value);
  void push_back(Property p) { list_.push_back(std::move(p)); }
  auto begin() const { return list_.begin(); }
  auto end() const { return list_.end(); }
  bool empty() const { return list_.empty(); }
  std::size_t size() const { return list_.size(); }
  std::optional<Property> find(PropertyId) const;
  void erase(PropertyId id);  // removes every property with this id
  bool operator==(const Properties& other) const { return list_ == other.list_; }

  // The encoded property block (no length prefix), cached here so that to_view() can hand
  // out a PropertiesView that points into this object. Not thread-safe on one object.
  std::string_view encoded() const;

 private:
  std::vector<Property> list_;
  mutable std::string encoded_cache_;
};

// Appends one property's wire form (2.2.2.2: its identifier, then its value as the
// property's type wants it) to a raw property block, byte for byte what
// Properties::encoded() writes for it: for code that builds the bytes of a PropertiesView
// without an owned Properties (the broker's CONNACK, DISCONNECT and forwarded PUBLISH
// properties). Integer kinds take `number` (a byte or two-byte property its low bits),
// utf8/binary `value`, utf8_pair `key` and `value`. Returns false and appends nothing when
// the property cannot be encoded: an unknown identifier, a Variable Byte Integer above
// 268,435,455 (1.5.5), a string or binary value above 65,535 bytes (1.5.4, 1.5.6).
bool append_property(std::string& raw, const PropertyView& property);

// ---------------------------------------------------------------------------------------
// Packets. Templated over a storage policy: View (decode output, points into the input)
// and Owned (for building). `version` fields record how the packet was or will be encoded.
struct ViewStorage {
  using String = std::string_view;
  using PropertyList = PropertiesView;
};
struct OwnedStorage {
  using String = std::string;
  using PropertyList = Properties;
};

template <class St>
struct BasicWill {
  bool operator==(const BasicWill&) const = default;
  typename St::String topic{};
  typename St::String payload{};
  std::uint8_t qos = 0;
  bool retain = false;
  typename St::PropertyList properties{};
};

template <class St>
struct BasicConnect {
  bool operator==(const BasicConnect&) const = default;
  static constexpr PacketType type = PacketType::connect;
  typename St::String protocol_name{};  // "MQTT", or "MQIsdp" for 3.1
  Version protocol_version = Version::v3_1_1;
  bool clean_start = true;                // "clean session" in 3.1/3.1.1
  std::uint16_t keep_alive = 0;
  typename St::PropertyList properties{};
  typename St::String client_id{};
  std::optional<BasicWill<St>> will;
  std::optional<typename St::String> username;
  std::optional<typename St::String> password;
};

template <class St>
struct BasicConnack {
  bool operator==(const BasicConnack&) const = default;
  static constexpr PacketType type = PacketType::connack;
  bool session_present = false;
  std::uint8_t reason_code = 0;  // 3.1.1: the return code
  typename St::PropertyList properties{};
};

template <class St>
struct BasicPublish {
  bool operator==(const BasicPublish&) const = default;
  static constexpr PacketType type = PacketType::publish;
  bool dup = false;
  std::uint8_t qos = 0;
  bool retain = false;
  typename St::String topic{};
  std::uint16_t packet_id = 0;  // 0 when qos == 0
  typename St::PropertyList properties{};
  typename St::String payload{};
};

// PUBACK, PUBREC, PUBREL, PUBCOMP: same shape. In 5.0 the reason code and properties are
// omitted on the wire when they are 0x00 / empty (3.4.2.1).
template <class St, PacketType T>
struct BasicAck {
  bool operator==(const BasicAck&) const = default;
  static constexpr PacketType type = T;
  std::uint16_t packet_id = 0;
  std::uint8_t reason_code = 0;
  typename St::PropertyList properties{};
};

struct SubscriptionOptions {
  std::uint8_t qos = 0;
  bool no_local = false;             // 5.0 only
  bool retain_as_published = false;  // 5.0 only
  std::uint8_t retain_handling = 0;  // 5.0 only
  bool operator==(const SubscriptionOptions&) const = default;
};
template <class St>
struct BasicSubscription {
  bool operator==(const BasicSubscription&) const = default;
  typename St::String filter{};
  SubscriptionOptions options{};
};

template <class St>
struct BasicSubscribe {
  bool operator==(const BasicSubscribe&) const = default;
  static constexpr PacketType type = PacketType::subscribe;
  std::uint16_t packet_id = 0;
  typename St::PropertyList properties{};
  std::vector<BasicSubscription<St>> subscriptions;
};

template <class St, PacketType T>
struct BasicSubackLike {  // SUBACK and UNSUBACK (UNSUBACK has no reason codes in 3.1.1)
  bool operator==(const BasicSubackLike&) const = default;
  static constexpr PacketType type = T;
  std::uint16_t packet_id = 0;
  typename St::PropertyList properties{};
  std::vector<std::uint8_t> reason_codes;
};

template <class St>
struct BasicUnsubscribe {
  bool operator==(const BasicUnsubscribe&) const = default;
  static constexpr PacketType type = PacketType::unsubscribe;
  std::uint16_t packet_id = 0;
  typename St::PropertyList properties{};
  std::vector<typename St::String> filters;
};

template <class St, PacketType T>
struct BasicEmpty {  // PINGREQ, PINGRESP
  bool operator==(const BasicEmpty&) const = default;
  static constexpr PacketType type = T;
};

template <class St, PacketType T>
struct BasicReasonOnly {  // DISCONNECT, AUTH (5.0: optional reason code + properties)
  bool operator==(const BasicReasonOnly&) const = default;
  static constexpr PacketType type = T;
  std::uint8_t reason_code = 0;
  typename St::PropertyList properties{};
};

template <class St>
using BasicPacket = std::variant<
    BasicConnect<St>, BasicConnack<St>, BasicPublish<St>,
    BasicAck<St, PacketType::puback>, BasicAck<St, PacketType::pubrec>,
    BasicAck<St, PacketType::pubrel>, BasicAck<St, PacketType::pubcomp>,
    BasicSubscribe<St>, BasicSubackLike<St, PacketType::suback>, BasicUnsubscribe<St>,
    BasicSubackLike<St, PacketType::unsuback>, BasicEmpty<St, PacketType::pingreq>,
    BasicEmpty<St, PacketType::pingresp>, BasicReasonOnly<St, PacketType::disconnect>,
    BasicReasonOnly<St, PacketType::auth>>;

// Decode output: views into the decoded buffer, valid while that buffer lives.
using ConnectView = BasicConnect<ViewStorage>;
using ConnackView = BasicConnack<ViewStorage>;
using PublishView = BasicPublish<ViewStorage>;
using PubackView = BasicAck<ViewStorage, PacketType::puback>;
using PubrecView = BasicAck<ViewStorage, PacketType::pubrec>;
using PubrelView = BasicAck<ViewStorage, PacketType::pubrel>;
using PubcompView = BasicAck<ViewStorage, PacketType::pubcomp>;
using SubscribeView = BasicSubscribe<ViewStorage>;
using SubackView = BasicSubackLike<ViewStorage, PacketType::suback>;
using UnsubscribeView = BasicUnsubscribe<ViewStorage>;
using UnsubackView = BasicSubackLike<ViewStorage, PacketType::unsuback>;
using PingreqView = BasicEmpty<ViewStorage, PacketType::pingreq>;
using PingrespView = BasicEmpty<ViewStorage, PacketType::pingresp>;
using DisconnectView = BasicReasonOnly<ViewStorage, PacketType::disconnect>;
using AuthView = BasicReasonOnly<ViewStorage, PacketType::auth>;
using PacketView = BasicPacket<ViewStorage>;

// Owning packets, for building what to send.
using Will = BasicWill<OwnedStorage>;
using Connect = BasicConnect<OwnedStorage>;
using Connack = BasicConnack<OwnedStorage>;
using Publish = BasicPublish<OwnedStorage>;
using Puback = BasicAck<OwnedStorage, PacketType::puback>;
using Pubrec = BasicAck<OwnedStorage, PacketType::pubrec>;
using Pubrel = BasicAck<OwnedStorage, PacketType::pubrel>;
using Pubcomp = BasicAck<OwnedStorage, PacketType::pubcomp>;
using Subscription = BasicSubscription<OwnedStorage>;
using Subscribe = BasicSubscribe<OwnedStorage>;
using Suback = BasicSubackLike<OwnedStorage, PacketType::suback>;
using Unsubscribe = BasicUnsubscribe<OwnedStorage>;
using Unsuback = BasicSubackLike<OwnedStorage, PacketType::unsuback>;
using Pingreq = BasicEmpty<OwnedStorage, PacketType::pingreq>;
using Pingresp = BasicEmpty<OwnedStorage, PacketType::pingresp>;
using Disconnect = BasicReasonOnly<OwnedStorage, PacketType::disconnect>;
using Auth = BasicReasonOnly<OwnedStorage, PacketType::auth>;
using Packet = BasicPacket<OwnedStorage>;

PacketType packet_type(const PacketView&);
PacketType packet_type(const Packet&);

// Deep copy of a decoded packet.
Packet to_owned(const PacketView&);
// View of an owned packet (points into `packet`, which must outlive the view).
PacketView to_view(const Packet&);


// ---------------------------------------------------------------------------------------
// Limits
inline constexpr std::uint32_t kMaxRemainingLength = 268'435'455;        // 2.2.3
inline constexpr std::uint32_t kMaxPacketSize = kMaxRemainingLength + 5;  // fixed header + body

// Variable Byte Integer (1.5.5 / 2.2.3). Decoding rejects a 5th byte [MQTT-1.5.5-1 in 5.0,
// 2.2.3 in 3.1.1] and non-minimal encodings; `consumed` is set on success.
struct VarintResult {
  std::uint32_t value = 0;
  std::uint8_t consumed = 0;  // 0: need more bytes
  Error error{};
};
VarintResult decode_varint(Bytes in);
std::size_t varint_size(std::uint32_t value);               // 1..4
std::size_t encode_varint(std::uint32_t value, std::uint8_t* out);  // writes varint_size(value) bytes

// ---------------------------------------------------------------------------------------
// Decoding.
struct DecodeOptions {
  Version version = Version::v5;                     // ignored for CONNECT (it carries its own)
  std::uint32_t maximum_packet_size = kMaxPacketSize;  // checked from the fixed header
};

// Decodes exactly one packet that fills `packet` (fixed header included). Trailing bytes
// after the remaining length, or fewer bytes than it announces, are malformed. Validates in
// two passes: syntax (Errc::malformed_packet ...) then meaning (Errc::protocol_error ...).
// Errors: malformed_packet, protocol_error, packet_too_large, unsupported_protocol_version,
// client_identifier_not_valid, topic_name_invalid, topic_filter_invalid, payload_format_invalid.
Result<PacketView> decode(Bytes packet, const DecodeOptions& options);
inline Result<PacketView> decode(std::string_view packet, const DecodeOptions& options) {
  return decode(Bytes(reinterpret_cast<const std::uint8_t*>(packet.data()), packet.size()), options);
}
// After decode(): whether its `value` holds the whole packet. True when it decoded, and
// after a meaning error (pass 2: protocol_error, topic_name_invalid, ...), which leaves a
// complete packet that a receiver must still refuse (for tools that work on such packets,
// like the live fuzzer's minimiser); false after malformed_packet, packet_too_large or
// unsupported_protocol_version, where parsing stopped.
constexpr bool parsed_completely(const Error& error) {
  return error.code != Errc::malformed_packet && error.code != Errc::packet_too_large &&
         error.code != Errc::unsupported_protocol_version;
}

// How long is the packet at the start of `in`? Looks only at the fixed header.
struct FrameInfo {
  enum class Status : std::uint8_t { complete, need_more, error } status = Status::need_more;
  std::uint32_t size = 0;  // whole packet (fixed header + remaining length) when known
  Error error{};
};
// Errors: malformed_packet (bad varint, packet type 0), packet_too_large (announced size
// above the limit: reported before any body byte is needed).
FrameInfo peek_frame(Bytes in, std::uint32_t maximum_packet_size = kMaxPacketSize);

// Incremental framer: feed bytes in any chunking, take whole packets out. A packet larger
// than the limit is rejected from its fixed header, before its body is buffered. Errors
// are sticky: after one, next() keeps returning it.
class Framer {
 public:
  explicit Framer(std::uint32_t maximum_packet_size = kMaxPacketSize) : max_(maximum_packet_size) {}
  void feed(Bytes chunk);
  void feed(std::string_view chunk) {
    feed(Bytes(reinterpret_cast<const std::uint8_t*>(chunk.data()), chunk.size()));
  }
  // The next whole packet, valid until the next feed()/next() call. status need_more: wait
  // for more bytes. Errors carry the offset within the stream fed so far.
  struct Frame {
    FrameInfo::Status status = FrameInfo::Status::need_more;
    Bytes packet{};
    Error error{};
  };
  Frame next();
  std::size_t buffered() const { return buffer_.size() - start_; }
  std::uint64_t stream_offset() const { return consumed_; }  // bytes handed out so far
  void set_maximum_packet_size(std::uint32_t max) { max_ = max; }

 private:
  std::vector<std::uint8_t> buffer_;
  std::size_t start_ = 0;
  std::uint64_t consumed_ = 0;
  std::uint32_t max_;
  Error sticky_{};
};

// ---------------------------------------------------------------------------------------
// Encoding: two steps, size then bytes, so callers can encode straight into their buffer.
// Encoding checks only what makes bytes impossible (lengths), not protocol meaning: the
// harness must be able to send packets a broker ought to reject.
// Errors: value_too_large (string/binary > 65535, remaining length > 268435455).
Result<std::size_t> encoded_size(const Packet&, Version);
Result<std::size_t> encoded_size(const PacketView&, Version);
// Errors: as encoded_size, plus buffer_too_small.
Result<std::size_t> encode(const Packet&, Version, MutableBytes out);
Result<std::size_t> encode(const PacketView&, Version, MutableBytes out);
// Convenience: a fresh string of exactly the encoded bytes ("" and error on failure).
Result<std::string> encode_to_string(const Packet&, Version);
Result<std::string> encode_to_string(const PacketView&, Version);

// ---------------------------------------------------------------------------------------
// Text rules shared by codec, broker and harness.

// UTF-8 Encoded String rules (1.5.3 / 1.5.4): well formed, no U+0000, no surrogates.
// Nothing more is forbidden at MUST level: control characters and non-characters are
// accepted (SHOULD NOT in the spec; there is no warning channel). The error offset is the
// first offending byte within the string.
// Errors: malformed_packet with spec "MQTT-1.5.3-1" (ill-formed/surrogates) or
// "MQTT-1.5.3-2" (U+0000) (5.0 ids: MQTT-1.5.4-1, MQTT-1.5.4-2).
Error validate_utf8(std::string_view, Version);

// Topic Name (4.7): non-empty, no '+' or '#'. Errors: topic_name_invalid.
Error validate_topic_name(std::string_view, Version);
// Topic Filter (4.7.1): non-empty, '#' last and alone in its level, '+' alone in its level;
// `$share/{group}/{filter}` checked as a shared subscription in 5.0 (4.8.2).
// Errors: topic_filter_invalid.
Error validate_topic_filter(std::string_view, Version);
// Does `filter` match `topic`? '$'-topics are not matched by a leading wildcard (4.7.2).
bool topic_matches(std::string_view filter, std::string_view topic);
// "$share/group/filter" -> {group, filter}; nullopt when not a shared subscription.
struct SharedFilter { std::string_view group; std::string_view filter; };
std::optional<SharedFilter> parse_shared_filter(std::string_view);

}  // namespace mqtt
