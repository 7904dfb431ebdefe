#include "ui/gallery_index.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QStandardPaths>

#include "ui/sealed_bytes.h"

namespace latent::ui {
namespace {

// Far more than any folder holds; a count beyond it is damage, not a folder.
constexpr quint32 kMaxImages = 10'000'000;

}  // namespace

QByteArray encodeGalleryIndex(const QString& folder, const QList<IndexedImage>& images) {
  QByteArray body;
  QDataStream out(&body, QIODevice::WriteOnly);
  out.setVersion(kCacheStreamVersion);
  out << folder << quint32(images.size());
  for (const IndexedImage& image : images)
    out << image.fileName << image.size << image.modifiedMs << image.broken << image.imageSize << image.prompt
        << image.negativePrompt;
  return sealBytes(kGalleryIndexMagic, body);
}

std::optional<QList<IndexedImage>> decodeGalleryIndex(const QByteArray& bytes, const QString& folder) {
  const std::optional<QByteArray> body = unsealBytes(kGalleryIndexMagic, bytes);
  if (!body) return std::nullopt;
  QDataStream in(*body);
  in.setVersion(kCacheStreamVersion);
  QString indexedFolder;
  quint32 count = 0;
  in >> indexedFolder >> count;
  if (in.status() != QDataStream::Ok || indexedFolder != folder || count > kMaxImages) return std::nullopt;
  QList<IndexedImage> images;
  // An entry takes at least 37 bytes: never reserve more than the data can hold.
  images.reserve(qMin<qsizetype>(count, body->size() / 37));
  for (quint32 i = 0; i < count && in.status() == QDataStream::Ok; ++i) {
    IndexedImage image;
    in >> image.fileName >> image.size >> image.modifiedMs >> image.broken >> image.imageSize >> image.prompt >>
        image.negativePrompt;
    images.append(std::move(image));
  }
  if (in.status() != QDataStream::Ok || !in.atEnd()) return std::nullopt;
  return images;
}

QString defaultGalleryCacheFolder() {
  const QString base = QStandardPaths::writableLocation(QStandardPaths::CacheLocation);
  return base.isEmpty() ? QString() : base + QStringLiteral("/gallery");
}

QString galleryIndexFile(const QString& galleryCacheFolder, const QString& folder) {
  if (galleryCacheFolder.isEmpty() || folder.isEmpty()) return {};
  const QByteArray hash = QCryptographicHash::hash(folder.toUtf8(), QCryptographicHash::Sha1).toHex();
  return galleryCacheFolder + QStringLiteral("/index-%1.dat").arg(QString::fromLatin1(hash));
}

QList<IndexedImage> readGalleryIndex(const QString& indexFile, const QString& folder) {
  QFile file(indexFile);
  if (indexFile.isEmpty() || !file.open(QIODevice::ReadOnly)) return {};
  return decodeGalleryIndex(file.readAll(), folder).value_or(QList<IndexedImage>{});
}

bool writeGalleryIndex(const QString& indexFile, const QString& folder, const QList<IndexedImage>& images) {
  if (indexFile.isEmpty()) return false;
  QDir().mkpath(QFileInfo(indexFile).absolutePath());
  QSaveFile file(indexFile);
  if (!file.open(QIODevice::WriteOnly)) return false;
  const QByteArray bytes = encodeGalleryIndex(folder, images);
  return file.write(bytes) == bytes.size() && file.commit();
}

}  // namespace latent::ui
