#include "ui/folder_listing.h"

#include <QDirIterator>
#include <QFile>

#ifdef Q_OS_UNIX
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#endif

namespace latent::ui {
namespace {

bool hasSuffix(const QString& name, const QStringList& suffixes) {
  for (const QString& suffix : suffixes)
    if (name.endsWith(suffix, Qt::CaseInsensitive)) return true;
  return false;
}

}  // namespace

std::vector<FileStamp> listFiles(const QString& folder, const QStringList& suffixes) {
  std::vector<FileStamp> files;
  if (folder.isEmpty()) return files;
  const QString prefix = folder.endsWith(QLatin1Char('/')) ? folder : folder + QLatin1Char('/');
#ifdef Q_OS_UNIX
  DIR* dir = opendir(QFile::encodeName(folder).constData());
  if (!dir) return files;
  const int fd = dirfd(dir);
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;  // hidden files, "." and ".."
    const QString name = QFile::decodeName(entry->d_name);
    if (!hasSuffix(name, suffixes)) continue;
    struct stat info;
    if (fstatat(fd, entry->d_name, &info, 0) != 0 || !S_ISREG(info.st_mode)) continue;
    files.push_back({prefix + name, qint64(info.st_size),
                     qint64(info.st_mtim.tv_sec) * 1000 + info.st_mtim.tv_nsec / 1000000});
  }
  closedir(dir);
#else
  QDirIterator it(folder, QDir::Files);
  while (it.hasNext()) {
    it.next();
    if (hasSuffix(it.fileName(), suffixes)) files.push_back(FileStamp::of(it.fileInfo()));
  }
#endif
  return files;
}

}  // namespace latent::ui
