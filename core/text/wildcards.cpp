// The wildcard syntax and file layout of the Dynamic Prompts extension for the web UI
// (adieyal/sd-dynamic-prompts: `__name__`, `name.txt` with one option per line, `#` comments,
// nested folders). Its variants (`{a|b}`), weights and globs are not read here.
#include "core/text/wildcards.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <map>
#include <memory>

#include "core/text/prompt_parser.h"
#include "core/text/text_chars.h"
#include "core/util/error.h"

namespace latent::text {
namespace {

// A wildcard's name may not hold white space or the prompt syntax's characters, so that
// `__` in ordinary text is left alone.
bool is_name_char(unsigned char c) {
  if (is_space(c) || c < 0x20 || c == 0x7f) return false;
  for (const char special : std::string(",()[]{}|:<>\"'\\;"))
    if (c == static_cast<unsigned char>(special)) return false;
  return true;
}

constexpr std::size_t kMaxNameBytes = 200;

// The `__name__` at `pos` (which holds "__"): the name and the position after it, or nothing.
bool match_wildcard(const std::string& text, std::size_t pos, std::string& name, std::size_t& end) {
  std::size_t i = pos + 2;
  while (i < text.size() && i - pos - 2 <= kMaxNameBytes) {
    if (text.compare(i, 2, "__") == 0 && i > pos + 2) {
      name = text.substr(pos + 2, i - pos - 2);
      end = i + 2;
      return true;
    }
    if (!is_name_char(static_cast<unsigned char>(text[i]))) return false;
    ++i;
  }
  return false;
}

class Expander {
 public:
  Expander(const WildcardSource& source, std::mt19937_64& generator) : source_(source), generator_(generator) {}

  std::string expand(const std::string& text, std::vector<std::string>& chain) {
    std::string out;
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t found = text.find("__", pos);
      if (found == std::string::npos) break;
      std::string name;
      std::size_t end = 0;
      if (!match_wildcard(text, found, name, end)) {
        out.append(text, pos, found + 1 - pos);  // not a wildcard: go on from the next '_'
        pos = found + 1;
        continue;
      }
      out.append(text, pos, found - pos);
      chain.push_back("__" + name + "__");
      if (static_cast<int>(chain.size()) > kMaxWildcardDepth) {
        std::string path;
        for (const auto& link : chain) path += (path.empty() ? "" : " → ") + link;
        throw Error("wildcards nested more than " + std::to_string(kMaxWildcardDepth) + " deep (" + path +
                    "): does one name itself?");
      }
      const auto& options = source_(name);
      if (options.empty()) throw Error("the wildcard __" + name + "__ has no options");
      out += expand(options[draw_index(generator_, options.size())], chain);
      chain.pop_back();
      if (out.size() > kMaxPromptBytes)
        throw Error("the prompt grows past " + std::to_string(kMaxPromptBytes) + " bytes as its wildcards expand");
      pos = end;
    }
    out.append(text, pos, std::string::npos);
    return out;
  }

 private:
  const WildcardSource& source_;
  std::mt19937_64& generator_;
};

}  // namespace

std::vector<std::string> parse_wildcard_options(const std::string& text) {
  std::vector<std::string> options;
  std::size_t pos = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = trimmed(text.substr(pos, end - pos));
    if (!line.empty() && line[0] != '#') options.push_back(line);
    pos = end + 1;
  }
  return options;
}

WildcardSource wildcard_folder(const std::string& folder) {
  const QDir dir(QString::fromStdString(folder));
  if (folder.empty() || !dir.exists()) throw Error("the wildcards folder '" + folder + "' does not exist");
  auto files = std::make_shared<std::map<std::string, std::vector<std::string>>>();
  return [dir, folder, files](const std::string& name) -> const std::vector<std::string>& {
    if (const auto it = files->find(name); it != files->end()) return it->second;
    const QString relative = QString::fromStdString(name);
    const QStringList parts = relative.split('/');
    for (const QString& part : parts)
      if (part.isEmpty() || part == "." || part == "..")
        throw Error("the wildcard __" + name + "__ is not a file name inside the wildcards folder");
    const QString path = dir.filePath(relative + ".txt");
    const QFileInfo info(path);
    if (!info.isFile())
      throw Error("the wildcard __" + name + "__ has no file '" + name + ".txt' in the wildcards folder '" + folder +
                  "'");
    if (static_cast<std::size_t>(info.size()) > kMaxWildcardFileBytes)
      throw Error("the wildcard file '" + path.toStdString() + "' is larger than " +
                  std::to_string(kMaxWildcardFileBytes >> 20) + " MiB");
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
      throw Error("cannot read the wildcard file '" + path.toStdString() + "': " + file.errorString().toStdString());
    const QByteArray bytes = file.read(static_cast<qint64>(kMaxWildcardFileBytes) + 1);
    auto options = parse_wildcard_options(bytes.toStdString());
    if (options.empty())
      throw Error("the wildcard file '" + path.toStdString() + "' has no options (one per line; '#' starts a comment)");
    return files->emplace(name, std::move(options)).first->second;
  };
}

bool has_wildcards(const std::string& text) {
  for (std::size_t pos = text.find("__"); pos != std::string::npos; pos = text.find("__", pos + 1)) {
    std::string name;
    std::size_t end = 0;
    if (match_wildcard(text, pos, name, end)) return true;
  }
  return false;
}

std::string expand_wildcards(const std::string& text, const WildcardSource& source, std::mt19937_64& generator) {
  std::vector<std::string> chain;
  return Expander(source, generator).expand(text, chain);
}

std::size_t draw_index(std::mt19937_64& generator, std::size_t count) {
  if (count == 0) throw Error("nothing to choose from");
  const uint64_t n = count;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // a multiple of n: every index as likely
  uint64_t value = generator();
  while (value >= limit) value = generator();
  return static_cast<std::size_t>(value % n);
}

}  // namespace latent::text
