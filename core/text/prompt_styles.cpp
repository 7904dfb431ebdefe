// Reference: AUTOMATIC1111 stable-diffusion-webui modules/styles.py (merge_prompts,
// StyleDatabase.load_from_csv and save_styles) and Python's csv module (excel dialect).
#include "core/text/prompt_styles.h"

#include <QFile>
#include <QFileInfo>

#include <algorithm>

#include "core/image/png_metadata.h"
#include "core/text/text_chars.h"
#include "core/util/error.h"

namespace latent::text {
namespace {

using Row = std::vector<std::string>;

// Python's csv reader in the excel dialect with skipinitialspace: rows of fields, a row with
// no fields for a blank line (DictReader skips those).
std::vector<Row> read_csv(const std::string& text) {
  std::vector<Row> rows;
  Row row;
  std::string field;
  enum class State { start_record, start_field, in_field, in_quoted, quote_in_quoted } state = State::start_record;
  std::size_t i = 0;
  const std::size_t n = text.size();
  const auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    state = State::start_field;
  };
  const auto end_record = [&] {
    rows.push_back(std::move(row));
    row.clear();
    state = State::start_record;
  };
  // At a line break: the field and the row end; a CRLF is one break.
  const auto end_line = [&] {
    end_field();
    if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
    end_record();
  };
  const auto is_break = [](char c) { return c == '\n' || c == '\r'; };
  while (i < n) {
    const char c = text[i];
    switch (state) {
      case State::start_record:
        if (is_break(c)) {  // a blank line: a row without fields
          if (c == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
          rows.emplace_back();
          break;
        }
        state = State::start_field;
        [[fallthrough]];
      case State::start_field:
        if (c == '"') {
          state = State::in_quoted;
        } else if (c == ',') {
          end_field();
        } else if (is_break(c)) {
          end_line();
        } else if (c != ' ') {  // skipinitialspace
          field += c;
          state = State::in_field;
        }
        break;
      case State::in_field:
        if (c == ',')
          end_field();
        else if (is_break(c))
          end_line();
        else
          field += c;
        break;
      case State::in_quoted:
        if (c == '"')
          state = State::quote_in_quoted;
        else
          field += c;
        break;
      case State::quote_in_quoted:
        if (c == '"') {  // "" is a quote
          field += c;
          state = State::in_quoted;
        } else if (c == ',') {
          end_field();
        } else if (is_break(c)) {
          end_line();
        } else {  // not strict: text after the closing quote joins the field
          field += c;
          state = State::in_field;
        }
        break;
    }
    ++i;
  }
  if (state != State::start_record) {
    end_field();
    end_record();
  }
  return rows;
}

bool needs_quotes(const std::string& field) {
  // Beyond Python's QUOTE_MINIMAL: a leading space, which skipinitialspace would drop.
  return field.find_first_of(",\"\r\n") != std::string::npos || (!field.empty() && field[0] == ' ');
}

std::string csv_field(const std::string& field) {
  if (!needs_quotes(field)) return field;
  std::string out = "\"";
  for (const char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::vector<PromptStyle> parse_styles_csv(const std::string& text, const std::string& source) {
  const bool bom = text.compare(0, 3, "\xEF\xBB\xBF") == 0;
  const std::vector<Row> rows = read_csv(bom ? text.substr(3) : text);
  std::vector<PromptStyle> styles;
  // DictReader: the first row that has fields names the columns.
  std::size_t first = 0;
  while (first < rows.size() && rows[first].empty()) ++first;
  if (first == rows.size()) return styles;
  const Row& header = rows[first];
  const auto column = [&header](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  };
  const int name_column = column("name");
  int prompt_column = column("prompt");
  if (prompt_column < 0) prompt_column = column("text");  // the old two-column files
  const int negative_column = column("negative_prompt");
  if (name_column < 0 || prompt_column < 0)
    throw Error(source + " is not a styles file: its first row must name the columns name, prompt and "
                         "negative_prompt");
  for (std::size_t r = first + 1; r < rows.size(); ++r) {
    const Row& row = rows[r];
    if (row.empty()) continue;
    const auto cell = [&row](int index) {
      return index >= 0 && static_cast<std::size_t>(index) < row.size() ? row[static_cast<std::size_t>(index)]
                                                                          : std::string();
    };
    PromptStyle style{cell(name_column), cell(prompt_column), cell(negative_column)};
    if (style.name.empty() || style.name[0] == '#') continue;
    const auto same = std::find_if(styles.begin(), styles.end(),
                                   [&style](const PromptStyle& s) { return s.name == style.name; });
    if (same != styles.end())
      *same = std::move(style);
    else
      styles.push_back(std::move(style));
  }
  return styles;
}

std::string styles_csv(const std::vector<PromptStyle>& styles) {
  std::string out = "\xEF\xBB\xBF" "name,prompt,negative_prompt\r\n";
  for (const auto& style : styles)
    out += csv_field(style.name) + "," + csv_field(style.prompt) + "," + csv_field(style.negative_prompt) + "\r\n";
  return out;
}

std::vector<PromptStyle> read_styles_file(const std::string& path) {
  const QString name = QString::fromStdString(path);
  const QFileInfo info(name);
  if (!info.exists()) return {};
  if (!info.isFile()) throw Error("the styles file '" + path + "' is not a file");
  if (static_cast<std::size_t>(info.size()) > kMaxStylesFileBytes)
    throw Error("the styles file '" + path + "' is larger than " + std::to_string(kMaxStylesFileBytes >> 20) +
                " MiB");
  QFile file(name);
  if (!file.open(QIODevice::ReadOnly))
    throw Error("cannot read the styles file '" + path + "': " + file.errorString().toStdString());
  return parse_styles_csv(file.read(static_cast<qint64>(kMaxStylesFileBytes) + 1).toStdString(),
                          "the styles file '" + path + "'");
}

void write_styles_file(const std::string& path, const std::vector<PromptStyle>& styles) {
  const std::string text = styles_csv(styles);
  image::write_file_atomically(path, std::vector<unsigned char>(text.begin(), text.end()));
}

std::string merge_style(const std::string& style, const std::string& prompt) {
  const std::string placeholder = "{prompt}";
  if (style.find(placeholder) != std::string::npos) {
    std::string out;
    std::size_t pos = 0;
    for (std::size_t found = style.find(placeholder); found != std::string::npos;
         found = style.find(placeholder, pos)) {
      out.append(style, pos, found - pos);
      out += prompt;
      pos = found + placeholder.size();
    }
    return out + style.substr(pos);
  }
  const std::string a = trimmed(prompt);
  const std::string b = trimmed(style);
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + ", " + b;
}

StyledPrompts apply_styles(const std::string& prompt, const std::string& negative_prompt,
                           const std::vector<PromptStyle>& styles, const std::vector<std::string>& names) {
  StyledPrompts out{prompt, negative_prompt};
  for (const auto& name : names) {
    const auto style =
        std::find_if(styles.begin(), styles.end(), [&name](const PromptStyle& s) { return s.name == name; });
    if (style == styles.end()) {
      std::string known;
      for (const auto& s : styles) known += (known.empty() ? "" : ", ") + s.name;
      throw Error("there is no style named '" + name + "'" +
                  (known.empty() ? std::string(" (the styles file has none)") : " (the styles are: " + known + ")"));
    }
    out.prompt = merge_style(style->prompt, out.prompt);
    out.negative_prompt = merge_style(style->negative_prompt, out.negative_prompt);
  }
  return out;
}

}  // namespace latent::text
