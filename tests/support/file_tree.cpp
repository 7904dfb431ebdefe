#include "tests/support/file_tree.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

namespace latent::test {

bool copy_tree(const QString& from, const QString& to) {
  if (!QDir().mkpath(to)) return false;
  for (const QFileInfo& entry : QDir(from).entryInfoList(QDir::Dirs | QDir::Files | QDir::NoDotAndDotDot)) {
    const QString target = QDir(to).filePath(entry.fileName());
    const bool copied = entry.isDir() ? copy_tree(entry.filePath(), target) : QFile::copy(entry.filePath(), target);
    if (!copied) return false;
  }
  return true;
}

}  // namespace latent::test
