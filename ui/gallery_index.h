#pragma once

// What the gallery learnt from each picture of a folder, kept between sessions so that a
// folder opens with every prompt known (the filter searches them) without reading its files
// again: one index file per gallery folder in the user's cache folder. An entry holds while
// the picture's size and modification time are those recorded. The file is written through a
// temporary file renamed into place; one that cannot be read back intact is ignored, and the
// index is rebuilt from the pictures. Qt Core only, so that the fuzzer can read index files.

#include <QByteArray>
#include <QList>
#include <QSize>
#include <QString>

#include <optional>

namespace latent::ui {

struct IndexedImage {
  QString fileName;  // within the folder
  qint64 size = -1;
  qint64 modifiedMs = 0;
  bool broken = false;  // could not be decoded as a picture
  QSize imageSize;
  // UTF-8, as the model keeps them: half the memory of QString for 20000 prompts.
  QByteArray prompt;
  QByteArray negativePrompt;
};

// The name and version of the format (sealed_bytes.h), before the folder and the entries; a
// new layout gets a new name, and old files are rebuilt.
inline constexpr char kGalleryIndexMagic[] = "LSGINDEX2";

QByteArray encodeGalleryIndex(const QString& folder, const QList<IndexedImage>& images);
// The entries in `bytes`, or nothing when they are not a complete, intact index of this
// version made for `folder`. Never throws.
std::optional<QList<IndexedImage>> decodeGalleryIndex(const QByteArray& bytes, const QString& folder);

// Where the gallery keeps its index files and thumbnails by default: a folder within the
// user's cache folder (QStandardPaths::CacheLocation). Call on the GUI thread.
QString defaultGalleryCacheFolder();
// The index file of `folder` within the gallery's cache folder; empty when that is empty.
QString galleryIndexFile(const QString& galleryCacheFolder, const QString& folder);
// The entries of the index file, or none when it is missing, damaged or of another folder.
QList<IndexedImage> readGalleryIndex(const QString& indexFile, const QString& folder);
// Replaces the index file atomically. False when it could not be written.
bool writeGalleryIndex(const QString& indexFile, const QString& folder, const QList<IndexedImage>& images);

}  // namespace latent::ui
