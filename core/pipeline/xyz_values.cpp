#include "core/pipeline/xyz_values.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "core/util/error.h"

namespace latent::pipeline {
namespace {

const char* const kRanges = " or a range such as 1-5, 1-10 (+2) or 1-10 [5]";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string trimmed(const std::string& text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

// Reads the range forms by hand: a cursor over one item.
struct Cursor {
  const std::string& text;
  std::size_t at = 0;

  void skip_spaces() {
    while (at < text.size() && is_space(text[at])) ++at;
  }
  bool take(char c) {
    skip_spaces();
    if (at < text.size() && text[at] == c) {
      ++at;
      return true;
    }
    return false;
  }
  bool done() {
    skip_spaces();
    return at == text.size();
  }
  // [+-] digits [. digits]: the web UI's number (a space may follow the sign). Returns the
  // number's text without spaces; nothing when there is no number here.
  std::optional<std::string> number(bool fraction_allowed) {
    skip_spaces();
    std::string out;
    if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
      out += text[at++];
      skip_spaces();
    }
    const std::size_t digits = at;
    while (at < text.size() && is_digit(text[at])) out += text[at++];
    if (at == digits) return std::nullopt;
    if (fraction_allowed && at < text.size() && text[at] == '.') {
      out += text[at++];
      while (at < text.size() && is_digit(text[at])) out += text[at++];
    }
    return out;
  }
};

// A range item: start, end and either a step "(+2)" or a count "[5]".
struct Range {
  std::string start;
  std::string end;
  std::optional<std::string> step;
  std::optional<std::string> count;
};

std::optional<Range> parse_range(const std::string& item, bool fractions) {
  Cursor c{item};
  Range range;
  auto start = c.number(fractions);
  if (!start || !c.take('-')) return std::nullopt;
  auto end = c.number(fractions);
  if (!end) return std::nullopt;
  range.start = *start;
  range.end = *end;
  if (c.take('(')) {
    range.step = c.number(fractions);
    if (!range.step || !c.take(')')) return std::nullopt;
  } else if (c.take('[')) {
    range.count = c.number(false);
    if (!range.count || !c.take(']')) return std::nullopt;
  }
  if (!c.done()) return std::nullopt;
  return range;
}

std::optional<int64_t> to_whole(const std::string& text) {
  if (text.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno == ERANGE || end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> to_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

double round8(double value) { return std::round(value * 1e8) / 1e8; }

void check_length(std::size_t count, const std::string& item) {
  if (count > static_cast<std::size_t>(kMaxAxisValues))
    throw Error("'" + item + "' gives more than " + std::to_string(kMaxAxisValues) + " values");
}

// A count "[N]": 1 to kMaxAxisValues.
std::size_t count_of(const std::string& text, const std::string& item) {
  const auto count = to_whole(text);
  if (!count || *count < 1) throw Error("'" + item + "': the count in [...] must be 1 or more");
  check_length(static_cast<std::size_t>(*count), item);
  return static_cast<std::size_t>(*count);
}

// How many values a range from `start` to `end` in steps of `step` holds; throws for a
// step of 0 or one that leads away from the end.
std::size_t steps_within(double start, double end, double step, const std::string& item) {
  if (step == 0 || !std::isfinite(step)) throw Error("'" + item + "': the step must not be 0");
  const double spans = (end - start) / step;
  if (spans < -1e-9) throw Error("'" + item + "': the step leads away from the end of the range");
  if (!std::isfinite(spans) || spans + 1 > kMaxAxisValues)
    throw Error("'" + item + "' gives more than " + std::to_string(kMaxAxisValues) + " values");
  return static_cast<std::size_t>(std::floor(spans + 1e-9)) + 1;
}

// `n` values evenly spread from `first` to `last`, both included (numpy's linspace).
std::vector<double> spread(double first, double last, std::size_t n) {
  std::vector<double> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(n == 1 ? first : first + (last - first) * static_cast<double>(i) / static_cast<double>(n - 1));
  return out;
}

void expand_whole(const std::string& item, std::vector<int64_t>& out) {
  const auto range = parse_range(item, false);
  if (!range) {
    const auto value = to_whole(item);
    if (!value) throw Error("'" + item + "' is not a whole number" + kRanges);
    out.push_back(*value);
    return;
  }
  const auto start = to_whole(range->start);
  const auto end = to_whole(range->end);
  if (!start || !end) throw Error("'" + item + "': the numbers are too large");
  // Counted in double: the spans of 64-bit numbers do not overflow there.
  const double first = static_cast<double>(*start);
  const double last = static_cast<double>(*end);
  if (range->count) {
    for (const double value : spread(first, last, count_of(*range->count, item)))
      out.push_back(static_cast<int64_t>(std::trunc(value)));  // Python's int(): toward zero
    return;
  }
  int64_t step = *start <= *end ? 1 : -1;
  if (range->step) {
    const auto given = to_whole(*range->step);
    if (!given) throw Error("'" + item + "': the step must be a whole number");
    step = *given;
  }
  const std::size_t n = steps_within(first, last, static_cast<double>(step), item);
  for (std::size_t i = 0; i < n; ++i) out.push_back(*start + static_cast<int64_t>(i) * step);
}

void expand_number(const std::string& item, std::vector<double>& out) {
  const auto range = parse_range(item, true);
  if (!range) {
    const auto value = to_number(item);
    if (!value) throw Error("'" + item + "' is not a number" + kRanges);
    out.push_back(round8(*value));
    return;
  }
  const auto start = to_number(range->start);
  const auto end = to_number(range->end);
  if (!start || !end) throw Error("'" + item + "' is not a number" + kRanges);
  if (range->count) {
    for (const double value : spread(*start, *end, count_of(*range->count, item))) out.push_back(round8(value));
    return;
  }
  double step = *start <= *end ? 1.0 : -1.0;
  if (range->step) {
    const auto given = to_number(*range->step);
    if (!given) throw Error("'" + item + "': the step must be a number");
    step = *given;
  }
  const std::size_t n = steps_within(*start, *end, step, item);
  // start + i·step rather than a running sum: no error piles up over the range.
  for (std::size_t i = 0; i < n; ++i) out.push_back(round8(*start + static_cast<double>(i) * step));
}

// Every item of `text` expanded in turn, the list kept within kMaxAxisValues.
template <typename T, typename Expand>
std::vector<T> expand_all(const std::string& text, Expand expand) {
  std::vector<T> out;
  for (const std::string& item : split_axis_values(text)) {
    expand(item, out);
    check_length(out.size(), text);
  }
  return out;
}

}  // namespace

std::vector<std::string> split_axis_values(const std::string& text) {
  std::vector<std::string> items;
  std::string current;
  bool quoted = false;
  bool was_quoted = false;  // the item had quotes: its spaces inside them are kept
  const auto finish = [&] {
    std::string item = was_quoted ? current : trimmed(current);
    if (!item.empty()) items.push_back(std::move(item));
    current.clear();
    was_quoted = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        current += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        current += c;
      }
    } else if (c == '"' && trimmed(current).empty()) {
      // A quote opens a quoted item only at its start, as CSV has it.
      current.clear();
      quoted = true;
      was_quoted = true;
    } else if (c == ',') {
      finish();
    } else if (!(was_quoted && is_space(c))) {  // spaces after the closing quote are dropped
      current += c;
    }
  }
  if (quoted) throw Error("a quote in '" + text + "' is not closed");
  finish();
  return items;
}

std::vector<int64_t> whole_number_values(const std::string& text) { return expand_all<int64_t>(text, expand_whole); }

std::vector<double> number_values(const std::string& text) { return expand_all<double>(text, expand_number); }

std::string format_axis_number(double value) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.12g", round8(value));
  return buffer;
}

}  // namespace latent::pipeline
