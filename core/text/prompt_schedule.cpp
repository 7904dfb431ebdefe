// Reference: AUTOMATIC1111 stable-diffusion-webui modules/prompt_parser.py
// (schedule_parser's grammar, get_learned_conditioning_prompt_schedules and its doctests).
//
// The web UI parses with lark's Earley parser over this grammar:
//   start:      (prompt | /[][():]/+)*
//   prompt:     (emphasized | scheduled | alternate | plain | WHITESPACE)*
//   emphasized: "(" prompt ")" | "(" prompt ":" prompt ")" | "[" prompt "]"
//   scheduled:  "[" [prompt ":"] prompt ":" [WHITESPACE] NUMBER [WHITESPACE] "]"
//   alternate:  "[" prompt ("|" [prompt])+ "]"
//   plain:      /([^\\\[\]():|]|\\.)+/
// Only `scheduled` and `alternate` change the text; everything else is kept as written. So
// what matters is which `[` open one of those, and whether the prompt parses at all. Where
// the grammar is ambiguous (a bracket read as a construct or as loose characters at the top
// level) the web UI's parser picks the construct, outermost first, as its doctests show
// ("a[b:[c:d:2]:1]e"). This reader does the same by recursive descent: at the top level a
// `[` that opens a whole construct is one, else it is a character; inside a construct every
// bracket must be one. Each `[` is parsed once (memoised), so the work is linear.
#include "core/text/prompt_schedule.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/util/error.h"
#include "core/text/text_chars.h"

namespace latent::text {
namespace {

// A parsed prompt: text runs, emphasis groups (kept as written), and the two constructs.
struct Node {
  enum class Kind { text, group, scheduled, alternate };
  Kind kind = Kind::text;
  std::string text;                     // text
  std::vector<int> items;               // group: its nodes
  int before = -1;                      // scheduled: a group, or -1 for none
  int after = -1;                       // scheduled: a group
  std::string when;                     // scheduled: the number as written
  std::vector<int> options;             // alternate: one group per option
};

class ScheduleParser {
 public:
  explicit ScheduleParser(const std::string& s) : s_(s) {}

  // The top-level group's index, or nothing when the grammar refuses the prompt.
  std::optional<int> parse() {
    const int top = new_group();
    std::size_t pos = 0;
    const std::size_t n = s_.size();
    while (pos < n) {
      const char c = s_[pos];
      if (c == '[') {
        if (const auto bracket = parse_bracket(pos, 1)) {
          push(top, bracket->first);
          pos = bracket->second;
          continue;
        }
        if (refused_) return std::nullopt;
        append_text(top, pos, 1);  // a bracket that opens no construct: a character
        ++pos;
      } else if (c == '|') {
        return std::nullopt;  // only an alternation may hold a '|'
      } else if (c == '\\') {
        if (!escape_ok(pos)) return std::nullopt;
        append_text(top, pos, 2);
        pos += 2;
      } else {
        // ( ) ] : are loose characters here; `(` groups change nothing at this level.
        append_text(top, pos, 1);
        ++pos;
      }
    }
    return top;
  }

  const std::vector<Node>& nodes() const { return nodes_; }

 private:
  using Parsed = std::optional<std::pair<int, std::size_t>>;  // node, position after it

  int new_group() {
    nodes_.push_back({Node::Kind::group, {}, {}, -1, -1, {}, {}});
    return static_cast<int>(nodes_.size()) - 1;
  }

  void push(int group, int node) { nodes_[group].items.push_back(node); }

  // Appends s_[pos, pos + count) to the group's last text node (or a new one).
  void append_text(int group, std::size_t pos, std::size_t count) {
    auto& items = nodes_[group].items;
    if (items.empty() || nodes_[items.back()].kind != Node::Kind::text) {
      nodes_.push_back({Node::Kind::text, {}, {}, -1, -1, {}, {}});
      nodes_[group].items.push_back(static_cast<int>(nodes_.size()) - 1);
    }
    nodes_[nodes_[group].items.back()].text.append(s_, pos, count);
  }

  // `plain` takes `\` with the next character, which Python's `.` says is not a line break.
  bool escape_ok(std::size_t pos) {
    const bool ok = pos + 1 < s_.size() && s_[pos + 1] != '\n';
    if (!ok) refused_ = true;
    return ok;
  }

  // `prompt` from `pos` into `group`: stops before ] : | ) or at the end. Nothing when a
  // bracket in it opens no construct (a prompt cannot hold loose brackets).
  std::optional<std::size_t> parse_prompt(std::size_t pos, int depth, int group) {
    const std::size_t n = s_.size();
    while (pos < n) {
      const char c = s_[pos];
      if (c == ']' || c == ':' || c == '|' || c == ')') return pos;
      if (c == '[') {
        const auto bracket = parse_bracket(pos, depth + 1);
        if (!bracket) return std::nullopt;
        push(group, bracket->first);
        pos = bracket->second;
      } else if (c == '(') {
        const auto end = parse_paren(pos, depth + 1, group);
        if (!end) return std::nullopt;
        pos = *end;
      } else if (c == '\\') {
        if (!escape_ok(pos)) return std::nullopt;
        append_text(group, pos, 2);
        pos += 2;
      } else {
        append_text(group, pos, 1);
        ++pos;
      }
    }
    return pos;
  }

  // `emphasized` with round brackets, kept as written: "(" prompt [":" prompt] ")".
  std::optional<std::size_t> parse_paren(std::size_t pos, int depth, int group) {
    if (depth > kMaxScheduleNesting) {
      refused_ = true;
      return std::nullopt;
    }
    append_text(group, pos, 1);
    auto end = parse_prompt(pos + 1, depth, group);
    if (!end) return std::nullopt;
    if (*end < s_.size() && s_[*end] == ':') {
      append_text(group, *end, 1);
      end = parse_prompt(*end + 1, depth, group);
      if (!end) return std::nullopt;
    }
    if (*end >= s_.size() || s_[*end] != ')') return std::nullopt;
    append_text(group, *end, 1);
    return *end + 1;
  }

  // [WHITESPACE] NUMBER [WHITESPACE] "]" from `pos`: the number's text and the position
  // after the ']'. NUMBER is lark's SIGNED_NUMBER: [+-] then digits with an optional point
  // (or a point and digits) and an optional exponent.
  std::optional<std::pair<std::string, std::size_t>> match_when(std::size_t pos) const {
    const std::size_t n = s_.size();
    while (pos < n && is_space(static_cast<unsigned char>(s_[pos]))) ++pos;
    const std::size_t begin = pos;
    if (pos < n && (s_[pos] == '+' || s_[pos] == '-')) ++pos;
    std::size_t digits = 0;
    while (pos < n && is_digit(s_[pos])) ++pos, ++digits;
    if (pos < n && s_[pos] == '.') {
      ++pos;
      while (pos < n && is_digit(s_[pos])) ++pos, ++digits;
    }
    if (digits == 0) return std::nullopt;
    if (pos < n && (s_[pos] == 'e' || s_[pos] == 'E')) {
      std::size_t e = pos + 1;
      if (e < n && (s_[e] == '+' || s_[e] == '-')) ++e;
      const std::size_t exponent = e;
      while (e < n && is_digit(s_[e])) ++e;
      if (e > exponent) pos = e;
    }
    const std::size_t end = pos;
    while (pos < n && is_space(static_cast<unsigned char>(s_[pos]))) ++pos;
    if (pos >= n || s_[pos] != ']') return std::nullopt;
    return std::make_pair(s_.substr(begin, end - begin), pos + 1);
  }

  Parsed parse_bracket(std::size_t pos, int depth) {
    if (const auto it = memo_.find(pos); it != memo_.end()) return it->second;
    const Parsed parsed = parse_bracket_once(pos, depth);
    memo_[pos] = parsed;
    return parsed;
  }

  Parsed parse_bracket_once(std::size_t pos, int depth) {
    if (depth > kMaxScheduleNesting) {
      refused_ = true;
      return std::nullopt;
    }
    const std::size_t n = s_.size();
    const int first = new_group();
    const auto end = parse_prompt(pos + 1, depth, first);
    if (!end || *end >= n) return std::nullopt;
    const char c = s_[*end];
    if (c == ']') {
      // `emphasized` "[" prompt "]": kept as written.
      const int group = new_group();
      append_text(group, pos, 1);
      nodes_[group].items.push_back(first);
      append_text(group, *end, 1);
      return std::make_pair(group, *end + 1);
    }
    if (c == '|') {
      Node alternate;
      alternate.kind = Node::Kind::alternate;
      alternate.options.push_back(first);
      std::size_t at = *end;
      while (at < n && s_[at] == '|') {
        const int option = new_group();
        const auto option_end = parse_prompt(at + 1, depth, option);
        if (!option_end) return std::nullopt;
        alternate.options.push_back(option);
        at = *option_end;
      }
      if (at >= n || s_[at] != ']') return std::nullopt;
      nodes_.push_back(std::move(alternate));
      return std::make_pair(static_cast<int>(nodes_.size()) - 1, at + 1);
    }
    if (c != ':') return std::nullopt;
    Node scheduled;
    scheduled.kind = Node::Kind::scheduled;
    if (const auto when = match_when(*end + 1)) {  // [to:when]
      scheduled.after = first;
      scheduled.when = when->first;
      nodes_.push_back(std::move(scheduled));
      return std::make_pair(static_cast<int>(nodes_.size()) - 1, when->second);
    }
    const int second = new_group();  // [from:to:when]
    const auto second_end = parse_prompt(*end + 1, depth, second);
    if (!second_end || *second_end >= n || s_[*second_end] != ':') return std::nullopt;
    const auto when = match_when(*second_end + 1);
    if (!when) return std::nullopt;
    scheduled.before = first;
    scheduled.after = second;
    scheduled.when = when->first;
    nodes_.push_back(std::move(scheduled));
    return std::make_pair(static_cast<int>(nodes_.size()) - 1, when->second);
  }

  const std::string& s_;
  std::vector<Node> nodes_;
  std::unordered_map<std::size_t, Parsed> memo_;
  bool refused_ = false;  // the whole prompt is to be read as written
};

// The step a `when` stands for, as collect_steps computes it: min(steps, int(v)) with
// v a fraction of the steps when the number has a point, else a step number.
int when_step(const std::string& when, const ScheduleSteps& s) {
  std::size_t begin = when[0] == '+' || when[0] == '-' ? 1 : 0;
  double v = 0;
  const auto result = std::from_chars(when.data() + begin, when.data() + when.size(), v);
  if (result.ec == std::errc::result_out_of_range) v = HUGE_VAL;  // Python's float() gives inf
  if (when[0] == '-') v = -v;
  const bool fraction = when.find('.') != std::string::npos;
  const bool second_pass = s.first_pass_steps > 0;
  if (fraction)
    v = (v - (second_pass ? 1.0 : 0.0)) * s.steps;
  else
    v = v - (second_pass ? s.first_pass_steps : 0);
  if (!(v < s.steps)) return s.steps;
  if (v <= -1.0) return -1;  // every value below 1 schedules nothing; -1 stands for them
  return static_cast<int>(v);  // truncates toward zero, as Python's int()
}

class Evaluator {
 public:
  Evaluator(const std::vector<Node>& nodes, const ScheduleSteps& steps) : nodes_(nodes), steps_(steps) {
    whens_.resize(nodes.size(), 0);
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].kind == Node::Kind::scheduled) whens_[i] = when_step(nodes[i].when, steps);
  }

  // collect_steps: the run's last step, every `when` from 1 on, and every step when the
  // prompt alternates (each construct of the prompt counted, chosen or not; constructs
  // parsed on the way to a bracket that failed are not part of it).
  std::vector<int> boundaries(int top) const {
    std::set<int> steps{steps_.steps};
    bool alternates = false;
    std::vector<int> stack{top};
    while (!stack.empty()) {
      const int i = stack.back();
      stack.pop_back();
      const Node& n = nodes_[i];
      if (n.kind == Node::Kind::scheduled) {
        if (whens_[i] >= 1) steps.insert(whens_[i]);
        if (n.before >= 0) stack.push_back(n.before);
        stack.push_back(n.after);
      } else if (n.kind == Node::Kind::alternate) {
        alternates = true;
        stack.insert(stack.end(), n.options.begin(), n.options.end());
      } else if (n.kind == Node::Kind::group) {
        stack.insert(stack.end(), n.items.begin(), n.items.end());
      }
    }
    if (alternates)
      for (int step = 1; step <= steps_.steps; ++step) steps.insert(step);
    return {steps.begin(), steps.end()};
  }

  void text_at(int node, int step, std::string& out) const {
    const Node& n = nodes_[node];
    switch (n.kind) {
      case Node::Kind::text:
        out += n.text;
        break;
      case Node::Kind::group:
        for (const int item : n.items) text_at(item, step, out);
        break;
      case Node::Kind::scheduled:
        if (step <= whens_[node]) {
          if (n.before >= 0) text_at(n.before, step, out);
        } else {
          text_at(n.after, step, out);
        }
        break;
      case Node::Kind::alternate:
        text_at(n.options[static_cast<std::size_t>(step - 1) % n.options.size()], step, out);
        break;
    }
  }

 private:
  const std::vector<Node>& nodes_;
  ScheduleSteps steps_;
  std::vector<int> whens_;
};

}  // namespace

std::vector<ScheduledText> prompt_schedule(const std::string& prompt, const ScheduleSteps& steps) {
  if (steps.steps < 1) throw Error("a prompt schedule needs at least one step, not " + std::to_string(steps.steps));
  ScheduleParser parser(prompt);
  const auto top = parser.parse();
  if (!top) return {{steps.steps, prompt}};
  const Evaluator evaluator(parser.nodes(), steps);
  std::vector<ScheduledText> schedule;
  std::size_t bytes = 0;
  for (const int step : evaluator.boundaries(*top)) {
    ScheduledText entry{step, {}};
    evaluator.text_at(*top, step, entry.text);
    bytes += entry.text.size();
    if (bytes > kMaxScheduleBytes)
      throw Error("the prompt's editing and alternation over " + std::to_string(steps.steps) +
                  " steps make more than " + std::to_string(kMaxScheduleBytes >> 20) +
                  " MiB of text; shorten the prompt or use fewer steps");
    schedule.push_back(std::move(entry));
  }
  return schedule;
}

const std::string& text_at_step(const std::vector<ScheduledText>& schedule, int step) {
  if (schedule.empty()) throw Error("an empty prompt schedule has no text");
  for (const auto& entry : schedule)
    if (step <= entry.end_at_step) return entry.text;
  return schedule.back().text;
}

}  // namespace latent::text
