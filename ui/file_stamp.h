#pragma once

// A file as it was when it was read: its path, size and modification time. What was learnt
// from the file (a cached thumbnail, an index entry) holds while its stamp is the same.

#include <QFileInfo>
#include <QString>

namespace latent::ui {

struct FileStamp {
  QString path;
  qint64 size = -1;
  qint64 modifiedMs = 0;  // milliseconds since the epoch

  // `file`'s stamp, with its path as `file` spells it.
  static FileStamp of(const QFileInfo& file) {
    return {file.filePath(), file.size(), file.lastModified().toMSecsSinceEpoch()};
  }
  // The same file unchanged: path, size and time all equal.
  bool operator==(const FileStamp& other) const {
    return size == other.size && modifiedMs == other.modifiedMs && path == other.path;
  }
  bool operator!=(const FileStamp& other) const { return !(*this == other); }
};

}  // namespace latent::ui
