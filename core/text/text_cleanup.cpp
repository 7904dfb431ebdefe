#include "core/text/text_cleanup.h"

#include <QChar>
#include <QList>
#include <QString>

#include "core/text/ftfy_lite.h"

namespace latent::text {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool is_scalar_value(char32_t c) { return c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF); }

// Cased and Case_Ignorable as Python's Final_Sigma test uses them (close approximations:
// Qt has no Other_Lowercase/Other_Uppercase or Word_Break tables).
bool is_cased(char32_t c) {
  if (!is_scalar_value(c)) return false;
  const auto cat = QChar::category(c);
  return cat == QChar::Letter_Uppercase || cat == QChar::Letter_Lowercase ||
         cat == QChar::Letter_Titlecase;
}

// Word_Break MidLetter, MidNumLet and Single_Quote characters are case-ignorable too.
constexpr char32_t kMidWordPunctuation[] = {0x0027, 0x002E, 0x003A, 0x00B7, 0x0387, 0x055F,
                                            0x05F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13,
                                            0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};

bool is_case_ignorable(char32_t c) {
  for (char32_t p : kMidWordPunctuation)
    if (c == p) return true;
  if (!is_scalar_value(c)) return false;
  const auto cat = QChar::category(c);
  return cat == QChar::Mark_NonSpacing || cat == QChar::Mark_Enclosing ||
         cat == QChar::Other_Format || cat == QChar::Letter_Modifier ||
         cat == QChar::Symbol_Modifier;
}

bool is_final_sigma(const std::u32string& text, std::size_t i) {
  std::size_t j = i;
  while (j > 0 && is_case_ignorable(text[j - 1])) --j;
  if (j == 0 || !is_cased(text[j - 1])) return false;
  std::size_t k = i + 1;
  while (k < text.size() && is_case_ignorable(text[k])) ++k;
  return k == text.size() || !is_cased(text[k]);
}

// BERT's _is_control: every C* category except tab, newline and carriage return.
bool is_control(char32_t c) {
  if (c == U'\t' || c == U'\n' || c == U'\r') return false;
  if (!is_scalar_value(c)) return true;
  const auto cat = QChar::category(c);
  return cat == QChar::Other_Control || cat == QChar::Other_Format ||
         cat == QChar::Other_Surrogate || cat == QChar::Other_PrivateUse ||
         cat == QChar::Other_NotAssigned;
}

bool is_bert_whitespace(char32_t c) {
  return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' ||
         (is_scalar_value(c) && QChar::category(c) == QChar::Separator_Space);
}

// BasicTokenizer._is_chinese_char: the CJK Unified Ideographs blocks and compatibility
// ideographs (not Hiragana, Katakana or Hangul).
bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::u32string normalize(const std::u32string& text, QString::NormalizationForm form) {
  const QList<uint> ucs4 =
      QString::fromUcs4(text.data(), qsizetype(text.size())).normalized(form).toUcs4();
  return std::u32string(ucs4.begin(), ucs4.end());
}

}  // namespace

std::u32string normalize_nfc(const std::u32string& text) {
  return normalize(text, QString::NormalizationForm_C);
}

std::u32string normalize_nfkc(const std::u32string& text) {
  return normalize(text, QString::NormalizationForm_KC);
}

std::u32string utf8_to_u32(const std::string& utf8) {
  const QList<uint> ucs4 = QString::fromUtf8(utf8.data(), qsizetype(utf8.size())).toUcs4();
  std::u32string out;
  out.reserve(std::size_t(ucs4.size()));
  for (uint c : ucs4) out.push_back(is_scalar_value(char32_t(c)) ? char32_t(c) : kReplacement);
  return out;
}

void append_utf8(char32_t c, std::string& out) {
  if (!is_scalar_value(c)) c = kReplacement;
  if (c < 0x80) {
    out.push_back(char(c));
  } else if (c < 0x800) {
    out.push_back(char(0xC0 | (c >> 6)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(char(0xE0 | (c >> 12)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (c >> 18)));
    out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  }
}

std::string u32_to_utf8(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(c, out);
  return out;
}

std::u32string python_lower(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c < 0x80) {
      out.push_back(c >= U'A' && c <= U'Z' ? c + 32 : c);
    } else if (c == 0x0130) {  // İ → i + COMBINING DOT ABOVE (SpecialCasing)
      out.push_back(U'i');
      out.push_back(0x0307);
    } else if (c == 0x03A3) {
      out.push_back(is_final_sigma(text, i) ? 0x03C2 : 0x03C3);
    } else if (is_scalar_value(c)) {
      out.push_back(QChar::toLower(c));
    } else {
      out.push_back(kReplacement);
    }
  }
  return out;
}

bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 ||
         (c > 0xFF && is_scalar_value(c) && QChar::isSpace(c));
}

std::u32string whitespace_clean(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char32_t c : text) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(U' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

std::u32string basic_clean(const std::u32string& text) {
  std::u32string spaced;
  spaced.reserve(text.size() + 16);
  for (char32_t c : text) {
    if (c == 0 || c == kReplacement || is_control(c)) continue;
    if (is_bert_whitespace(c)) {
      spaced.push_back(U' ');
    } else if (is_cjk_ideograph(c)) {
      spaced.push_back(U' ');
      spaced.push_back(c);
      spaced.push_back(U' ');
    } else {
      spaced.push_back(c);
    }
  }
  const std::u32string normalized = normalize_nfc(spaced);
  // Lower-casing the whole text equals BasicTokenizer's per-word lower(): whitespace is
  // neither cased nor case-ignorable, so the Final_Sigma context never crosses it.
  return whitespace_clean(python_lower(normalized));
}

std::u32string clean_text(const std::u32string& text, TextCleanup mode) {
  if (mode == TextCleanup::Ftfy) return python_lower(whitespace_clean(ftfy_fix_text(text)));
  return basic_clean(text);
}

}  // namespace latent::text
