#include "mqtth/fault/FaultProxy.hpp"

#include "mqtth/pcap/PcapWriter.hpp"

#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include <algorithm>
#include <deque>
#include <limits>
#include <random>

#include <sys/socket.h>

Q_LOGGING_CATEGORY(lcProxy, "mqtth.proxy")

namespace mqtth::fault {

namespace {
constexpr int kUp = 0;    // to_broker: client socket -> broker socket
constexpr int kDown = 1;  // to_client: broker socket -> client socket
Direction dir_of(int i) { return i == kUp ? Direction::to_broker : Direction::to_client; }
constexpr qint64 kForever = std::numeric_limits<qint64>::max();
}  // namespace

// One proxied client: the accepted socket, its upstream socket, and a pump per direction.
class ProxyConnection : public QObject {
 public:
  ProxyConnection(FaultProxy* proxy, int id, QTcpSocket* client);
  ~ProxyConnection() override {
    if (pcap_) pcap_->close(pcap::PcapWriter::Clock::now());
  }
  void install(int rule_id, const FaultRule& rule);
  void uninstall(int rule_id);
  void abortAll();

 private:
  struct Item {
    std::vector<std::uint8_t> bytes;
    qint64 release = 0;
    std::uint64_t seq = 0;
    int cut_rule = 0;  // non-zero: cut the connection once these bytes are written
  };
  struct Pump {
    mqtt::Framer framer;
    std::vector<std::uint8_t> unframed;  // bytes fed to the framer, not yet a whole packet
    bool raw = false;                    // framing failed: forward bytes as they come
    std::vector<Item> queue;             // waiting for their release time
    qint64 last_delayed_release = 0;
    std::deque<std::uint8_t> wire;       // released, not yet written
    std::uint64_t wire_enqueued = 0, wire_written = 0;
    std::uint64_t cut_at = 0;            // wire position of a pending cut (0: none)
    int cut_rule = 0;
    std::vector<Item> held;              // reorder window
    int held_rule = 0;
    std::uint32_t held_window = 0;
    quint64 held_generation = 0;
    bool source_closed = false;
    bool close_delay_started = false, close_delay_over = false;  // rewrite op=delay_close
    QTimer* timer = nullptr;
  };
  struct Active {
    FaultRule rule;
    RuleMatcher matcher[2];
    qint64 until = kForever;       // inactive after this (monotonic ms)
    bool blackhole[2] = {false, false};
    std::optional<TokenBucket> bucket[2];
    std::minstd_rand random;
  };

  QTcpSocket* socket(int i) const { return i == kUp ? broker_ : client_; }   // destination of pump i
  QTcpSocket* source(int i) const { return i == kUp ? client_ : broker_; }
  qint64 now() const { return clock_.elapsed(); }
  void onReadable(int i);
  void onPacket(int i, std::vector<std::uint8_t> packet);
  void enqueue(int i, Item item);
  void releaseHeld(int i);
  void pump(int i);
  void schedule(int i, qint64 ms);
  void cut(int rule_id, const FaultRule& rule);
  void startBlackhole(int rule_id, Active& a, qint64 t);
  void onSourceClosed(int i);
  // A rewrite rule's close op holds back passing on the close of pump i's source.
  bool closeHeldBack(int i);
  void checkFinished();
  void fired(int rule_id, const QString& what) {
    qCDebug(lcProxy) << "connection" << id_ << "fault" << rule_id << what;
    emit proxy_->faultFired(id_, rule_id, what);
  }

  FaultProxy* proxy_;
  int id_;
  QTcpSocket* client_;
  QTcpSocket* broker_;
  QElapsedTimer clock_;
  Pump pumps_[2];
  std::map<int, Active> rules_;
  std::uint64_t next_seq_ = 0;
  bool cut_ = false;
  bool finished_ = false;
  // The connection's protocol version, from its CONNECT: rewrite rules decode under it.
  mqtt::Version version_ = mqtt::Version::v3_1_1;
  bool kept_open_ = false;
  std::unique_ptr<pcap::PcapWriter> pcap_;
};

ProxyConnection::ProxyConnection(FaultProxy* proxy, int id, QTcpSocket* client)
    : QObject(proxy), proxy_(proxy), id_(id), client_(client), broker_(new QTcpSocket(this)) {
  clock_.start();
  client_->setParent(this);
  client_->setSocketOption(QAbstractSocket::LowDelayOption, 1);
  for (int i = 0; i < 2; ++i) {
    pumps_[i].timer = new QTimer(this);
    pumps_[i].timer->setSingleShot(true);
    // A coarse timer may fire up to 5 % early; a pump woken early only re-arms itself.
    pumps_[i].timer->setTimerType(Qt::PreciseTimer);
    connect(pumps_[i].timer, &QTimer::timeout, this, [this, i] { pump(i); });
  }
  if (!proxy_->pcap_dir_.isEmpty()) {
    QDir().mkpath(proxy_->pcap_dir_);
    pcap::Endpoints ends;
    ends.client_port = client_->peerPort() ? client_->peerPort() : quint16(49152 + id % 16000);
    std::string error;
    const auto path = QDir(proxy_->pcap_dir_).filePath(QStringLiteral("conn-%1.pcap").arg(id)).toStdString();
    pcap_ = pcap::PcapWriter::open(path, ends, pcap::PcapWriter::Clock::now(), &error);
    if (!pcap_) qCWarning(lcProxy) << "pcap:" << QString::fromStdString(error);
  }
  connect(client_, &QTcpSocket::readyRead, this, [this] { onReadable(kUp); });
  connect(broker_, &QTcpSocket::readyRead, this, [this] { onReadable(kDown); });
  connect(client_, &QTcpSocket::disconnected, this, [this] { onSourceClosed(kUp); });
  connect(broker_, &QTcpSocket::disconnected, this, [this] { onSourceClosed(kDown); });
  connect(broker_, &QTcpSocket::connected, this, [this] {
    broker_->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    pump(kUp);
  });
  connect(broker_, &QTcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError e) {
    if (e == QAbstractSocket::RemoteHostClosedError) return;
    qCDebug(lcProxy) << "connection" << id_ << "upstream error" << broker_->errorString();
    if (broker_->state() != QAbstractSocket::ConnectedState) {
      client_->abort();
      checkFinished();
    }
  });
  broker_->connectToHost(proxy_->upstream_host_, proxy_->upstream_port_);
}

void ProxyConnection::install(int rule_id, const FaultRule& rule) {
  Active a{rule, {RuleMatcher(rule), RuleMatcher(rule)}, kForever, {false, false}, {}, std::minstd_rand(std::uint32_t(rule_id))};
  const qint64 t = now();
  if (rule.duration && rule.kind != Kind::blackhole) a.until = t + rule.duration->count();
  if (rule.kind == Kind::throttle)
    for (int i = 0; i < 2; ++i) a.bucket[i].emplace(rule.bytes_per_second, t);
  auto& stored = rules_.insert_or_assign(rule_id, std::move(a)).first->second;
  const bool immediate = !rule.packet && !rule.at;  // no trigger: act from now
  if (rule.kind == Kind::cut || rule.kind == Kind::blackhole) {
    if (rule.at || immediate) {
      const qint64 delay = rule.at ? rule.at->count() : 0;
      QTimer::singleShot(delay, this, [this, rule_id] {
        auto it = rules_.find(rule_id);
        if (it == rules_.end() || cut_) return;
        if (it->second.rule.kind == Kind::cut) cut(rule_id, it->second.rule);
        else startBlackhole(rule_id, it->second, now());
      });
    }
  }
  Q_UNUSED(stored);
  if (rule.duration && rule.kind != Kind::blackhole) {
    // Let pumps notice the end of a throttle/delay window.
    QTimer::singleShot(rule.duration->count() + 1, this, [this] { pump(kUp); pump(kDown); });
  }
}

void ProxyConnection::uninstall(int rule_id) {
  rules_.erase(rule_id);
  for (int i = 0; i < 2; ++i) {
    if (pumps_[i].held_rule == rule_id) releaseHeld(i);
    pump(i);
  }
}

void ProxyConnection::startBlackhole(int rule_id, Active& a, qint64 t) {
  for (int i = 0; i < 2; ++i)
    if (covers(a.rule.direction, dir_of(i))) a.blackhole[i] = true;
  if (a.rule.duration) {
    a.until = t + a.rule.duration->count();
    QTimer::singleShot(a.rule.duration->count(), this, [this, rule_id] {
      auto it = rules_.find(rule_id);
      if (it == rules_.end()) return;
      it->second.blackhole[0] = it->second.blackhole[1] = false;
      fired(rule_id, QStringLiteral("blackhole ends"));
    });
  }
  fired(rule_id, QStringLiteral("blackhole starts"));
}

void ProxyConnection::onReadable(int i) {
  QTcpSocket* src = source(i);
  if (!src->isOpen()) return;  // aborted: nothing buffered (and read() would warn)
  const QByteArray data = src->readAll();
  if (data.isEmpty()) return;
  if (cut_) return;  // the link is dead: what still arrives is lost
  Pump& p = pumps_[i];
  if (p.raw) {
    enqueue(i, Item{std::vector<std::uint8_t>(data.begin(), data.end()), now(), 0, 0});
    pump(i);
    return;
  }
  p.unframed.insert(p.unframed.end(), data.begin(), data.end());
  p.framer.feed(std::string_view(data.constData(), std::size_t(data.size())));
  for (;;) {
    auto frame = p.framer.next();
    if (frame.status == mqtt::FrameInfo::Status::need_more) break;
    if (frame.status == mqtt::FrameInfo::Status::error) {
      // Not framable (a malformed fixed header sent on purpose): let the peer judge it.
      qCDebug(lcProxy) << "connection" << id_ << "unframable bytes" << direction_name(dir_of(i)).data() << "-> raw forwarding:"
                       << frame.error.message.data();
      p.raw = true;
      enqueue(i, Item{std::move(p.unframed), now(), 0, 0});
      p.unframed.clear();
      break;
    }
    std::vector<std::uint8_t> packet(frame.packet.begin(), frame.packet.end());
    p.unframed.erase(p.unframed.begin(), p.unframed.begin() + std::ptrdiff_t(packet.size()));
    onPacket(i, std::move(packet));
    if (cut_) return;
  }
  pump(i);
}

void ProxyConnection::onPacket(int i, std::vector<std::uint8_t> packet) {
  const Direction d = dir_of(i);
  const auto type = packet_type_of(packet).value_or(mqtt::PacketType::connect);
  PacketRecord r{id_, d, QDateTime::currentMSecsSinceEpoch() * 1000, type,
                 QByteArray(reinterpret_cast<const char*>(packet.data()), qsizetype(packet.size()))};
  proxy_->record(r);
  if (i == kUp && type == mqtt::PacketType::connect)
    if (const auto v = connect_version(packet)) version_ = *v;

  const qint64 t = now();
  qint64 release = t;
  bool delayed = false, drop = false, hold = false, rewritten_away = false;
  int copies = 1, cut_after = 0, blackhole_after = 0, hold_rule = 0;
  std::uint32_t hold_window = 0;
  const QString what = QString::fromLatin1(mqtt::to_string(type).data());
  for (auto& [rid, a] : rules_) {
    if (!covers(a.rule.direction, d)) continue;
    if (a.rule.kind == Kind::blackhole && a.blackhole[i]) {
      drop = true;
      continue;
    }
    if (t > a.until) continue;
    switch (a.rule.kind) {
      case Kind::blackhole:
        if (!a.rule.at && a.rule.packet && a.matcher[i].fires(type)) {
          if (a.rule.before) {
            startBlackhole(rid, a, t);
            drop = true;
          } else {
            blackhole_after = rid;
          }
        }
        break;
      case Kind::cut:
        if (!a.rule.at && a.rule.packet && a.matcher[i].fires(type)) {
          if (a.rule.before) {
            fired(rid, QStringLiteral("cut before %1 #%2").arg(what).arg(a.rule.nth));
            cut(rid, a.rule);
            return;
          }
          cut_after = rid;
        }
        break;
      case Kind::corrupt:
        if (a.matcher[i].fires(type) && corrupt_byte(packet, a.rule.offset, a.rule.xor_mask, a.rule.set))
          fired(rid, QStringLiteral("corrupt %1 byte %2").arg(what).arg(a.rule.offset));
        break;
      case Kind::duplicate:
        if (a.matcher[i].fires(type)) {
          ++copies;
          fired(rid, QStringLiteral("duplicate %1").arg(what));
        }
        break;
      case Kind::delay:
        if (a.matcher[i].fires(type)) {
          qint64 by = a.rule.by.count();
          if (a.rule.jitter.count() > 0)
            by += std::uniform_int_distribution<qint64>(0, a.rule.jitter.count())(a.random);
          // now() counts whole elapsed milliseconds, so the packet arrived up to 1 ms
          // after t: the extra millisecond keeps the hold at least `by`, as docs/faults.md says.
          release = std::max(release, t + by + 1);
          delayed = true;
        }
        break;
      case Kind::reorder:
        if (!hold && a.matcher[i].fires(type)) {
          hold = true;
          hold_rule = rid;
          hold_window = a.rule.window;
        }
        break;
      case Kind::rewrite:
        if (a.rule.op == RewriteOp::keep_open || a.rule.op == RewriteOp::delay_close) break;  // closeHeldBack()
        if (a.matcher[i].fires(type)) {
          if (a.rule.op == RewriteOp::drop) {
            rewritten_away = true;
            fired(rid, QStringLiteral("rewrite: drop %1").arg(what));
          } else if (rewrite_packet(packet, a.rule.op, a.rule.set, version_)) {
            fired(rid, QStringLiteral("rewrite %1: %2").arg(what, QString::fromLatin1(rewrite_op_name(a.rule.op).data())));
          }
        }
        break;
      case Kind::throttle:
      case Kind::segment:
        break;  // byte level, in pump()
    }
  }
  if (drop) {
    fired(0, QStringLiteral("blackholed %1").arg(what));
    return;
  }
  if (rewritten_away) return;
  Pump& p = pumps_[i];
  if (delayed) {
    // Delayed packets keep their order among themselves (TCP would).
    release = std::max(release, p.last_delayed_release);
    p.last_delayed_release = release;
  }
  for (int c = 0; c < copies; ++c) {
    Item item{packet, release, 0, c == copies - 1 ? cut_after : 0};
    if (!p.held.empty() || hold) {
      if (p.held.empty()) {
        p.held_rule = hold_rule;
        p.held_window = hold_window;
        const quint64 generation = ++p.held_generation;
        const auto it = rules_.find(hold_rule);
        const qint64 hold_ms = it != rules_.end() ? it->second.rule.hold.count() : 1000;
        QTimer::singleShot(hold_ms, this, [this, i, generation] {
          if (pumps_[i].held_generation == generation && !pumps_[i].held.empty()) releaseHeld(i);
        });
      }
      p.held.push_back(std::move(item));
      if (p.held.size() >= p.held_window) {
        fired(p.held_rule, QStringLiteral("reorder %1 packets").arg(p.held.size()));
        releaseHeld(i);
      }
    } else {
      enqueue(i, std::move(item));
    }
  }
  if (cut_after) fired(cut_after, QStringLiteral("cut after %1").arg(what));
  if (blackhole_after) {
    auto it = rules_.find(blackhole_after);
    if (it != rules_.end()) startBlackhole(blackhole_after, it->second, t);
  }
}

void ProxyConnection::releaseHeld(int i) {
  Pump& p = pumps_[i];
  std::vector<Item> held = std::move(p.held);
  p.held.clear();
  ++p.held_generation;
  for (auto it = held.rbegin(); it != held.rend(); ++it) {
    it->release = std::max(it->release, now());
    enqueue(i, std::move(*it));
  }
  pump(i);
}

void ProxyConnection::enqueue(int i, Item item) {
  item.seq = next_seq_++;
  pumps_[i].queue.push_back(std::move(item));
}

void ProxyConnection::schedule(int i, qint64 ms) {
  QTimer* timer = pumps_[i].timer;
  if (timer->isActive() && timer->remainingTime() <= ms) return;
  timer->start(int(std::clamp<qint64>(ms, 0, 86'400'000)));
}

void ProxyConnection::pump(int i) {
  if (finished_) return;
  Pump& p = pumps_[i];
  QTcpSocket* dst = socket(i);
  const qint64 t = now();
  // Released items go to the wire in release order, then arrival order.
  for (;;) {
    auto next = std::min_element(p.queue.begin(), p.queue.end(), [](const Item& a, const Item& b) {
      return a.release != b.release ? a.release < b.release : a.seq < b.seq;
    });
    if (next == p.queue.end() || next->release > t) break;
    p.wire.insert(p.wire.end(), next->bytes.begin(), next->bytes.end());
    p.wire_enqueued += next->bytes.size();
    if (next->cut_rule && !p.cut_at) {
      p.cut_at = p.wire_enqueued;
      p.cut_rule = next->cut_rule;
    }
    p.queue.erase(next);
  }
  if (dst->state() != QAbstractSocket::ConnectedState) return;  // pumped again on connected()

  std::size_t segment = 0;
  TokenBucket* bucket = nullptr;
  for (auto& [rid, a] : rules_) {
    if (!covers(a.rule.direction, dir_of(i)) || t > a.until) continue;
    if (a.rule.kind == Kind::segment) segment = a.rule.size;
    if (a.rule.kind == Kind::throttle) bucket = &*a.bucket[i];
  }
  while (!p.wire.empty()) {
    std::size_t n = p.wire.size();
    if (p.cut_at) n = std::min<std::size_t>(n, p.cut_at - p.wire_written);
    if (segment) n = std::min(n, segment);
    if (bucket) {
      const std::size_t avail = bucket->available(t);
      if (avail == 0) {
        schedule(i, bucket->wait_ms(t));
        break;
      }
      n = std::min(n, avail);
      bucket->take(n);
    }
    std::vector<std::uint8_t> chunk(p.wire.begin(), p.wire.begin() + std::ptrdiff_t(n));
    p.wire.erase(p.wire.begin(), p.wire.begin() + std::ptrdiff_t(n));
    dst->write(reinterpret_cast<const char*>(chunk.data()), qint64(n));
    dst->flush();  // one send() per chunk: with TCP_NODELAY, one TCP segment each
    if (pcap_)
      pcap_->write(i == kUp ? pcap::Direction::to_broker : pcap::Direction::to_client,
                   pcap::PcapWriter::Clock::now(), chunk);
    p.wire_written += n;
    if (p.cut_at && p.wire_written == p.cut_at) {
      const int rid = p.cut_rule;
      p.cut_at = 0;
      auto it = rules_.find(rid);
      if (it != rules_.end()) cut(rid, it->second.rule);
      return;
    }
    if (segment && !p.wire.empty()) {
      schedule(i, 0);  // next segment on the next event-loop turn: a separate send()
      break;
    }
  }
  if (!p.queue.empty()) {
    qint64 earliest = kForever;
    for (const auto& item : p.queue) earliest = std::min(earliest, item.release);
    schedule(i, earliest - t);
  }
  if (p.source_closed && p.queue.empty() && p.wire.empty() && p.held.empty() &&
      dst->state() == QAbstractSocket::ConnectedState && !closeHeldBack(i))
    dst->disconnectFromHost();
}

bool ProxyConnection::closeHeldBack(int i) {
  Pump& p = pumps_[i];
  const qint64 t = now();
  for (auto& [rid, a] : rules_) {
    if (a.rule.kind != Kind::rewrite || !covers(a.rule.direction, dir_of(i)) || t > a.until) continue;
    if (a.rule.op == RewriteOp::keep_open) {
      if (!kept_open_) fired(rid, QStringLiteral("rewrite: the broker closed, the client's link stays open"));
      kept_open_ = true;
      return true;
    }
    if (a.rule.op == RewriteOp::delay_close && !p.close_delay_over) {
      if (!p.close_delay_started) {
        p.close_delay_started = true;
        fired(rid, QStringLiteral("rewrite: the broker closed, passed on %1 ms later").arg(a.rule.by.count()));
        QTimer::singleShot(a.rule.by.count(), this, [this, i] {
          pumps_[i].close_delay_over = true;
          pump(i);
        });
      }
      return true;
    }
  }
  return false;
}

void ProxyConnection::cut(int rule_id, const FaultRule& rule) {
  Q_UNUSED(rule_id);
  cut_ = true;
  for (QTcpSocket* s : {client_, broker_}) {
    const bool selected = rule.side == Side::both || (rule.side == Side::client && s == client_) ||
                          (rule.side == Side::broker && s == broker_);
    if (!selected || s->state() == QAbstractSocket::UnconnectedState) continue;
    if (rule.close == Close::rst) {
      // abort() alone sends FIN; a zero linger time makes close() send RST.
      const linger l{1, 0};
      ::setsockopt(int(s->socketDescriptor()), SOL_SOCKET, SO_LINGER, &l, sizeof l);
      s->abort();
    } else {
      s->flush();
      s->disconnectFromHost();
    }
  }
  for (auto& p : pumps_) {
    p.queue.clear();
    p.wire.clear();
    p.held.clear();
  }
  checkFinished();
}

void ProxyConnection::onSourceClosed(int i) {
  if (cut_) {
    // The untouched side of a one-sided cut closed too: nothing left to carry.
    checkFinished();
    if (!finished_ && socket(i)->state() == QAbstractSocket::ConnectedState) socket(i)->disconnectFromHost();
    checkFinished();
    return;
  }
  onReadable(i);
  pumps_[i].source_closed = true;
  if (!pumps_[i].unframed.empty()) {
    // A partial packet at close: forward what there is, as the peer sent it.
    enqueue(i, Item{std::move(pumps_[i].unframed), now(), 0, 0});
    pumps_[i].unframed.clear();
  }
  pump(i);
  if (socket(i)->state() != QAbstractSocket::ConnectedState && socket(i)->state() != QAbstractSocket::ClosingState)
    socket(i)->abort();
  checkFinished();
}

void ProxyConnection::checkFinished() {
  if (finished_) return;
  if (client_->state() != QAbstractSocket::UnconnectedState || broker_->state() != QAbstractSocket::UnconnectedState)
    return;
  finished_ = true;
  for (auto& p : pumps_) p.timer->stop();
  if (pcap_) pcap_->close(pcap::PcapWriter::Clock::now());
  proxy_->connectionFinished(id_);
  deleteLater();
}

void ProxyConnection::abortAll() {
  client_->abort();
  broker_->abort();
  checkFinished();
}

// ---------------------------------------------------------------------------------------

FaultProxy::FaultProxy(QHostAddress upstream_host, quint16 upstream_port, QObject* parent)
    : QObject(parent), upstream_host_(std::move(upstream_host)), upstream_port_(upstream_port),
      server_(new QTcpServer(this)) {
  qRegisterMetaType<mqtth::fault::PacketRecord>();
  connect(server_, &QTcpServer::newConnection, this, &FaultProxy::onNewConnection);
}

FaultProxy::~FaultProxy() = default;

bool FaultProxy::listen(const QHostAddress& address, quint16 port) { return server_->listen(address, port); }
QHostAddress FaultProxy::address() const { return server_->serverAddress(); }
quint16 FaultProxy::port() const { return server_->serverPort(); }
QString FaultProxy::errorString() const { return server_->errorString(); }

void FaultProxy::close() {
  server_->close();
  const auto open = connections_;
  for (auto& [id, c] : open) c->abortAll();
}

int FaultProxy::addFault(const FaultRule& rule) {
  const int id = next_rule_id_++;
  rules_.emplace(id, Installed{rule});
  qCInfo(lcProxy) << "fault" << id << QString::fromStdString(to_spec(rule));
  for (auto& [cid, c] : connections_) c->install(id, rule);
  return id;
}

int FaultProxy::addFaultTo(int connection, const FaultRule& rule) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) return 0;
  const int id = next_rule_id_++;
  rules_.emplace(id, Installed{rule, connection});
  qCInfo(lcProxy) << "fault" << id << "on connection" << connection << QString::fromStdString(to_spec(rule));
  it->second->install(id, rule);
  return id;
}

int FaultProxy::addFaultToNext(const FaultRule& rule) {
  const int id = next_rule_id_++;
  rules_.emplace(id, Installed{rule, 0, true});
  qCInfo(lcProxy) << "fault" << id << "on the next connection" << QString::fromStdString(to_spec(rule));
  return id;
}

int FaultProxy::newestConnection() const { return connections_.empty() ? 0 : connections_.rbegin()->first; }

void FaultProxy::connectionFinished(int connection) {
  connections_.erase(connection);
  std::erase_if(rules_, [connection](const auto& entry) { return entry.second.connection == connection; });
  emit connectionClosed(connection);
}

void FaultProxy::removeFault(int id) {
  rules_.erase(id);
  const auto open = connections_;
  for (auto& [cid, c] : open) c->uninstall(id);
}

void FaultProxy::clearFaults() {
  const auto ids = rules_;
  for (const auto& [id, r] : ids) removeFault(id);
}

std::vector<FaultRule> FaultProxy::faults() const {
  std::vector<FaultRule> out;
  for (const auto& [id, r] : rules_) out.push_back(r.rule);
  return out;
}

void FaultProxy::onNewConnection() {
  while (QTcpSocket* socket = server_->nextPendingConnection()) {
    const int id = next_connection_id_++;
    auto* c = new ProxyConnection(this, id, socket);
    connections_[id] = c;
    for (auto& [rid, r] : rules_) {
      if (r.next) {  // the connection it waited for
        r.next = false;
        r.connection = id;
      }
      if (r.connection == 0 || r.connection == id) c->install(rid, r.rule);
    }
    qCDebug(lcProxy) << "connection" << id << "from port" << socket->peerPort();
    emit connectionOpened(id);
  }
}

void FaultProxy::record(const PacketRecord& r) {
  if (recording_) records_.push_back(r);
  emit packetReceived(r);
}

}  // namespace mqtth::fault
