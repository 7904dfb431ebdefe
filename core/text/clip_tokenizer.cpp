// Port of transformers' slow CLIPTokenizer (models/clip/tokenization_clip.py, 4.48).
#include "core/text/clip_tokenizer.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QString>
#include <array>
#include <cmath>
#include <mutex>
#include <queue>
#include <unordered_map>
#include <utility>

#include "core/util/error.h"

namespace latent::text {

namespace {

// transformers reads merges.txt as `.strip().split("\n")[1 : 49152 - 256 - 2 + 1]`: the
// header line is skipped and at most 48,894 merges are used, whatever the file holds.
constexpr std::size_t kMaxMergeLine = 49152 - 256 - 2 + 1;
constexpr std::size_t kMaxCachedWordBytes = 256;
constexpr std::size_t kMaxCacheEntries = 20000;
const std::string kEndOfWord = "</w>";

QString q(const std::string& s) { return QString::fromStdString(s); }

QByteArray read_file(const std::string& path, const char* what) {
  QFile file(q(path));
  if (!QFileInfo(file).isFile())
    throw Error("CLIP tokenizer: " + std::string(what) + " '" + path + "' not found");
  if (!file.open(QIODevice::ReadOnly))
    throw Error("CLIP tokenizer: cannot read " + std::string(what) + " '" + path +
                "': " + file.errorString().toStdString());
  return file.readAll();
}

QJsonObject read_json_object(const std::string& path, const char* what) {
  const QByteArray bytes = read_file(path, what);
  QJsonParseError err;
  const QJsonDocument doc = QJsonDocument::fromJson(bytes, &err);
  if (err.error != QJsonParseError::NoError)
    throw Error("CLIP tokenizer: " + std::string(what) + " '" + path + "' is not valid JSON (" +
                err.errorString().toStdString() + " at byte " + std::to_string(err.offset) + ")");
  if (!doc.isObject())
    throw Error("CLIP tokenizer: " + std::string(what) + " '" + path + "' must hold a JSON object");
  return doc.object();
}

// A special token entry is a string or, in newer and legacy configs alike, an object
// whose "content" is the string.
void read_special_tokens(const std::string& path, SpecialTokens& special) {
  const QJsonObject obj = read_json_object(path, "tokenizer configuration");
  const std::pair<const char*, std::string*> keys[] = {{"bos_token", &special.bos},
                                                       {"eos_token", &special.eos},
                                                       {"unk_token", &special.unk},
                                                       {"pad_token", &special.pad}};
  for (const auto& [key, target] : keys) {
    const QJsonValue value = obj.value(QLatin1String(key));
    if (value.isString()) {
      *target = value.toString().toStdString();
    } else if (value.isObject() && value.toObject().value("content").isString()) {
      *target = value.toObject().value("content").toString().toStdString();
    } else if (!value.isUndefined() && !value.isNull()) {
      throw Error("CLIP tokenizer: '" + path + "': \"" + key +
                  "\" must be a string or an object with a \"content\" string");
    }
  }
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::vector<std::string> split_ascii_whitespace(const std::string& line) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_ascii_space(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_ascii_space(line[i])) ++i;
    if (i > start) parts.push_back(line.substr(start, i - start));
  }
  return parts;
}

std::string shorten(const std::string& s, std::size_t n = 60) {
  return s.size() <= n ? s : s.substr(0, n) + "...";
}

// GPT-2's reversible byte → printable character map.
std::array<char32_t, 256> make_byte_map() {
  std::array<char32_t, 256> map{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable =
        (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    map[std::size_t(b)] = printable ? char32_t(b) : next++;
  }
  return map;
}

char32_t ascii_fold(char32_t c) {
  if (c >= U'A' && c <= U'Z') return c + 32;
  if (c == 0x017F) return U's';  // LATIN SMALL LETTER LONG S: IGNORECASE matches it to 's'
  return c;
}

bool matches_at(const std::u32string& text, std::size_t pos, const char32_t* literal) {
  for (std::size_t k = 0; literal[k]; ++k)
    if (pos + k >= text.size() || ascii_fold(text[pos + k]) != literal[k]) return false;
  return true;
}

bool is_letter(char32_t c) { return c <= 0x10FFFF && QChar::isLetter(c); }
bool is_number(char32_t c) { return c <= 0x10FFFF && QChar::isNumber(c); }

struct PreToken {
  std::size_t begin;
  std::size_t length;
  bool verbatim;  // a special token string, which bpe() leaves whole
};

// re.findall(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|
// [^\s\p{L}\p{N}]+", text, re.IGNORECASE); alternatives are tried in order at each position.
std::vector<PreToken> pre_tokenize(const std::u32string& text) {
  static const char32_t* const kSpecials[] = {U"<|startoftext|>", U"<|endoftext|>"};
  static const char32_t* const kContractions[] = {U"'s", U"'t",  U"'re", U"'ve",
                                                  U"'m", U"'ll", U"'d"};
  std::vector<PreToken> out;
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const char32_t c = text[i];
    bool matched = false;
    if (c == U'<') {
      for (const char32_t* special : kSpecials) {
        if (matches_at(text, i, special)) {
          // Only the exact spelling hits bpe()'s preset cache entry; a case-folded match
          // ("<|ſtartoftext|>") is still one pre-token but goes through BPE.
          const std::size_t len = std::char_traits<char32_t>::length(special);
          out.push_back({i, len, text.compare(i, len, special) == 0});
          i += len;
          matched = true;
          break;
        }
      }
    } else if (c == U'\'') {
      for (const char32_t* contraction : kContractions) {
        if (matches_at(text, i, contraction)) {
          const std::size_t len = std::char_traits<char32_t>::length(contraction);
          out.push_back({i, len, false});
          i += len;
          matched = true;
          break;
        }
      }
    }
    if (matched) continue;
    std::size_t j = i + 1;
    if (is_letter(c)) {
      while (j < n && is_letter(text[j])) ++j;
    } else if (is_number(c)) {
      // one digit per token
    } else if (!is_space(c)) {
      while (j < n && !is_space(text[j]) && !is_letter(text[j]) && !is_number(text[j])) ++j;
    } else {
      i = j;
      continue;
    }
    out.push_back({i, j - i, false});
    i = j;
  }
  return out;
}

}  // namespace

struct ClipTokenizer::Data {
  std::unordered_map<std::string, int64_t> encoder;
  std::unordered_map<int64_t, std::string> decoder;
  std::unordered_map<std::string, int> ranks;  // "left right" → merge rank
  std::size_t merge_count = 0;
  SpecialTokens special;
  int64_t bos = 0, eos = 0, unk = 0, pad = 0;
  std::vector<std::pair<std::string, int64_t>> split_tokens;  // added tokens, split out first
  std::array<std::string, 256> byte_symbol;                   // UTF-8 of each byte's character
  std::unordered_map<char32_t, unsigned char> symbol_byte;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache;

  int rank_of(const std::string& left, const std::string& right, std::string& key) const {
    key.assign(left).append(1, ' ').append(right);
    const auto it = ranks.find(key);
    return it == ranks.end() ? -1 : it->second;
  }

  int64_t id_of(const std::string& token) const {
    const auto it = encoder.find(token);
    return it == encoder.end() ? unk : it->second;
  }

  std::vector<std::string> bpe(const std::string& word) const;
  std::vector<int64_t> word_ids(const std::string& word) const;
};

// Lowest-rank pair first, leftmost first among equals. A heap over adjacent pairs gives
// the result of transformers' "merge every occurrence of the best pair, repeat" loop,
// because a merge can only create pairs of higher rank, in O(n log n) instead of O(n²).
std::vector<std::string> ClipTokenizer::Data::bpe(const std::string& word) const {
  struct Symbol {
    std::string text;
    int prev;
    int next;
  };
  std::vector<Symbol> symbols;
  for (std::size_t i = 0; i < word.size();) {
    std::size_t len = 1;
    const auto lead = static_cast<unsigned char>(word[i]);
    if (lead >= 0xF0)
      len = 4;
    else if (lead >= 0xE0)
      len = 3;
    else if (lead >= 0xC0)
      len = 2;
    len = std::min(len, word.size() - i);
    symbols.push_back({word.substr(i, len), int(symbols.size()) - 1, int(symbols.size()) + 1});
    i += len;
  }
  if (symbols.empty()) return {};
  symbols.back().text += kEndOfWord;
  symbols.back().next = -1;
  if (symbols.size() == 1) return {symbols[0].text};

  struct Candidate {
    int rank;
    int left;
    int right;
    std::size_t left_size;
    std::size_t right_size;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  std::string key;
  auto push_pair = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const int rank =
        rank_of(symbols[std::size_t(left)].text, symbols[std::size_t(right)].text, key);
    if (rank >= 0)
      queue.push({rank, left, right, symbols[std::size_t(left)].text.size(),
                  symbols[std::size_t(right)].text.size()});
  };
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i) push_pair(int(i), int(i + 1));

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[std::size_t(top.left)];
    Symbol& right = symbols[std::size_t(top.right)];
    // Skip pairs whose symbols have been merged away or grown since they were queued.
    if (left.text.empty() || right.text.empty() || left.next != top.right ||
        left.text.size() != top.left_size || right.text.size() != top.right_size)
      continue;
    left.text += right.text;
    right.text.clear();
    left.next = right.next;
    if (right.next >= 0) symbols[std::size_t(right.next)].prev = top.left;
    push_pair(left.prev, top.left);
    push_pair(top.left, left.next);
  }

  std::vector<std::string> out;
  for (int i = 0; i >= 0; i = symbols[std::size_t(i)].next)
    out.push_back(std::move(symbols[std::size_t(i)].text));
  return out;
}

std::vector<int64_t> ClipTokenizer::Data::word_ids(const std::string& word) const {
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    const auto it = cache.find(word);
    if (it != cache.end()) return it->second;
  }
  std::vector<int64_t> ids;
  for (const std::string& token : bpe(word)) ids.push_back(id_of(token));
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() >= kMaxCacheEntries) cache.clear();
    cache.emplace(word, ids);
  }
  return ids;
}

ClipTokenizer::ClipTokenizer(const std::string& vocab_json_path, const std::string& merges_txt_path,
                             SpecialTokens special)
    : data_(std::make_shared<Data>()) {
  Data& d = *data_;
  d.special = std::move(special);

  const QJsonObject vocab = read_json_object(vocab_json_path, "vocabulary");
  d.encoder.reserve(std::size_t(vocab.size()));
  d.decoder.reserve(std::size_t(vocab.size()));
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const QJsonValue value = it.value();
    const double id = value.toDouble(-1.0);
    if (!value.isDouble() || id < 0 || id > 2147483647.0 || std::floor(id) != id)
      throw Error("CLIP tokenizer: vocabulary '" + vocab_json_path + "': token '" +
                  shorten(it.key().toStdString()) + "' must map to a non-negative integer id");
    const std::string token = it.key().toStdString();
    d.encoder[token] = int64_t(id);
    d.decoder[int64_t(id)] = token;
  }
  if (d.encoder.empty())
    throw Error("CLIP tokenizer: vocabulary '" + vocab_json_path + "' is empty");
  const std::pair<const std::string*, int64_t*> specials[] = {{&d.special.bos, &d.bos},
                                                              {&d.special.eos, &d.eos},
                                                              {&d.special.unk, &d.unk},
                                                              {&d.special.pad, &d.pad}};
  for (const auto& [text, id] : specials) {
    const auto it = d.encoder.find(*text);
    if (text->empty() || it == d.encoder.end())
      throw Error("CLIP tokenizer: vocabulary '" + vocab_json_path + "' lacks the special token '" +
                  *text + "'");
    *id = it->second;
    // PreTrainedTokenizer adds every special token to its trie of added tokens.
    bool seen = false;
    for (const auto& entry : d.split_tokens) seen = seen || entry.first == *text;
    if (!seen) d.split_tokens.emplace_back(*text, it->second);
  }

  const QByteArray merges_bytes = read_file(merges_txt_path, "merges file");
  std::string merges(merges_bytes.constData(), std::size_t(merges_bytes.size()));
  std::size_t begin = 0;
  if (merges.compare(0, 3, "\xEF\xBB\xBF") == 0) begin = 3;  // UTF-8 byte order mark
  while (begin < merges.size() && is_ascii_space(merges[begin])) ++begin;
  std::size_t end = merges.size();
  while (end > begin && is_ascii_space(merges[end - 1])) --end;
  if (merges.compare(begin, 8, "#version") != 0)
    throw Error("CLIP tokenizer: merges file '" + merges_txt_path +
                "' does not start with a '#version' header line");
  std::size_t line_start = merges.find('\n', begin);
  for (std::size_t line_no = 1;
       line_no < kMaxMergeLine && line_start != std::string::npos && line_start < end; ++line_no) {
    ++line_start;
    std::size_t line_end = merges.find('\n', line_start);
    if (line_end == std::string::npos || line_end > end) line_end = end;
    const std::vector<std::string> parts =
        split_ascii_whitespace(merges.substr(line_start, line_end - line_start));
    if (parts.size() != 2)
      throw Error("CLIP tokenizer: merges file '" + merges_txt_path + "' line " +
                  std::to_string(line_no + 1) +
                  ": expected two symbols separated by a space, got '" +
                  shorten(merges.substr(line_start, line_end - line_start)) + "'");
    d.ranks[parts[0] + " " + parts[1]] = int(line_no - 1);  // a repeated pair keeps its last rank
    ++d.merge_count;
    line_start = line_end < end ? line_end : std::string::npos;
  }

  const auto byte_map = make_byte_map();
  for (std::size_t b = 0; b < 256; ++b) {
    append_utf8(byte_map[b], d.byte_symbol[b]);
    d.symbol_byte[byte_map[b]] = static_cast<unsigned char>(b);
  }
}

ClipTokenizer ClipTokenizer::from_folder(const std::string& dir) {
  const QDir folder(q(dir));
  if (!folder.exists()) throw Error("CLIP tokenizer: folder '" + dir + "' not found");
  auto path = [&](const char* name) { return folder.filePath(QLatin1String(name)).toStdString(); };
  // transformers reads tokenizer_config.json first; special_tokens_map.json overrides it.
  SpecialTokens special;
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"})
    if (QFileInfo::exists(q(path(name)))) read_special_tokens(path(name), special);
  return ClipTokenizer(path("vocab.json"), path("merges.txt"), std::move(special));
}

void ClipTokenizer::encode_into(const std::string& utf8_text, std::vector<int64_t>* ids,
                                std::vector<std::string>* tokens) const {
  const Data& d = *data_;
  auto encode_piece = [&](const std::string& piece) {
    const std::u32string cleaned = clean_text(utf8_to_u32(piece), cleanup_);
    std::string word;
    for (const PreToken& pre : pre_tokenize(cleaned)) {
      word.clear();
      if (pre.verbatim) {
        for (std::size_t k = 0; k < pre.length; ++k) word.push_back(char(cleaned[pre.begin + k]));
        if (ids) ids->push_back(d.id_of(word));
        if (tokens) tokens->push_back(word);
        continue;
      }
      std::string utf8;
      for (std::size_t k = 0; k < pre.length; ++k) append_utf8(cleaned[pre.begin + k], utf8);
      for (unsigned char byte : utf8) word += d.byte_symbol[byte];
      if (ids) {
        const std::vector<int64_t> word_ids = d.word_ids(word);
        ids->insert(ids->end(), word_ids.begin(), word_ids.end());
      }
      if (tokens) {
        std::vector<std::string> symbols = d.bpe(word);
        tokens->insert(tokens->end(), symbols.begin(), symbols.end());
      }
    }
  };

  // Added tokens are split out of the raw text first (leftmost, then longest), as
  // PreTrainedTokenizer.tokenize does with its trie; the pieces between are encoded alone.
  std::size_t pos = 0;
  while (pos < utf8_text.size()) {
    std::size_t best = std::string::npos;
    const std::pair<std::string, int64_t>* found = nullptr;
    for (const auto& entry : d.split_tokens) {
      const std::size_t at = utf8_text.find(entry.first, pos);
      if (at == std::string::npos) continue;
      if (at < best || (at == best && entry.first.size() > found->first.size())) {
        best = at;
        found = &entry;
      }
    }
    const std::size_t piece_end = found ? best : utf8_text.size();
    if (piece_end > pos) encode_piece(utf8_text.substr(pos, piece_end - pos));
    if (!found) break;
    if (ids) ids->push_back(found->second);
    if (tokens) tokens->push_back(found->first);
    pos = best + found->first.size();
  }
}

std::vector<int64_t> ClipTokenizer::encode(const std::string& utf8_text) const {
  std::vector<int64_t> ids;
  encode_into(utf8_text, &ids, nullptr);
  return ids;
}

std::vector<std::string> ClipTokenizer::tokenize(const std::string& utf8_text) const {
  std::vector<std::string> tokens;
  encode_into(utf8_text, nullptr, &tokens);
  return tokens;
}

std::vector<int64_t> ClipTokenizer::encode_padded(const std::string& utf8_text,
                                                  int max_length) const {
  if (max_length < 2)
    throw Error("CLIP tokenizer: max_length " + std::to_string(max_length) +
                " leaves no room for the start and end tokens (expected at least 2)");
  const std::vector<int64_t> ids = encode(utf8_text);
  std::vector<int64_t> out;
  out.reserve(std::size_t(max_length));
  out.push_back(data_->bos);
  const std::size_t keep = std::min(ids.size(), std::size_t(max_length - 2));
  out.insert(out.end(), ids.begin(), ids.begin() + std::ptrdiff_t(keep));
  out.push_back(data_->eos);
  out.resize(std::size_t(max_length), data_->pad);
  return out;
}

std::string ClipTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  const Data& d = *data_;
  std::string joined;
  for (int64_t id : ids) {
    if (skip_special_tokens && (id == d.bos || id == d.eos || id == d.unk || id == d.pad)) continue;
    const auto it = d.decoder.find(id);
    if (it != d.decoder.end()) joined += it->second;
  }
  // Byte-level symbols back to bytes; characters outside the map are kept as they are.
  std::string bytes;
  for (char32_t c : utf8_to_u32(joined)) {
    const auto it = d.symbol_byte.find(c);
    if (it != d.symbol_byte.end())
      bytes.push_back(char(it->second));
    else
      append_utf8(c, bytes);
  }
  std::string spaced;
  for (std::size_t i = 0; i < bytes.size();) {
    if (bytes.compare(i, kEndOfWord.size(), kEndOfWord) == 0) {
      spaced.push_back(' ');
      i += kEndOfWord.size();
    } else {
      spaced.push_back(bytes[i++]);
    }
  }
  return QString::fromUtf8(spaced.data(), qsizetype(spaced.size())).trimmed().toStdString();
}

std::string ClipTokenizer::id_to_token(int64_t id) const {
  const auto it = data_->decoder.find(id);
  return it == data_->decoder.end() ? std::string() : it->second;
}

int64_t ClipTokenizer::token_to_id(const std::string& token) const {
  const auto it = data_->encoder.find(token);
  return it == data_->encoder.end() ? -1 : it->second;
}

const SpecialTokens& ClipTokenizer::special_tokens() const { return data_->special; }
int64_t ClipTokenizer::bos_id() const { return data_->bos; }
int64_t ClipTokenizer::eos_id() const { return data_->eos; }
int64_t ClipTokenizer::pad_id() const { return data_->pad; }
int64_t ClipTokenizer::unk_id() const { return data_->unk; }
int64_t ClipTokenizer::vocab_size() const { return int64_t(data_->encoder.size()); }
std::size_t ClipTokenizer::merge_count() const { return data_->merge_count; }

}  // namespace latent::text
