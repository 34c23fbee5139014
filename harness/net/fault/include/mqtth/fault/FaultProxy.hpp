// FaultProxy: an MQTT-aware TCP proxy that injects faults between one client and a broker.
//
// Listens on a loopback port; every accepted connection gets its own upstream connection
// to the broker. Both directions are framed with mqtt::Framer, so faults hit packets (the
// 3rd PUBREC, byte 5 of the 1st PUBLISH), not byte counts. Rules (FaultRule.hpp) can be
// added and removed at any time, for every connection (addFault: the open ones from that
// moment, its nth counting packets from then on, and every later one from its start), for
// one open connection (addFaultTo) or for the next one accepted (addFaultToNext); a rule
// of one connection goes when that connection closes.
//
// Bytes the framer cannot frame (a malformed fixed header sent on purpose) switch that
// direction to raw forwarding, so the broker still sees and judges them.
//
// Every packet is reported by packetReceived() as it reaches the proxy (before faults):
// tests and fault-point exploration count packet boundaries with it. With a pcap
// directory set, every connection writes <dir>/conn-<id>.pcap of the bytes as forwarded.
#pragma once

#include "mqtth/fault/FaultRule.hpp"

#include <QByteArray>
#include <QHostAddress>
#include <QObject>
#include <QString>

#include <map>
#include <memory>
#include <vector>

class QTcpServer;

namespace mqtth::fault {

class ProxyConnection;

// One packet as it reached the proxy. direction is to_broker or to_client.
struct PacketRecord {
  int connection = 0;
  Direction direction = Direction::to_broker;
  qint64 timestamp_us = 0;  // wall clock, microseconds since the Unix epoch
  mqtt::PacketType type = mqtt::PacketType::connect;
  QByteArray bytes;         // the whole packet as received, before any fault
};

class FaultProxy : public QObject {
  Q_OBJECT
 public:
  FaultProxy(QHostAddress upstream_host, quint16 upstream_port, QObject* parent = nullptr);
  ~FaultProxy() override;

  // port 0: a free port. False (errorString()) when it cannot listen.
  bool listen(const QHostAddress& address = QHostAddress(QHostAddress::LocalHost), quint16 port = 0);
  QHostAddress address() const;
  quint16 port() const;
  QString errorString() const;
  // Stops accepting and aborts every open connection.
  void close();

  // Installs a rule on every open connection (from now) and every later one. Returns
  // the rule's id for removeFault().
  int addFault(const FaultRule& rule);
  // Installs a rule on the open connection `connection` only (from now); it is removed when
  // that connection closes. 0 (nothing installed) when no such connection is open.
  int addFaultTo(int connection, const FaultRule& rule);
  // Installs a rule on the next connection accepted only (from its start); it is removed
  // when that connection closes.
  int addFaultToNext(const FaultRule& rule);
  // The open connection accepted last (0 when none is open): a client's current one when
  // the proxy serves one client at a time.
  int newestConnection() const;
  void removeFault(int id);
  void clearFaults();  // passthrough from now on (held/delayed packets still go out)
  std::vector<FaultRule> faults() const;

  // Keep every PacketRecord in memory (packets()); the signal fires either way.
  void setRecording(bool on) { recording_ = on; }
  const std::vector<PacketRecord>& packets() const { return records_; }
  // Write one pcap per connection into dir (created if missing); "" turns it off.
  void setPcapDirectory(const QString& dir) { pcap_dir_ = dir; }

  int openConnections() const { return static_cast<int>(connections_.size()); }

 signals:
  void connectionOpened(int connection);
  // Both of the connection's sockets are closed.
  void connectionClosed(int connection);
  void packetReceived(const mqtth::fault::PacketRecord& record);
  // A rule acted: kind and a short description ("cut after PUBREC #3").
  void faultFired(int connection, int faultId, const QString& what);

 private:
  friend class ProxyConnection;
  void onNewConnection();
  void record(const PacketRecord& r);
  void connectionFinished(int connection);  // its rules go with it

  // A rule and the connections it applies to.
  struct Installed {
    FaultRule rule;
    int connection = 0;    // 0: every connection; else only this one
    bool next = false;     // waits for the next connection accepted (then bound to it)
  };

  QHostAddress upstream_host_;
  quint16 upstream_port_;
  QTcpServer* server_;
  std::map<int, Installed> rules_;  // by id, install order
  int next_rule_id_ = 1;
  int next_connection_id_ = 1;
  std::map<int, ProxyConnection*> connections_;
  bool recording_ = false;
  std::vector<PacketRecord> records_;
  QString pcap_dir_;
};

}  // namespace mqtth::fault

Q_DECLARE_METATYPE(mqtth::fault::PacketRecord)
