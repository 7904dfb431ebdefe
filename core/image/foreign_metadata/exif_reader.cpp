#include "core/image/foreign_metadata/exif_reader.h"

#include <QStringDecoder>

#include <cstdint>
#include <cstring>

namespace latent::image {
namespace {

constexpr uint16_t kImageDescription = 0x010e;
constexpr uint16_t kMake = 0x010f;
constexpr uint16_t kModel = 0x0110;
constexpr uint16_t kSoftware = 0x0131;
constexpr uint16_t kExifIfd = 0x8769;
constexpr uint16_t kMakerNote = 0x927c;
constexpr uint16_t kUserComment = 0x9286;

// A bounds-checked view of the TIFF structure in the byte order its header names.
class Tiff {
 public:
  Tiff(const unsigned char* data, std::size_t size) : m_data(data), m_size(size) {}

  bool read_header(uint32_t* first_ifd) {
    if (m_size < 8) return false;
    if (std::memcmp(m_data, "II*\0", 4) == 0) {
      m_big_endian = false;
    } else if (std::memcmp(m_data, "MM\0*", 4) == 0) {
      m_big_endian = true;
    } else {
      return false;
    }
    *first_ifd = u32(4);
    return true;
  }

  bool big_endian() const { return m_big_endian; }
  std::size_t size() const { return m_size; }
  const unsigned char* at(std::size_t offset) const { return m_data + offset; }

  uint16_t u16(std::size_t at) const {
    const unsigned char* p = m_data + at;
    return m_big_endian ? uint16_t(p[0] << 8 | p[1]) : uint16_t(p[1] << 8 | p[0]);
  }
  uint32_t u32(std::size_t at) const {
    const unsigned char* p = m_data + at;
    return m_big_endian ? (uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3])
                        : (uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0]);
  }

 private:
  const unsigned char* m_data;
  std::size_t m_size;
  bool m_big_endian = false;
};

// One IFD entry's bytes: its value sits in the entry when it fits in four bytes, else at
// the offset the entry holds. Empty when the entry points outside the data.
struct EntryBytes {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
};

std::size_t type_size(uint16_t type) {
  switch (type) {
    case 1: case 2: case 6: case 7: return 1;  // BYTE, ASCII, SBYTE, UNDEFINED
    case 3: case 8: return 2;                  // SHORT, SSHORT
    case 4: case 9: case 11: return 4;         // LONG, SLONG, FLOAT
    case 5: case 10: case 12: return 8;        // RATIONAL, SRATIONAL, DOUBLE
    default: return 0;
  }
}

EntryBytes entry_bytes(const Tiff& tiff, std::size_t entry) {
  const uint16_t type = tiff.u16(entry + 2);
  const uint64_t count = tiff.u32(entry + 4);
  const uint64_t bytes = count * type_size(type);  // at most 2^32 * 8: no overflow in 64 bits
  if (bytes <= 4) return {tiff.at(entry + 8), static_cast<std::size_t>(bytes)};
  const uint64_t offset = tiff.u32(entry + 8);
  if (offset > tiff.size() || bytes > tiff.size() - offset) return {};
  return {tiff.at(static_cast<std::size_t>(offset)), static_cast<std::size_t>(bytes)};
}

// UTF-8 when the bytes are valid UTF-8 (what most writers put even in ASCII fields), else
// Latin-1, so that no byte sequence is lost or rejected.
std::string text_from_bytes(const unsigned char* data, std::size_t size) {
  while (size > 0 && data[size - 1] == 0) --size;  // C strings and padding
  const QByteArray bytes(reinterpret_cast<const char*>(data), static_cast<qsizetype>(size));
  QStringDecoder utf8(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
  const QString text = utf8.decode(bytes);
  if (!utf8.hasError()) return text.toStdString();
  return QString::fromLatin1(bytes).toStdString();
}

std::string decode_utf16(const unsigned char* data, std::size_t size, bool big_endian_file) {
  size &= ~std::size_t(1);
  bool big_endian = big_endian_file;
  std::size_t start = 0;
  if (size >= 2 && data[0] == 0xfe && data[1] == 0xff) {
    big_endian = true;
    start = 2;
  } else if (size >= 2 && data[0] == 0xff && data[1] == 0xfe) {
    big_endian = false;
    start = 2;
  } else {
    // ASCII characters (the parameters line is full of them) have one zero byte: first in
    // big-endian order, second in little-endian order.
    std::size_t zero_first = 0, zero_second = 0;
    for (std::size_t i = 0; i + 1 < size; i += 2) {
      zero_first += data[i] == 0 && data[i + 1] != 0;
      zero_second += data[i] != 0 && data[i + 1] == 0;
    }
    if (zero_first != zero_second) big_endian = zero_first > zero_second;
  }
  std::u16string units;
  units.reserve((size - start) / 2);
  for (std::size_t i = start; i + 1 < size; i += 2)
    units.push_back(big_endian ? char16_t(data[i] << 8 | data[i + 1]) : char16_t(data[i + 1] << 8 | data[i]));
  while (!units.empty() && units.back() == 0) units.pop_back();
  return QString::fromStdU16String(units).toStdString();
}

// The text fields of the IFD at `offset`, and the Exif IFD's offset when it names one.
void read_ifd(const Tiff& tiff, uint32_t offset, ExifText& out, uint32_t* exif_ifd) {
  if (offset > tiff.size() || tiff.size() - offset < 2) return;
  const std::size_t count = tiff.u16(offset);
  const std::size_t first = offset + 2;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t entry = first + 12 * i;
    if (entry + 12 > tiff.size()) return;  // a count past the end: keep what was read
    const uint16_t tag = tiff.u16(entry);
    if (tag == kExifIfd && exif_ifd != nullptr) {
      *exif_ifd = tiff.u32(entry + 8);
      continue;
    }
    if (tag != kImageDescription && tag != kMake && tag != kModel && tag != kSoftware && tag != kMakerNote &&
        tag != kUserComment)
      continue;
    const EntryBytes value = entry_bytes(tiff, entry);
    if (value.data == nullptr || value.size == 0) continue;
    switch (tag) {
      case kUserComment:
        out.user_comment = decode_user_comment(value.data, value.size, tiff.big_endian());
        break;
      case kMakerNote: out.maker_note = text_from_bytes(value.data, value.size); break;
      case kImageDescription: out.image_description = text_from_bytes(value.data, value.size); break;
      case kMake: out.make = text_from_bytes(value.data, value.size); break;
      case kModel: out.model = text_from_bytes(value.data, value.size); break;
      case kSoftware: out.software = text_from_bytes(value.data, value.size); break;
      default: break;
    }
  }
}

}  // namespace

std::string decode_user_comment(const unsigned char* data, std::size_t size, bool big_endian_file) {
  if (size >= 8) {
    if (std::memcmp(data, "UNICODE\0", 8) == 0) return decode_utf16(data + 8, size - 8, big_endian_file);
    if (std::memcmp(data, "ASCII\0\0\0", 8) == 0 || std::memcmp(data, "\0\0\0\0\0\0\0\0", 8) == 0 ||
        std::memcmp(data, "JIS\0\0\0\0\0", 8) == 0)
      return text_from_bytes(data + 8, size - 8);
  }
  return text_from_bytes(data, size);  // written without a code (Pillow does, given a str)
}

ExifText read_exif_text(const unsigned char* data, std::size_t size) {
  ExifText out;
  if (size >= 6 && std::memcmp(data, "Exif\0\0", 6) == 0) {
    data += 6;
    size -= 6;
  }
  Tiff tiff(data, size);
  uint32_t first_ifd = 0;
  if (!tiff.read_header(&first_ifd)) return out;
  uint32_t exif_ifd = 0;
  read_ifd(tiff, first_ifd, out, &exif_ifd);
  // Only these two IFDs are read (no chains to follow), so a loop of offsets cannot hang us.
  if (exif_ifd != 0 && exif_ifd != first_ifd) read_ifd(tiff, exif_ifd, out, nullptr);
  return out;
}

}  // namespace latent::image
