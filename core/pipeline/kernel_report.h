#pragma once

// Which oneDNN kernels a piece of work ran, and how fast: `bench --kernels`. oneDNN's
// verbose mode is turned on for the work and its lines, caught from the standard output,
// are summed per primitive kind and implementation (core/util/onednn_verbose.h). The times
// are oneDNN's own, with a wait around every primitive, so the work runs a little slower
// than without the report.

#include <QJsonObject>
#include <functional>
#include <string>

#include "core/util/onednn_verbose.h"

namespace latent::pipeline {

struct KernelReport {
  bool available = false;   // false: this build cannot turn oneDNN's verbose mode on
  double wall_seconds = 0;  // the work's time, verbose mode on
  util::OneDnnVerboseSummary summary;
};

// Runs `work` once with oneDNN's verbose mode on. Nothing else may print to the standard
// output meanwhile: it would be caught and skipped.
KernelReport profile_onednn_kernels(const std::function<void()>& work);

QJsonObject kernel_report_json(const KernelReport& report);

// A table: kind, implementation, calls, milliseconds, share of oneDNN's time, GFLOP/s.
std::string kernel_report_text(const KernelReport& report, const std::string& title);

}  // namespace latent::pipeline
