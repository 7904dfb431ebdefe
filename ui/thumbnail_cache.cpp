#include "ui/thumbnail_cache.h"

#include <QBuffer>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QImageReader>
#include <QImageWriter>
#include <QTemporaryFile>

#include <cstdio>

#include "ui/thumbnail_cache_record.h"

namespace latent::ui {
namespace {

// Writes `bytes` to a temporary file beside `path` and renames it over `path`, so a reader
// sees the old file or the new one, never a part. Unlike QSaveFile it does not wait for the
// disk: after a crash a cache file may be lost or damaged, and then it is made again.
bool writeReplacing(const QString& path, const QByteArray& bytes) {
  QTemporaryFile file(path + QStringLiteral(".XXXXXX"));
  if (!file.open() || file.write(bytes) != bytes.size() || !file.flush()) return false;
  // std::rename replaces an existing file in one step on POSIX systems.
  if (std::rename(QFile::encodeName(file.fileName()).constData(), QFile::encodeName(path).constData()) != 0)
    return false;
  file.setAutoRemove(false);
  return true;
}

}  // namespace

ThumbnailCache::ThumbnailCache(QString folder) : m_folder(std::move(folder)) {}

ThumbnailCache ThumbnailCache::within(const QString& galleryCacheFolder, int thumbnailSize) {
  if (galleryCacheFolder.isEmpty()) return ThumbnailCache();
  return ThumbnailCache(galleryCacheFolder + QStringLiteral("/thumbnails-%1").arg(thumbnailSize));
}

QString ThumbnailCache::fileFor(const QString& imagePath) const {
  if (m_folder.isEmpty()) return {};
  const QByteArray hash = QCryptographicHash::hash(imagePath.toUtf8(), QCryptographicHash::Sha1).toHex();
  return m_folder + QLatin1Char('/') + QString::fromLatin1(hash) + QStringLiteral(".thumb");
}

QImage ThumbnailCache::find(const FileStamp& source) const {
  QFile file(fileFor(source.path));
  if (m_folder.isEmpty() || !file.open(QIODevice::ReadOnly) || file.size() > kMaxThumbnailRecordBytes) return {};
  const std::optional<ThumbnailRecord> record = decodeThumbnailRecord(file.readAll());
  // Another version of the picture, or (very rarely) another picture with the same hash.
  if (!record || record->source != source) return {};
  QBuffer buffer;
  buffer.setData(record->encodedImage);
  QImageReader reader(&buffer);
  return reader.read();  // null when the encoded image itself is damaged
}

bool ThumbnailCache::store(const FileStamp& source, const QImage& thumbnail) const {
  if (m_folder.isEmpty() || thumbnail.isNull()) return false;
  ThumbnailRecord record;
  record.source = source;
  {
    // JPEG keeps a thumbnail of a photograph-like picture at a few kilobytes; PNG keeps
    // transparency where a picture has it.
    QBuffer buffer(&record.encodedImage);
    buffer.open(QIODevice::WriteOnly);
    QImageWriter writer(&buffer, thumbnail.hasAlphaChannel() ? "png" : "jpg");
    writer.setQuality(90);
    if (!writer.write(thumbnail)) return false;
  }
  const QString path = fileFor(source.path);
  const QByteArray bytes = encodeThumbnailRecord(record);
  return writeReplacing(path, bytes) || (QDir().mkpath(m_folder) && writeReplacing(path, bytes));  // made on first use
}

void ThumbnailCache::remove(const QString& imagePath) const {
  if (!m_folder.isEmpty()) QFile::remove(fileFor(imagePath));
}

}  // namespace latent::ui
