#include "core/pipeline/kernel_report.h"

#include <QJsonArray>
#include <chrono>
#include <cstdio>

#include "core/models/onednn_kernels.h"
#include "core/util/stdout_capture.h"

namespace latent::pipeline {
namespace {

// Turns verbose mode off however the work ends.
struct VerboseScope {
  bool on = models::onednn::set_verbose(true);
  ~VerboseScope() {
    if (on) models::onednn::set_verbose(false);
  }
};

}  // namespace

KernelReport profile_onednn_kernels(const std::function<void()>& work) {
  KernelReport report;
  util::StdoutCapture capture;
  std::string text;
  {
    const VerboseScope verbose;
    report.available = verbose.on;
    if (!report.available) return report;
    const auto start = std::chrono::steady_clock::now();
    work();
    report.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  report.summary = util::summarize_onednn_verbose(capture.finish());
  return report;
}

QJsonObject kernel_report_json(const KernelReport& r) {
  QJsonArray kernels;
  for (const auto& k : r.summary.kernels) {
    kernels.append(QJsonObject{{"kind", QString::fromStdString(k.kind)},
                               {"implementation", QString::fromStdString(k.implementation)},
                               {"calls", static_cast<double>(k.calls)},
                               {"milliseconds", k.milliseconds},
                               {"gflop", k.flops / 1e9},
                               {"gflops", k.gflops()}});
  }
  return QJsonObject{{"available", r.available},
                     {"isa", QString::fromStdString(r.summary.isa)},
                     {"wall_seconds", r.wall_seconds},
                     {"onednn_milliseconds", r.summary.total_milliseconds()},
                     {"kernels", kernels}};
}

std::string kernel_report_text(const KernelReport& r, const std::string& title) {
  std::string s = "  oneDNN kernels, " + title + ":\n";
  if (!r.available) return s + "    (this build cannot ask oneDNN: it has no oneDNN of its own)\n";
  char line[320];
  const double total = r.summary.total_milliseconds();
  std::snprintf(line, sizeof line, "    %.0f ms in oneDNN of %.0f ms%s%s\n", total,
                1000 * r.wall_seconds, r.summary.isa.empty() ? "" : "; ", r.summary.isa.c_str());
  s += line;
  std::snprintf(line, sizeof line, "    %-20s %-32s %7s %10s %6s %9s\n", "kind", "implementation",
                "calls", "ms", "share", "GFLOP/s");
  s += line;
  for (const auto& k : r.summary.kernels) {
    char rate[32] = "-";
    if (k.milliseconds_with_flops > 0) std::snprintf(rate, sizeof rate, "%.1f", k.gflops());
    std::snprintf(line, sizeof line, "    %-20s %-32s %7lld %10.1f %5.1f%% %9s\n", k.kind.c_str(),
                  k.implementation.c_str(), static_cast<long long>(k.calls), k.milliseconds,
                  total > 0 ? 100 * k.milliseconds / total : 0.0, rate);
    s += line;
  }
  return s;
}

}  // namespace latent::pipeline
