#pragma once

// Thumbnails kept on disk between sessions: one small file per picture in the user's cache
// folder, named by a hash of the picture's path and holding the picture's stamp (size and
// modification time), so a changed picture misses and is read again. Files are written
// through a temporary file renamed into place; one that cannot be read back intact is
// ignored and replaced by the next store. Safe to use from several threads at once.

#include <QImage>
#include <QString>

#include "ui/file_stamp.h"

namespace latent::ui {

class ThumbnailCache {
 public:
  // Keeps its files in `folder`; with an empty folder nothing is found or stored.
  explicit ThumbnailCache(QString folder = {});
  // The cache of thumbnails of `thumbnailSize` pixels within the gallery's cache folder
  // (gallery_index.h); none when that is empty.
  static ThumbnailCache within(const QString& galleryCacheFolder, int thumbnailSize);

  const QString& folder() const { return m_folder; }
  // The cache file of the picture at `imagePath`, whether it exists or not.
  QString fileFor(const QString& imagePath) const;

  // The thumbnail made from `source` as it is now; a null image when there is none, it was
  // made from another version of the file, or its cache file is damaged.
  QImage find(const FileStamp& source) const;
  // False when the file could not be written (a full disk, a read-only cache folder): the
  // gallery works on, only without the cache.
  bool store(const FileStamp& source, const QImage& thumbnail) const;
  void remove(const QString& imagePath) const;

 private:
  QString m_folder;
};

}  // namespace latent::ui
