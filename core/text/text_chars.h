#pragma once

// The character classes of Python's `re` and str methods, as the web UI's expressions use
// them, for the bytes of UTF-8 text: what its prompt parsers and files are read with.

#include <string>

namespace latent::text {

// Python's \s (and str.isspace) for the characters one byte can hold.
inline bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

// Python's \w, every byte of a multi-byte UTF-8 sequence counted as a letter.
inline bool is_word(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// str.rstrip() and str.strip() over is_space.
inline std::string right_trimmed(const std::string& s) {
  std::size_t end = s.size();
  while (end > 0 && is_space(static_cast<unsigned char>(s[end - 1]))) --end;
  return s.substr(0, end);
}

inline std::string trimmed(const std::string& s) {
  std::size_t begin = 0;
  while (begin < s.size() && is_space(static_cast<unsigned char>(s[begin]))) ++begin;
  return right_trimmed(s.substr(begin));
}

}  // namespace latent::text
