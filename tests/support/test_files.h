#pragma once

// Files for tests to write, and a disk that fills up. Header-only, so that the GUI suites
// (which do not link latent_test_support) can use it too.

#include <sys/resource.h>

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QString>

#include <csignal>

namespace latent::test {

// Writes `bytes` to `path`, making its folder first. False when that fails.
inline bool write_file(const QString& path, const QByteArray& bytes) {
  if (!QDir().mkpath(QFileInfo(path).path())) return false;
  QFile file(path);
  return file.open(QIODevice::WriteOnly) && file.write(bytes) == bytes.size();
}

// While it lives, files this process writes stop growing at `bytes`, as on a full disk; writes
// past it fail with EFBIG instead of raising SIGXFSZ. Unlike permissions, this also holds for root.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    m_handler = std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &m_old);
    rlimit limited = m_old;
    limited.rlim_cur = bytes;
    m_ok = setrlimit(RLIMIT_FSIZE, &limited) == 0;
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &m_old);
    std::signal(SIGXFSZ, m_handler);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  bool ok() const { return m_ok; }

 private:
  rlimit m_old{};
  void (*m_handler)(int) = nullptr;
  bool m_ok = false;
};

}  // namespace latent::test
