#include "core/util/onednn_verbose.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <utility>

namespace latent::util {
namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

constexpr double kLongestMilliseconds = 24.0 * 3600 * 1000;

bool is_prefix(std::string_view s) {
  return s == "onednn_verbose" || s == "dnnl_verbose" || s == "mkldnn_verbose";
}

std::optional<double> parse_double(std::string_view s) {
  double value = 0;
  const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (error != std::errc() || end != s.data() + s.size() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

// A whole number of at most nine digits (no size oneDNN reports comes near a billion in one
// dimension; the limit keeps every product of a few of them finite).
std::optional<double> parse_count(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t value = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return static_cast<double>(value);
}

// "mb2_g1ic320oc320_ih64oh64kh3" → {mb: 2, g: 1, ic: 320, ...}: runs of letters, each followed
// by its number, '_' between groups. nullopt if anything else appears or a name repeats.
std::optional<std::map<std::string, double, std::less<>>> named_sizes(std::string_view problem) {
  std::map<std::string, double, std::less<>> sizes;
  size_t i = 0;
  while (i < problem.size()) {
    if (problem[i] == '_') {
      ++i;
      continue;
    }
    const size_t name_start = i;
    while (i < problem.size() && problem[i] >= 'a' && problem[i] <= 'z') ++i;
    const size_t digits_start = i;
    while (i < problem.size() && problem[i] >= '0' && problem[i] <= '9') ++i;
    if (name_start == digits_start || digits_start == i) return std::nullopt;
    const auto value = parse_count(problem.substr(digits_start, i - digits_start));
    if (!value) return std::nullopt;
    if (!sizes.emplace(std::string(problem.substr(name_start, digits_start - name_start)), *value)
             .second)
      return std::nullopt;
  }
  return sizes;
}

double size_or(const std::map<std::string, double, std::less<>>& sizes, std::string_view name,
               double fallback) {
  const auto it = sizes.find(name);
  return it == sizes.end() ? fallback : it->second;
}

double convolution_flops(std::string_view problem, bool deconvolution) {
  const auto sizes = named_sizes(problem);
  if (!sizes) return -1;
  for (const char* needed : {"mb", "ic", "oc"})
    if (sizes->find(needed) == sizes->end()) return -1;
  const double groups = size_or(*sizes, "g", 1);
  const double ic = size_or(*sizes, "ic", 0), oc = size_or(*sizes, "oc", 0);
  if (groups < 1) return -1;
  double kernel = 1, in_pixels = 1, out_pixels = 1;
  for (const char* axis : {"d", "h", "w"}) {
    kernel *= size_or(*sizes, std::string("k") + axis, 1);
    in_pixels *= size_or(*sizes, std::string("i") + axis, 1);
    out_pixels *= size_or(*sizes, std::string("o") + axis, 1);
  }
  // Each output pixel of a convolution sums kernel × ic/g products per output channel; a
  // deconvolution (the transposed convolution) does the same per input pixel.
  const double mb = size_or(*sizes, "mb", 0);
  return deconvolution ? 2 * mb * ic * (oc / groups) * kernel * in_pixels
                       : 2 * mb * oc * (ic / groups) * kernel * out_pixels;
}

double inner_product_flops(std::string_view problem) {
  const auto sizes = named_sizes(problem);
  if (!sizes) return -1;
  for (const char* needed : {"mb", "ic", "oc"})
    if (sizes->find(needed) == sizes->end()) return -1;
  double in = size_or(*sizes, "ic", 0);
  for (const char* axis : {"id", "ih", "iw"}) in *= size_or(*sizes, axis, 1);
  return 2 * size_or(*sizes, "mb", 0) * in * size_or(*sizes, "oc", 0);
}

std::optional<std::vector<double>> dims(std::string_view text) {
  std::vector<double> out;
  for (const auto part : split(text, 'x')) {
    const auto value = parse_count(part);
    if (!value) return std::nullopt;
    out.push_back(*value);
  }
  return out;
}

// "src:weights:dst" dims, each "AxBx…": a batch of M×K by K×N products.
double matmul_flops(std::string_view problem) {
  const auto parts = split(problem, ':');
  if (parts.size() != 3) return -1;
  const auto src = dims(parts[0]), wei = dims(parts[1]), dst = dims(parts[2]);
  if (!src || !wei || !dst || src->size() < 2 || wei->size() < 2 || dst->size() < 2) return -1;
  const double m = (*src)[src->size() - 2], k = src->back();
  const double n = wei->back();
  if ((*wei)[wei->size() - 2] != k || (*dst)[dst->size() - 2] != m || dst->back() != n) return -1;
  double batch = 1;
  for (size_t i = 0; i + 2 < dst->size(); ++i) batch *= (*dst)[i];
  return 2 * batch * m * n * k;
}

}  // namespace

std::optional<OneDnnExec> parse_onednn_exec(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  const auto fields = split(line, ',');
  if (fields.size() < 2 || !is_prefix(fields[0])) return std::nullopt;
  // "exec" follows the prefix, or a timestamp and/or a "primitive" marker.
  size_t at = 1;
  while (at < fields.size() && at <= 3 && fields[at] != "exec") ++at;
  if (at > 3 || at >= fields.size()) return std::nullopt;
  // exec, engine, kind, implementation, propagation, ..., problem, time.
  if (fields.size() < at + 7) return std::nullopt;
  // No primitive runs for longer than a day; a larger figure is not a time, and summing a few
  // of them would overflow.
  const auto time = parse_double(fields.back());
  if (!time || *time < 0 || *time > kLongestMilliseconds) return std::nullopt;
  OneDnnExec e;
  e.engine = fields[at + 1];
  e.kind = fields[at + 2];
  e.implementation = fields[at + 3];
  e.propagation = fields[at + 4];
  e.problem = fields[fields.size() - 2];
  e.milliseconds = *time;
  if (e.engine.empty() || e.kind.empty() || e.implementation.empty()) return std::nullopt;
  return e;
}

double onednn_problem_flops(std::string_view kind, std::string_view problem) {
  if (kind == "convolution") return convolution_flops(problem, false);
  if (kind == "deconvolution") return convolution_flops(problem, true);
  if (kind == "inner_product") return inner_product_flops(problem);
  if (kind == "matmul") return matmul_flops(problem);
  return -1;
}

double OneDnnVerboseSummary::total_milliseconds() const {
  double total = 0;
  for (const auto& k : kernels) total += k.milliseconds;
  return total;
}

OneDnnVerboseSummary summarize_onednn_verbose(std::string_view text) {
  OneDnnVerboseSummary summary;
  std::map<std::pair<std::string, std::string>, OneDnnKernelTotal> totals;
  for (auto line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (const auto e = parse_onednn_exec(line)) {
      auto& t = totals[{e->kind, e->implementation}];
      t.kind = e->kind;
      t.implementation = e->implementation;
      ++t.calls;
      t.milliseconds += e->milliseconds;
      const double flops = onednn_problem_flops(e->kind, e->problem);
      if (flops >= 0) {
        t.flops += flops;
        t.milliseconds_with_flops += e->milliseconds;
      }
      continue;
    }
    const size_t isa = line.find(",info,cpu,isa:");
    if (isa != std::string_view::npos && is_prefix(line.substr(0, isa))) {
      summary.isa = std::string(line.substr(isa + 14));
      continue;
    }
    if (line.find(",info,") == std::string_view::npos) ++summary.lines_skipped;
  }
  for (auto& [key, total] : totals) summary.kernels.push_back(std::move(total));
  std::stable_sort(summary.kernels.begin(), summary.kernels.end(),
                   [](const OneDnnKernelTotal& a, const OneDnnKernelTotal& b) {
                     return a.milliseconds > b.milliseconds;
                   });
  return summary;
}

}  // namespace latent::util
