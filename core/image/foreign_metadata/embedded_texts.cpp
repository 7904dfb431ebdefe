#include "core/image/foreign_metadata/embedded_texts.h"

#include <cstdint>
#include <cstring>

#include "core/image/foreign_metadata/exif_reader.h"
#include "core/image/png_metadata.h"

namespace latent::image {
namespace {

bool starts_with(const std::vector<unsigned char>& bytes, std::size_t at, const char* text, std::size_t size) {
  return bytes.size() >= at + size && std::memcmp(bytes.data() + at, text, size) == 0;
}

ImageFormat detect_format(const std::vector<unsigned char>& bytes) {
  if (starts_with(bytes, 0, "\x89PNG\r\n\x1a\n", 8)) return ImageFormat::png;
  if (starts_with(bytes, 0, "\xff\xd8\xff", 3)) return ImageFormat::jpeg;
  if (starts_with(bytes, 0, "RIFF", 4) && starts_with(bytes, 8, "WEBP", 4)) return ImageFormat::webp;
  return ImageFormat::unknown;
}

// ComfyUI writes each of its JSON texts into an ASCII field as "KEY:{...}".
void add_keyed_json(const std::string& field, const char* tag, EmbeddedTexts& out) {
  for (const char* key : {"prompt", "workflow"}) {
    const std::string prefix = std::string(key) + ":";
    if (field.compare(0, prefix.size(), prefix) == 0)
      out.texts.push_back({key, field.substr(prefix.size()), std::string("EXIF ") + tag});
  }
}

void add_exif(const unsigned char* data, std::size_t size, EmbeddedTexts& out) {
  const ExifText exif = read_exif_text(data, size);
  if (!exif.user_comment.empty()) out.texts.push_back({"parameters", exif.user_comment, "EXIF UserComment"});
  // A camera's MakerNote is binary; Fooocus's names its metadata scheme.
  if (exif.maker_note == "fooocus" || exif.maker_note == "a1111")
    out.texts.push_back({"fooocus_scheme", exif.maker_note, "EXIF MakerNote"});
  if (!exif.software.empty()) out.texts.push_back({"Software", exif.software, "EXIF Software"});
  add_keyed_json(exif.model, "Model", out);
  add_keyed_json(exif.make, "Make", out);
  add_keyed_json(exif.image_description, "ImageDescription", out);
}

void read_png(const std::vector<unsigned char>& bytes, EmbeddedTexts& out) {
  for (auto& [key, text] : read_png_text(bytes))
    out.texts.push_back({key, std::move(text), "PNG text chunk \"" + key + "\""});
  const std::string exif = read_png_exif(bytes);
  if (!exif.empty()) add_exif(reinterpret_cast<const unsigned char*>(exif.data()), exif.size(), out);
}

// JPEG: segments up to the start of the scan; the first "Exif" APP1 and any comments.
void read_jpeg(const std::vector<unsigned char>& bytes, EmbeddedTexts& out) {
  bool exif_read = false;
  std::size_t pos = 2;  // after SOI
  while (pos + 2 <= bytes.size()) {
    if (bytes[pos] != 0xff) return;  // not a marker: damaged
    const unsigned char marker = bytes[pos + 1];
    if (marker == 0xff) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {  // markers without a length
      pos += 2;
      continue;
    }
    if (marker == 0xd9 || marker == 0xda) return;  // end of image, start of scan
    if (pos + 4 > bytes.size()) return;
    const std::size_t length = std::size_t(bytes[pos + 2]) << 8 | bytes[pos + 3];  // includes its own 2 bytes
    if (length < 2 || pos + 2 + length > bytes.size()) return;
    const unsigned char* payload = bytes.data() + pos + 4;
    const std::size_t size = length - 2;
    if (marker == 0xe1 && !exif_read && size >= 6 && std::memcmp(payload, "Exif\0\0", 6) == 0) {
      add_exif(payload, size, out);
      exif_read = true;
    } else if (marker == 0xfe && size > 0) {
      out.texts.push_back({"comment", std::string(reinterpret_cast<const char*>(payload), size), "JPEG comment"});
    }
    pos += 2 + length;
  }
}

uint32_t get_u32_le(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

// WebP: a RIFF file of chunks, each padded to an even size; EXIF is one of them.
void read_webp(const std::vector<unsigned char>& bytes, EmbeddedTexts& out) {
  std::size_t pos = 12;
  while (pos + 8 <= bytes.size()) {
    const std::size_t size = get_u32_le(bytes.data() + pos + 4);
    if (size > bytes.size() - pos - 8) return;
    if (std::memcmp(bytes.data() + pos, "EXIF", 4) == 0) {
      add_exif(bytes.data() + pos + 8, size, out);
      return;
    }
    pos += 8 + size + (size & 1);
  }
}

}  // namespace

const char* image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::png: return "PNG";
    case ImageFormat::jpeg: return "JPEG";
    case ImageFormat::webp: return "WebP";
    case ImageFormat::unknown: break;
  }
  return "unknown";
}

const EmbeddedText* EmbeddedTexts::find(const std::string& key) const {
  for (const EmbeddedText& text : texts)
    if (text.key == key) return &text;
  return nullptr;
}

EmbeddedTexts read_embedded_texts(const std::vector<unsigned char>& bytes) {
  EmbeddedTexts out;
  out.format = detect_format(bytes);
  switch (out.format) {
    case ImageFormat::png: read_png(bytes, out); break;
    case ImageFormat::jpeg: read_jpeg(bytes, out); break;
    case ImageFormat::webp: read_webp(bytes, out); break;
    case ImageFormat::unknown: break;
  }
  return out;
}

}  // namespace latent::image
