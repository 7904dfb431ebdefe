#include "core/control/control_spec.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>
#include <vector>

#include "core/util/error.h"

namespace latent::control {
namespace {

constexpr const char* kKeys =
    "model, image, scale, start, end, preprocess, low, high, threshold, resize";

// key=value pairs split at commas outside double quotes; quotes are removed.
std::vector<std::pair<std::string, std::string>> split_pairs(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string part;
  bool quoted = false;
  const auto finish = [&] {
    const auto eq = part.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error("--control: \"" + part + "\" is not KEY=VALUE (keys: " + kKeys + ")");
    std::string value = part.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (value.find('"') != std::string::npos)
      throw Error("--control: the value of \"" + part.substr(0, eq) +
                  "\" has a stray double quote");
    pairs.emplace_back(part.substr(0, eq), value);
    part.clear();
  };
  for (const char c : text) {
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      finish();
      continue;
    }
    part += c;
  }
  if (quoted) throw Error("--control: a double quote is not closed");
  finish();
  return pairs;
}

double number(const std::string& key, const std::string& value) {
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || errno == ERANGE || !std::isfinite(x))
    throw Error("--control: " + key + "=" + value + " is not a number");
  return x;
}

}  // namespace

api::ControlUnit parse_control_spec(const std::string& text) {
  if (text.empty()) throw Error("--control needs model=PATH,image=FILE");
  api::ControlUnit unit;
  std::set<std::string> seen;
  for (const auto& [key, value] : split_pairs(text)) {
    if (!seen.insert(key).second) throw Error("--control: \"" + key + "\" is given twice");
    if (key == "model")
      unit.model_path = value;
    else if (key == "image")
      unit.image_path = value;
    else if (key == "scale")
      unit.weight = number(key, value);
    else if (key == "start")
      unit.guidance_start = number(key, value);
    else if (key == "end")
      unit.guidance_end = number(key, value);
    else if (key == "preprocess")
      unit.preprocessor = value;
    else if (key == "low" || key == "threshold") {
      if (seen.count("low") && seen.count("threshold"))
        throw Error(
            "--control: give \"low\" or \"threshold\", not both (they are the same parameter)");
      unit.threshold_a = number(key, value);
    } else if (key == "high")
      unit.threshold_b = number(key, value);
    else if (key == "resize")
      unit.resize_mode = value;
    else
      throw Error("--control: unknown key \"" + key + "\" (keys: " + kKeys + ")");
  }
  if (unit.model_path.empty()) throw Error("--control: model=PATH is missing (" + text + ")");
  if (unit.image_path.empty()) throw Error("--control: image=FILE is missing (" + text + ")");
  return unit;
}

}  // namespace latent::control
