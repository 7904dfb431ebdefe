#pragma once

// The bytes of one cached thumbnail file: the stamp of the picture it was made from and the
// thumbnail encoded as PNG or JPEG, sealed with a checksum (sealed_bytes.h), so that a
// damaged or foreign file in the cache folder is recognised, ignored and made again rather
// than shown. Qt Core only, so that the fuzzer can read records without a display.

#include <QByteArray>

#include <optional>

#include "ui/file_stamp.h"

namespace latent::ui {

struct ThumbnailRecord {
  FileStamp source;
  QByteArray encodedImage;  // a PNG or JPEG file's bytes
};

// A cached thumbnail is a few kilobytes; a record file larger than this is not read.
constexpr qint64 kMaxThumbnailRecordBytes = 4 * 1024 * 1024;
// The name and version of the format (sealed_bytes.h); a new layout gets a new name, and old
// files miss.
inline constexpr char kThumbnailRecordMagic[] = "LSTHUMB1";

QByteArray encodeThumbnailRecord(const ThumbnailRecord& record);
// The record in `bytes`, or nothing when they are not a complete, intact record of this
// version. Never throws.
std::optional<ThumbnailRecord> decodeThumbnailRecord(const QByteArray& bytes);

}  // namespace latent::ui
