// Views <-> owning packets, and packet_type().
#include "internal.hpp"

namespace mqtt {
namespace {

template <class A, class B> void cv(const BasicWill<A>& in, BasicWill<B>& out);
template <class A, class B> void cv(const BasicSubscription<A>& in, BasicSubscription<B>& out);

void cv(std::string_view in, std::string& out) { out.assign(in.data(), in.size()); }
void cv(const std::string& in, std::string_view& out) { out = in; }
void cv(const PropertiesView& in, Properties& out) {
  for (const auto& p : in) {
    Property q;
    q.id = p.id;
    q.number = p.number;
    q.key.assign(p.key.data(), p.key.size());
    q.value.assign(p.value.data(), p.value.size());
    out.push_back(std::move(q));
  }
}
void cv(const Properties& in, PropertiesView& out) { out = PropertiesView(in.encoded()); }
template <class A, class B>
void cv(const std::optional<A>& in, std::optional<B>& out) {
  if (in) cv(*in, out.emplace()); else out.reset();
}
template <class A, class B>
void cv(const std::vector<A>& in, std::vector<B>& out) {
  out.resize(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) cv(in[i], out[i]);
}

template <class A, class B>
void cv(const BasicWill<A>& in, BasicWill<B>& out) {
  cv(in.topic, out.topic);
  cv(in.payload, out.payload);
  out.qos = in.qos;
  out.retain = in.retain;
  cv(in.properties, out.properties);
}
template <class A, class B>
void cv(const BasicConnect<A>& in, BasicConnect<B>& out) {
  cv(in.protocol_name, out.protocol_name);
  out.protocol_version = in.protocol_version;
  out.clean_start = in.clean_start;
  out.keep_alive = in.keep_alive;
  cv(in.properties, out.properties);
  cv(in.client_id, out.client_id);
  cv(in.will, out.will);
  cv(in.username, out.username);
  cv(in.password, out.password);
}
template <class A, class B>
void cv(const BasicConnack<A>& in, BasicConnack<B>& out) {
  out.session_present = in.session_present;
  out.reason_code = in.reason_code;
  cv(in.properties, out.properties);
}
template <class A, class B>
void cv(const BasicPublish<A>& in, BasicPublish<B>& out) {
  out.dup = in.dup;
  out.qos = in.qos;
  out.retain = in.retain;
  cv(in.topic, out.topic);
  out.packet_id = in.packet_id;
  cv(in.properties, out.properties);
  cv(in.payload, out.payload);
}
template <class A, class B, PacketType T>
void cv(const BasicAck<A, T>& in, BasicAck<B, T>& out) {
  out.packet_id = in.packet_id;
  out.reason_code = in.reason_code;
  cv(in.properties, out.properties);
}
template <class A, class B>
void cv(const BasicSubscription<A>& in, BasicSubscription<B>& out) {
  cv(in.filter, out.filter);
  out.options = in.options;
}
template <class A, class B>
void cv(const BasicSubscribe<A>& in, BasicSubscribe<B>& out) {
  out.packet_id = in.packet_id;
  cv(in.properties, out.properties);
  cv(in.subscriptions, out.subscriptions);
}
template <class A, class B, PacketType T>
void cv(const BasicSubackLike<A, T>& in, BasicSubackLike<B, T>& out) {
  out.packet_id = in.packet_id;
  cv(in.properties, out.properties);
  out.reason_codes = in.reason_codes;
}
template <class A, class B>
void cv(const BasicUnsubscribe<A>& in, BasicUnsubscribe<B>& out) {
  out.packet_id = in.packet_id;
  cv(in.properties, out.properties);
  cv(in.filters, out.filters);
}
template <class A, class B, PacketType T>
void cv(const BasicEmpty<A, T>&, BasicEmpty<B, T>&) {}
template <class A, class B, PacketType T>
void cv(const BasicReasonOnly<A, T>& in, BasicReasonOnly<B, T>& out) {
  out.reason_code = in.reason_code;
  cv(in.properties, out.properties);
}

template <class T, class V>
struct index_of;
template <class T, class... Ts>
struct index_of<T, std::variant<Ts...>> {
  static constexpr std::size_t value = [] {
    constexpr bool match[] = {std::is_same_v<T, Ts>...};
    for (std::size_t i = 0; i < sizeof...(Ts); ++i)
      if (match[i]) return i;
    return sizeof...(Ts);
  }();
};

template <class To, class From>
To convert(const From& in) {
  To out;
  std::visit(
      [&](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        constexpr std::size_t index = index_of<P, From>::value;
        cv(p, out.template emplace<index>());
      },
      in);
  return out;
}
}  // namespace

Packet to_owned(const PacketView& p) { return convert<Packet>(p); }
PacketView to_view(const Packet& p) { return convert<PacketView>(p); }

PacketType packet_type(const PacketView& p) {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::type; }, p);
}
PacketType packet_type(const Packet& p) {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::type; }, p);
}

}  // namespace mqtt
