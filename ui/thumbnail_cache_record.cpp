#include "ui/thumbnail_cache_record.h"

#include "ui/sealed_bytes.h"

namespace latent::ui {

QByteArray encodeThumbnailRecord(const ThumbnailRecord& record) {
  QByteArray body;
  QDataStream out(&body, QIODevice::WriteOnly);
  out.setVersion(kCacheStreamVersion);
  out << record.source.path << record.source.size << record.source.modifiedMs << record.encodedImage;
  return sealBytes(kThumbnailRecordMagic, body);
}

std::optional<ThumbnailRecord> decodeThumbnailRecord(const QByteArray& bytes) {
  if (bytes.size() > kMaxThumbnailRecordBytes) return std::nullopt;
  const std::optional<QByteArray> body = unsealBytes(kThumbnailRecordMagic, bytes);
  if (!body) return std::nullopt;
  QDataStream in(*body);
  in.setVersion(kCacheStreamVersion);
  ThumbnailRecord record;
  in >> record.source.path >> record.source.size >> record.source.modifiedMs >> record.encodedImage;
  if (in.status() != QDataStream::Ok || !in.atEnd() || record.encodedImage.isEmpty()) return std::nullopt;
  return record;
}

}  // namespace latent::ui
