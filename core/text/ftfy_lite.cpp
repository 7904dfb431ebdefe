// Behaviour follows ftfy 6 (rspeer/python-ftfy, fixes.py and chardata.py); only the cheap,
// predictable repairs are reproduced, not its statistical mojibake detector.
#include "core/text/ftfy_lite.h"

#include <QChar>
#include <array>
#include <cstdint>
#include <unordered_map>

#include "core/text/text_cleanup.h"

namespace latent::text {

namespace {

// Windows-1252 bytes 0x80..0x9F; 0 where the code page leaves a byte undefined
// (ftfy's "sloppy" codec keeps those as the C1 control of the same value).
constexpr std::array<char32_t, 32> kCp1252High = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

// HTML entity names for U+00A0..U+00FF, in code point order.
constexpr std::array<const char*, 96> kLatin1Entities = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",
    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn",
    "sup2",   "sup3",   "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",
    "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde",
    "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave",
    "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde",
    "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
    "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",   "eth",
    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
    "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml"};

// Greek letters U+0391..U+03A9 and U+03B1..U+03C9 (U+03A2 is unassigned).
constexpr std::array<const char*, 25> kGreekEntities = {
    "alpha", "beta",   "gamma",   "delta", "epsilon", "zeta",    "eta",  "theta", "iota",
    "kappa", "lambda", "mu",      "nu",    "xi",      "omicron", "pi",   "rho",   "sigmaf",
    "sigma", "tau",    "upsilon", "phi",   "chi",     "psi",     "omega"};

struct NamedEntity {
  const char* name;
  char32_t code_point;
};

constexpr NamedEntity kOtherEntities[] = {
    {"amp", U'&'},      {"AMP", U'&'},      {"lt", U'<'},       {"LT", U'<'},
    {"gt", U'>'},       {"GT", U'>'},       {"quot", U'"'},     {"QUOT", U'"'},
    {"apos", U'\''},    {"COPY", 0xA9},     {"REG", 0xAE},      {"OElig", 0x152},
    {"oelig", 0x153},   {"Scaron", 0x160},  {"scaron", 0x161},  {"Yuml", 0x178},
    {"fnof", 0x192},    {"circ", 0x2C6},    {"tilde", 0x2DC},   {"ensp", 0x2002},
    {"emsp", 0x2003},   {"thinsp", 0x2009}, {"zwnj", 0x200C},   {"zwj", 0x200D},
    {"lrm", 0x200E},    {"rlm", 0x200F},    {"ndash", 0x2013},  {"mdash", 0x2014},
    {"lsquo", 0x2018},  {"rsquo", 0x2019},  {"sbquo", 0x201A},  {"ldquo", 0x201C},
    {"rdquo", 0x201D},  {"bdquo", 0x201E},  {"dagger", 0x2020}, {"Dagger", 0x2021},
    {"bull", 0x2022},   {"hellip", 0x2026}, {"permil", 0x2030}, {"prime", 0x2032},
    {"Prime", 0x2033},  {"lsaquo", 0x2039}, {"rsaquo", 0x203A}, {"oline", 0x203E},
    {"frasl", 0x2044},  {"euro", 0x20AC},   {"trade", 0x2122},  {"TRADE", 0x2122},
    {"larr", 0x2190},   {"uarr", 0x2191},   {"rarr", 0x2192},   {"darr", 0x2193},
    {"harr", 0x2194},   {"minus", 0x2212},  {"infin", 0x221E},  {"asymp", 0x2248},
    {"ne", 0x2260},     {"le", 0x2264},     {"ge", 0x2265},     {"loz", 0x25CA},
    {"spades", 0x2660}, {"clubs", 0x2663},  {"hearts", 0x2665}, {"diams", 0x2666},
    {"star", 0x2606},   {"check", 0x2713},  {"times", 0xD7},    {"divide", 0xF7}};

const std::unordered_map<std::string, char32_t>& entity_table() {
  static const std::unordered_map<std::string, char32_t> table = [] {
    std::unordered_map<std::string, char32_t> t;
    for (std::size_t i = 0; i < kLatin1Entities.size(); ++i)
      t[kLatin1Entities[i]] = 0xA0 + char32_t(i);
    for (std::size_t i = 0; i < kGreekEntities.size(); ++i) {
      const std::string lower = kGreekEntities[i];
      t[lower] = 0x3B1 + char32_t(i);
      if (lower != "sigmaf") {
        std::string upper = lower;
        upper[0] = char(upper[0] - 32);
        t[upper] = 0x391 + char32_t(i);
      }
    }
    for (const auto& e : kOtherEntities) t[e.name] = e.code_point;
    return t;
  }();
  return table;
}

bool is_ascii_alnum(char32_t c) {
  return (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
}

// Python's html.unescape for a numeric reference; `digits` follows "&#".
// Returns false when the reference is not entirely numeric (ftfy then keeps it as is).
bool numeric_reference(const std::u32string& digits, std::u32string& out) {
  bool hex = false;
  std::size_t i = 0;
  if (!digits.empty() && (digits[0] == U'x' || digits[0] == U'X')) {
    hex = true;
    i = 1;
  }
  if (i >= digits.size()) return false;
  uint64_t value = 0;
  for (; i < digits.size(); ++i) {
    const char32_t c = digits[i];
    int d = -1;
    if (c >= U'0' && c <= U'9')
      d = int(c - U'0');
    else if (hex && c >= U'a' && c <= U'f')
      d = int(c - U'a' + 10);
    else if (hex && c >= U'A' && c <= U'F')
      d = int(c - U'A' + 10);
    if (d < 0) return false;
    value = value * (hex ? 16 : 10) + uint64_t(d);
    if (value > 0x10FFFF) value = 0x110000;  // stays out of range, never overflows
  }
  out.clear();
  if (value == 0) {
    out.push_back(0xFFFD);
  } else if (value == 0x0D) {
    out.push_back(U'\r');
  } else if (value >= 0x80 && value <= 0x9F) {
    const char32_t mapped = kCp1252High[value - 0x80];
    out.push_back(mapped ? mapped : char32_t(value));
  } else if ((value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF) {
    out.push_back(0xFFFD);
  } else if ((value >= 0x01 && value <= 0x08) || value == 0x0B ||
             (value >= 0x0E && value <= 0x1F) || value == 0x7F ||
             (value >= 0xFDD0 && value <= 0xFDEF) || (value & 0xFFFE) == 0xFFFE) {
    // Python drops references to non-characters and C0 controls.
  } else {
    out.push_back(char32_t(value));
  }
  return true;
}

bool named_reference(const std::u32string& name, std::u32string& out) {
  std::string ascii;
  for (char32_t c : name) ascii.push_back(char(c));
  const auto& table = entity_table();
  auto it = table.find(ascii);
  if (it != table.end()) {
    out.assign(1, it->second);
    return true;
  }
  // ftfy also accepts an all-capitals spelling of a lower-case entity (&EACUTE; → É).
  std::string lower = ascii;
  bool has_upper = false;
  for (char& c : lower) {
    if (c >= 'a' && c <= 'z') return false;
    if (c >= 'A' && c <= 'Z') {
      has_upper = true;
      c = char(c + 32);
    }
  }
  if (!has_upper) return false;
  it = table.find(lower);
  if (it == table.end()) return false;
  if (it->second == 0xDF)
    out = U"SS";  // Python's str.upper()
  else
    out.assign(1, QChar::toUpper(it->second));
  return true;
}

int sloppy_1252_byte(char32_t c) {
  if (c < 0x100) return int(c);
  for (std::size_t i = 0; i < kCp1252High.size(); ++i)
    if (kCp1252High[i] == c) return 0x80 + int(i);
  return -1;
}

bool is_continuation(int byte) { return byte >= 0x80 && byte <= 0xBF; }

// UTF-8 that was decoded as Windows-1252: "Ã©" → "é", "Â " → NBSP, "â€™" → "’". Only the
// lead bytes of Latin-1 letters and general punctuation are repaired, where a false
// positive in real text is unlikely.
std::u32string fix_mojibake(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const int b0 = sloppy_1252_byte(s[i]);
    if ((b0 == 0xC2 || b0 == 0xC3) && i + 1 < n) {
      const int b1 = sloppy_1252_byte(s[i + 1]);
      if (is_continuation(b1)) {
        out.push_back(char32_t(((b0 & 0x1F) << 6) | (b1 & 0x3F)));
        i += 2;
        continue;
      }
    }
    if (b0 == 0xE2 && i + 2 < n) {
      const int b1 = sloppy_1252_byte(s[i + 1]);
      const int b2 = sloppy_1252_byte(s[i + 2]);
      if (is_continuation(b1) && is_continuation(b2)) {
        out.push_back(char32_t(((b0 & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F)));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
    ++i;
  }
  return out;
}

const std::unordered_map<char32_t, std::u32string>& single_char_fixes() {
  static const std::unordered_map<char32_t, std::u32string> table = [] {
    std::unordered_map<char32_t, std::u32string> t = {// fix_latin_ligatures
                                                      {0x0132, U"IJ"},
                                                      {0x0133, U"ij"},
                                                      {0x0149, U"\u02BCn"},
                                                      {0x01F1, U"DZ"},
                                                      {0x01F2, U"Dz"},
                                                      {0x01F3, U"dz"},
                                                      {0x01C4, U"D\u017D"},
                                                      {0x01C5, U"D\u017E"},
                                                      {0x01C6, U"d\u017E"},
                                                      {0x01C7, U"LJ"},
                                                      {0x01C8, U"Lj"},
                                                      {0x01C9, U"lj"},
                                                      {0x01CA, U"NJ"},
                                                      {0x01CB, U"Nj"},
                                                      {0x01CC, U"nj"},
                                                      {0xFB00, U"ff"},
                                                      {0xFB01, U"fi"},
                                                      {0xFB02, U"fl"},
                                                      {0xFB03, U"ffi"},
                                                      {0xFB04, U"ffl"},
                                                      {0xFB05, U"\u017Ft"},
                                                      {0xFB06, U"st"},
                                                      // fix_character_width: the ideographic space
                                                      {0x3000, U" "},
                                                      // uncurl_quotes
                                                      {0x02BC, U"'"},
                                                      {0x2018, U"'"},
                                                      {0x2019, U"'"},
                                                      {0x201A, U"'"},
                                                      {0x201B, U"'"},
                                                      {0x201C, U"\""},
                                                      {0x201D, U"\""},
                                                      {0x201E, U"\""},
                                                      {0x201F, U"\""},
                                                      // fix_line_breaks
                                                      {0x2028, U"\n"},
                                                      {0x2029, U"\n"}};
    // fix_character_width: full-width and half-width forms → their NFKC equivalents.
    for (char32_t c = 0xFF01; c < 0xFFF0; ++c) {
      const std::u32string original(1, c);
      std::u32string compat = normalize_nfkc(original);
      if (compat != original) t[c] = std::move(compat);
    }
    return t;
  }();
  return table;
}

bool is_removed_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
         (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

std::u32string fix_characters(const std::u32string& s) {
  const auto& fixes = single_char_fixes();
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char32_t c = s[i];
    if (c >= 0x80 && c <= 0x9F) {  // fix_c1_controls: C1 controls read as Windows-1252
      const char32_t mapped = kCp1252High[c - 0x80];
      if (mapped) c = mapped;
    }
    if (c == U'\x1b' && i + 1 < s.size() && s[i + 1] == U'[') {  // remove_terminal_escapes
      std::size_t j = i + 2;
      while (j < s.size() && ((s[j] >= U'0' && s[j] <= U'9') || s[j] == U';')) ++j;
      if (j < s.size() && ((s[j] >= U'a' && s[j] <= U'z') || (s[j] >= U'A' && s[j] <= U'Z'))) {
        i = j;
        continue;
      }
    }
    if (c == U'\r') {  // fix_line_breaks
      out.push_back(U'\n');
      if (i + 1 < s.size() && s[i + 1] == U'\n') ++i;
      continue;
    }
    if (is_removed_control(c)) continue;  // remove_control_chars
    const auto it = fixes.find(c);
    if (it != fixes.end())
      out += it->second;
    else
      out.push_back(c);
  }
  return out;
}

std::u32string fix_segment(std::u32string text, bool unescape_html) {
  // ftfy repeats its fixes until the text stops changing; a few rounds always suffice.
  for (int round = 0; round < 32; ++round) {
    std::u32string fixed = unescape_html ? unescape_html_entities(text) : text;
    fixed = normalize_nfc(fix_characters(fix_mojibake(fixed)));
    if (fixed == text) break;
    text = std::move(fixed);
  }
  return text;
}

}  // namespace

std::u32string unescape_html_entities(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  std::u32string replacement;
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    if (text[i] != U'&') {
      out.push_back(text[i++]);
      continue;
    }
    // ftfy's pattern: &#?[0-9A-Za-z]{1,24};
    const bool numeric = i + 1 < n && text[i + 1] == U'#';
    const std::size_t start = i + (numeric ? 2 : 1);
    std::size_t j = start;
    while (j < n && j - start < 25 && is_ascii_alnum(text[j])) ++j;
    const std::size_t len = j - start;
    if (len >= 1 && len <= 24 && j < n && text[j] == U';') {
      const std::u32string body = text.substr(start, len);
      const bool ok =
          numeric ? numeric_reference(body, replacement) : named_reference(body, replacement);
      if (ok) {
        out += replacement;
        i = j + 1;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

std::u32string ftfy_fix_text(const std::u32string& text) {
  // fix_text works a line at a time and, from the first line containing '<' on, assumes
  // the text is HTML and leaves entities alone.
  std::u32string out;
  out.reserve(text.size());
  bool unescape = true;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t newline = text.find(U'\n', pos);
    const std::size_t end = newline == std::u32string::npos ? text.size() : newline + 1;
    const std::u32string segment = text.substr(pos, end - pos);
    if (unescape && segment.find(U'<') != std::u32string::npos) unescape = false;
    out += fix_segment(segment, unescape);
    pos = end;
  }
  return out;
}

}  // namespace latent::text
