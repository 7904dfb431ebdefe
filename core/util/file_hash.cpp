#include "core/util/file_hash.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLockFile>
#include <QSaveFile>
#include <QStandardPaths>

#include <sys/stat.h>

namespace latent::util {
namespace {

// Entries beyond this are dropped, oldest first, so the cache stays small.
constexpr int kMaxEntries = 256;

// "path\tsize\tmtime-ns" per file, one line each; empty when a file is missing.
QString cache_key(const std::vector<std::string>& paths) {
  QStringList lines;
  for (const auto& path : paths) {
    const QFileInfo info(QString::fromStdString(path));
    struct stat st {};
    if (!info.isFile() || ::stat(path.c_str(), &st) != 0) return {};
    const qint64 mtime_ns = static_cast<qint64>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    lines << info.absoluteFilePath() + '\t' + QString::number(static_cast<qint64>(st.st_size)) +
                 '\t' + QString::number(mtime_ns);
  }
  return lines.join('\n');
}

QJsonObject read_cache(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) return {};
  return QJsonDocument::fromJson(file.readAll()).object();
}

}  // namespace

std::string file_hash_cache_path() {
  return QDir(QStandardPaths::writableLocation(QStandardPaths::CacheLocation))
      .filePath("file-hashes.json")
      .toStdString();
}

std::string sha256_of_files(const std::vector<std::string>& paths) {
  QCryptographicHash hash(QCryptographicHash::Sha256);
  for (const auto& path : paths) {
    QFile file(QString::fromStdString(path));
    if (!file.open(QIODevice::ReadOnly) || !hash.addData(&file)) return {};
  }
  return hash.result().toHex().toStdString();
}

std::string cached_sha256(const std::vector<std::string>& paths) {
  const QString key = cache_key(paths);
  if (key.isEmpty()) return sha256_of_files(paths);
  const QString cache_path = QString::fromStdString(file_hash_cache_path());
  const QJsonObject cached = read_cache(cache_path).value(key).toObject();
  const QString known = cached.value("sha256").toString();
  if (known.size() == 64) return known.toStdString();

  const std::string digest = sha256_of_files(paths);
  if (digest.empty()) return digest;
  // The file changed while we read it: do not remember a hash of something in between.
  if (cache_key(paths) != key) return digest;

  QDir().mkpath(QFileInfo(cache_path).absolutePath());
  QLockFile lock(cache_path + ".lock");
  if (!lock.tryLock(2000)) return digest;
  QJsonObject cache = read_cache(cache_path);  // again: another process may have written
  cache.insert(key, QJsonObject{{"sha256", QString::fromStdString(digest)},
                                {"stored", QDateTime::currentSecsSinceEpoch()}});
  while (cache.size() > kMaxEntries) {
    auto oldest = cache.begin();
    for (auto it = cache.begin(); it != cache.end(); ++it)
      if (it.value().toObject().value("stored").toDouble() <
          oldest.value().toObject().value("stored").toDouble())
        oldest = it;
    cache.erase(oldest);
  }
  QSaveFile file(cache_path);
  if (file.open(QIODevice::WriteOnly)) {
    file.write(QJsonDocument(cache).toJson(QJsonDocument::Compact));
    file.commit();
  }
  return digest;
}

}  // namespace latent::util
