#include "core/image/png_metadata.h"

#include <QByteArray>
#include <QFile>
#include <QSaveFile>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "core/util/error.h"

namespace latent::image {
namespace {

constexpr unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr uint32_t kMaxChunkBytes = 64u * 1024 * 1024;
// Text beyond this, once inflated, is not read: parameters take a few kilobytes, the largest
// workflows other programs embed a few megabytes.
constexpr std::size_t kMaxTextBytes = 16u * 1024 * 1024;

uint32_t crc32(const unsigned char* data, std::size_t size, uint32_t crc = 0) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

void put_u32(std::vector<unsigned char>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(v >> shift));
}

uint32_t get_u32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

void append_chunk(std::vector<unsigned char>& out, const char type[4], const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  const std::size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put_u32(out, crc32(out.data() + start, 4 + data.size()));
}

// Inflates the zlib stream in `data` in place. False when it is corrupt or would inflate
// past `limit` bytes: a chunk of a few megabytes can claim gigabytes of text (a "zip bomb"),
// and the gallery reads every PNG in the folder. (qUncompress keeps doubling its buffer.)
bool inflate_bounded(QByteArray& data, std::size_t limit) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return false;
  stream.next_in = reinterpret_cast<Bytef*>(data.data());
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  std::array<char, 64 * 1024> buffer{};
  int status = Z_OK;
  while (status == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    status = inflate(&stream, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) break;
    out.append(buffer.data(), buffer.size() - stream.avail_out);
    if (out.size() > limit) status = Z_MEM_ERROR;
    if (status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) status = Z_DATA_ERROR;  // truncated
  }
  inflateEnd(&stream);
  if (status != Z_STREAM_END) return false;
  data = QByteArray(out.data(), static_cast<qsizetype>(out.size()));
  return true;
}

bool is_latin1_printable(const std::string& text) {
  for (unsigned char c : text)
    if (c >= 0x80) return false;  // plain ASCII only: anything else goes to iTXt as UTF-8
  return true;
}

}  // namespace

std::vector<unsigned char> encode_png(const api::Image& image, const TextChunks& texts) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    throw Error("cannot encode an image of " + std::to_string(image.width) + "x" +
                std::to_string(image.height) + " with " + std::to_string(image.rgb.size()) + " bytes");
  const cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.rgb.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<unsigned char> plain;
  if (!cv::imencode(".png", bgr, plain)) throw Error("PNG encoding failed");

  // Keep the signature and IHDR (8 + 25 bytes), then our text chunks, then the rest.
  constexpr std::size_t kHeaderEnd = 8 + 4 + 4 + 13 + 4;
  std::vector<unsigned char> out(plain.begin(), plain.begin() + kHeaderEnd);
  for (const auto& [keyword, text] : texts) {
    if (is_latin1_printable(text)) {
      append_chunk(out, "tEXt", keyword + '\0' + text);
    } else {
      // iTXt: keyword, NUL, compression flag 0, method 0, empty language, NUL, empty translated keyword, NUL.
      append_chunk(out, "iTXt", keyword + std::string("\0\0\0\0\0", 5) + text);
    }
  }
  out.insert(out.end(), plain.begin() + kHeaderEnd, plain.end());
  return out;
}

void write_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes) {
  QSaveFile file(QString::fromStdString(path));
  // Unbuffered, so a short write (a full disk) is seen here: buffered, Qt 6.4 flushes what
  // fits when committing and reports success for a truncated file.
  if (!file.open(QIODevice::WriteOnly | QIODevice::Unbuffered))
    throw Error("cannot write '" + path + "': " + file.errorString().toStdString());
  const qint64 size = static_cast<qint64>(bytes.size());
  const qint64 written = file.write(reinterpret_cast<const char*>(bytes.data()), size);
  if (written != size || file.size() != size) {
    const int error = errno;
    file.cancelWriting();  // the temporary file goes; any earlier file at `path` stays
    const std::string reason = error != 0 ? std::string(std::strerror(error)) + "; " : std::string();
    throw Error("cannot write '" + path + "': only " + std::to_string(std::max<qint64>(0, written)) +
                " of " + std::to_string(size) + " bytes could be written (" + reason +
                "is the disk full?)");
  }
  if (!file.commit()) throw Error("cannot write '" + path + "': " + file.errorString().toStdString());
}

namespace {

// Calls `visit(type, body)` for each whole chunk up to IEND or the first damaged one.
template <typename Visit>
void for_each_chunk(const std::vector<unsigned char>& bytes, Visit visit) {
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0) return;
  std::size_t pos = 8;
  while (pos + 12 <= bytes.size()) {
    const uint32_t length = get_u32(&bytes[pos]);
    if (length > kMaxChunkBytes || length > bytes.size() - pos - 12) break;
    const std::string type(reinterpret_cast<const char*>(&bytes[pos + 4]), 4);
    const char* data = reinterpret_cast<const char*>(&bytes[pos + 8]);
    pos += 12 + length;
    if (type == "IEND") break;
    visit(type, std::string(data, length));
  }
}

}  // namespace

std::string read_png_exif(const std::vector<unsigned char>& bytes) {
  std::string exif;
  for_each_chunk(bytes, [&](const std::string& type, const std::string& body) {
    if (type == "eXIf" && exif.empty()) exif = body;
  });
  return exif;
}

TextChunks read_png_text(const std::vector<unsigned char>& bytes) {
  TextChunks out;
  for_each_chunk(bytes, [&](const std::string& type, const std::string& body) {
    const std::size_t nul = body.find('\0');
    if (nul == std::string::npos || nul == 0 || nul > 79) return;
    const std::string keyword = body.substr(0, nul);
    if (type == "tEXt") {
      // Latin-1 by the PNG standard: widen to UTF-8.
      out.push_back({keyword, QString::fromLatin1(body.data() + nul + 1,
                                                  static_cast<qsizetype>(body.size() - nul - 1))
                                  .toStdString()});
    } else if (type == "zTXt" || type == "iTXt") {
      std::size_t p = nul + 1;
      bool compressed = type == "zTXt";
      if (type == "iTXt") {
        if (p + 2 > body.size()) return;
        compressed = body[p] != 0;
        p += 2;
        for (int skip = 0; skip < 2; ++skip) {  // language tag, translated keyword
          const std::size_t end = body.find('\0', p);
          if (end == std::string::npos) { p = body.size() + 1; break; }
          p = end + 1;
        }
        if (p > body.size()) return;
      } else {
        p += 1;  // compression method byte
        if (p > body.size()) return;
      }
      QByteArray text(body.data() + p, static_cast<qsizetype>(body.size() - p));
      if (compressed && !inflate_bounded(text, kMaxTextBytes)) return;
      out.push_back({keyword, type == "iTXt" ? text.toStdString()
                                             : QString::fromLatin1(text).toStdString()});
    }
  });
  return out;
}

TextChunks read_png_text_file(const std::string& path) {
  QFile file(QString::fromStdString(path));
  if (!file.open(QIODevice::ReadOnly)) return {};
  // Text chunks sit near the start in our files but may follow the image data in
  // others; read whole files up to a sane size.
  const QByteArray data = file.read(256ll * 1024 * 1024);
  return read_png_text(std::vector<unsigned char>(data.begin(), data.end()));
}

}  // namespace latent::image
