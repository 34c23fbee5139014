#include "Explorer.hpp"

#include <QDir>
#include <QFile>

#include <algorithm>
#include <map>
#include <tuple>

namespace mqtth::runner {

namespace {

std::string cut_text(const CutPlan& p) {
  return p.client + " " + std::string(fault::direction_name(p.direction)) + " after " +
         std::string(mqtt::to_string(p.type)) + " #" + std::to_string(p.nth);
}

std::string seconds(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", ms / 1000.0);
  return buf;
}

}  // namespace

std::vector<CutPlan> cut_points(const std::vector<RecordedPacket>& recorded) {
  std::vector<CutPlan> out;
  std::map<std::tuple<std::string, fault::Direction, mqtt::PacketType>, std::uint32_t> seen;
  for (const auto& r : recorded) {
    const auto n = ++seen[{r.client, r.direction, r.type}];
    out.push_back({r.client, r.direction, r.type, n});
  }
  return out;
}

Explorer::Explorer(const scenario::Scenario& scenario, std::function<ExecContext(unsigned)> context_for,
                   std::vector<std::string> clients, unsigned max_runs,
                   std::function<void(const std::string&)> progress, QObject* parent)
    : QObject(parent),
      scenario_(scenario),
      context_for_(std::move(context_for)),
      clients_(std::move(clients)),
      max_runs_(max_runs),
      progress_(std::move(progress)) {
  if (clients_.empty())
    for (const auto& c : scenario_.clients) clients_.push_back(c.name);
}

void Explorer::start() {
  ExecContext ctx = context_for_(0);
  ctx.record_clients.insert(clients_.begin(), clients_.end());
  current_ = new Execution(scenario_, ctx, this);
  connect(current_, &Execution::finished, this, &Explorer::onBaselineFinished);
  current_->start();
}

void Explorer::onBaselineFinished() {
  Execution* baseline = current_;
  current_ = nullptr;
  result_ = std::move(baseline->result());
  failure_spec_ = baseline->failure_spec();
  plans_ = cut_points(baseline->recorded());
  baseline->deleteLater();
  if (result_.status != report::Status::passed) {
    // Without a passing baseline the cut runs would judge nothing new: the scenario
    // fails (or errs) as the baseline did.
    if (progress_) progress_("explore " + scenario_.name + ": baseline " + std::string(report::to_string(result_.status)) +
                             ", no cut runs");
    emit finished();
    return;
  }
  total_points_ = plans_.size();
  if (plans_.size() > max_runs_) plans_.resize(max_runs_);
  if (progress_)
    progress_("explore " + scenario_.name + ": " + std::to_string(total_points_) + " cut points" +
              (plans_.size() < total_points_ ? ", running the first " + std::to_string(plans_.size()) + " (max_runs)" : ""));
  runNextCut();
}

void Explorer::runNextCut() {
  if (next_ >= plans_.size()) {
    conclude();
    return;
  }
  ExecContext ctx = context_for_(static_cast<unsigned>(next_ + 1));
  ctx.cut = plans_[next_];
  // Every cut run captures its own files (with --pcap); those of runs that held are deleted
  // afterwards, those that did not are kept for debugging and listed in the report.
  if (!ctx.pcap_dir.empty()) ctx.pcap_stem += "-cut" + std::to_string(next_ + 1);
  cut_pcap_dir_ = ctx.pcap_dir;
  cut_pcap_stem_ = ctx.pcap_stem;
  current_ = new Execution(scenario_, ctx, this);
  connect(current_, &Execution::finished, this, &Explorer::onCutFinished);
  current_->start();
}

void Explorer::onCutFinished() {
  Execution* run = current_;
  current_ = nullptr;
  const auto& plan = plans_[next_];
  const auto& r = run->result();
  report::CutPoint row;
  row.client = plan.client;
  row.direction = std::string(fault::direction_name(plan.direction));
  row.packet = std::string(mqtt::to_string(plan.type));
  row.nth = static_cast<int>(plan.nth);
  row.fired = run->cutFired();
  row.duration_ms = r.duration_ms;
  bool violated = false;
  for (const auto& d : r.deliveries) {
    row.lost += d.lost;
    row.duplicated += d.duplicated;
    violated = violated || d.verdict == ledger::Verdict::violated;
  }
  if (r.status == report::Status::passed) {
    row.verdict = "held";
  } else if (violated && r.status == report::Status::failed) {
    row.verdict = "violated";
  } else {
    row.verdict = "incomplete";
  }
  // The pcap files this run wrote (the proxies closed them at the run's teardown).
  std::vector<std::string> pcap;
  if (!cut_pcap_dir_.empty()) {
    const QDir dir(QString::fromStdString(cut_pcap_dir_));
    for (const QString& name : dir.entryList({QString::fromStdString(cut_pcap_stem_) + "--*.pcap"}, QDir::Files, QDir::Name))
      pcap.push_back(dir.filePath(name).toStdString());
  }
  if (row.verdict != "held") {
    // What is needed to debug a cut run that did not hold: its statement, trace and pcap.
    if (r.failure) {
      row.message = r.failure->message;
      row.statement = r.failure->statement;
      if (!first_bad_) first_bad_ = *r.failure;
    }
    row.packets = r.packets;
    row.pcap = pcap;
  } else {
    for (const std::string& file : pcap) QFile::remove(QString::fromStdString(file));
    // Steps the cut disturbed (tolerated) are worth a look even when the guarantee held.
    for (const auto& st : r.steps)
      if (!st.message.empty()) {
        row.message = "step " + std::to_string(st.index) + ": " + st.message;
        break;
      }
  }
  cut_ms_ += r.duration_ms;
  if (progress_)
    progress_("explore " + scenario_.name + " [" + std::to_string(next_ + 1) + "/" + std::to_string(plans_.size()) + "] cut " +
              cut_text(plan) + (row.fired ? "" : " (not reached)") + ": " + row.verdict +
              (row.verdict == "held" ? "" : " (lost " + std::to_string(row.lost) + ", duplicated " +
                                                std::to_string(row.duplicated) + ")") +
              " " + seconds(r.duration_ms));
  result_.exploration.push_back(std::move(row));
  run->deleteLater();
  ++next_;
  // Queued: the finished run's sockets close before the next run starts.
  QMetaObject::invokeMethod(this, &Explorer::runNextCut, Qt::QueuedConnection);
}

void Explorer::conclude() {
  result_.duration_ms += cut_ms_;
  std::vector<const report::CutPoint*> bad;
  for (const auto& row : result_.exploration)
    if (row.verdict != "held") bad.push_back(&row);
  if (!bad.empty()) {
    report::Failure f;
    f.step = 0;
    f.line = scenario_.where.line;
    std::string list;
    for (std::size_t i = 0; i < bad.size() && i < 5; ++i)
      list += std::string(i ? "; " : "") + bad[i]->client + " " + bad[i]->direction + " after " + bad[i]->packet + " #" +
              std::to_string(bad[i]->nth) + ": " + bad[i]->verdict + " (lost " + std::to_string(bad[i]->lost) +
              ", duplicated " + std::to_string(bad[i]->duplicated) + ")" +
              (bad[i]->statement.empty() ? "" : " [" + bad[i]->statement + "]");
    if (bad.size() > 5) list += "; ...";
    f.message = scenario_.file + ":" + std::to_string(f.line) + ": fault-point exploration: " + std::to_string(bad.size()) +
                " of " + std::to_string(result_.exploration.size()) + " cut points did not hold the delivery guarantee: " + list;
    f.expected = "every cut point held";
    f.actual = std::to_string(bad.size()) + " did not";
    f.message += "\n  first: " + bad.front()->message;
    // The exploration names the statement of its first cut run that did not hold.
    if (first_bad_) {
      f.statement = first_bad_->statement;
      f.see_also = first_bad_->see_also;
      f.no_statement = first_bad_->no_statement;
      f.last_packets = first_bad_->last_packets;
      // The other cut runs' own statements, each once (their rows say which run broke which).
      for (const report::CutPoint* row : bad)
        if (!row->statement.empty() && row->statement != f.statement &&
            std::find(f.see_also.begin(), f.see_also.end(), row->statement) == f.see_also.end())
          f.see_also.push_back(row->statement);
    } else {
      f.no_statement = "the cut runs that did not hold ended without a failure of their own";
    }
    result_.failure = std::move(f);
    result_.status = report::Status::failed;
    failure_spec_.clear();
    if (!result_.failure->statement.empty()) failure_spec_.push_back(result_.failure->statement);
  }
  if (progress_)
    progress_("explore " + scenario_.name + ": " + std::to_string(result_.exploration.size() - bad.size()) + " held, " +
              std::to_string(bad.size()) + " not" +
              (total_points_ > result_.exploration.size()
                   ? " (" + std::to_string(total_points_ - result_.exploration.size()) + " cut points over max_runs not run)"
                   : ""));
  emit finished();
}

}  // namespace mqtth::runner
