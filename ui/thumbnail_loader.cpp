#include "ui/thumbnail_loader.h"

#include <QBuffer>
#include <QFile>
#include <QImageReader>
#include <QMutexLocker>

#include <exception>
#include <vector>

#include "core/image/png_metadata.h"
#include "ui/image_metadata.h"

namespace latent::ui {
namespace {

constexpr qint64 kMaxImageBytes = 256ll * 1024 * 1024;

// The file's bytes, or an empty array when it cannot be read or is too large to be a picture.
QByteArray readBytes(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly) || file.size() > kMaxImageBytes) return {};
  return file.readAll();
}

// The prompts the file's text chunks carry; none when they cannot be read.
void readSettings(const QByteArray& bytes, ImageInfo& info) {
  try {
    const std::vector<unsigned char> data(bytes.begin(), bytes.end());
    const RestoredSettings settings = settingsFromChunks(image::read_png_text(data), {});
    if (settings.found) {
      info.prompt = QString::fromStdString(settings.request.prompt);
      info.negativePrompt = QString::fromStdString(settings.request.negative_prompt);
    }
  } catch (const std::exception&) {
    // A picture with unreadable settings is still a picture.
  }
}

}  // namespace

ThumbnailLoader::ThumbnailLoader(int thumbnailSize, QObject* parent)
    : QObject(parent), m_size(thumbnailSize) {
  qRegisterMetaType<ImageInfo>();
  m_pool.setMaxThreadCount(qBound(1, QThread::idealThreadCount() / 2, 4));
}

ThumbnailLoader::~ThumbnailLoader() {
  {
    QMutexLocker lock(&m_mutex);
    m_stopping = true;
    m_queued.clear();
  }
  m_pool.waitForDone();  // no read may outlive the object it reports to
}

void ThumbnailLoader::setCache(const ThumbnailCache& cache) {
  QMutexLocker lock(&m_mutex);
  m_cache = cache;
}

void ThumbnailLoader::request(const FileStamp& file, bool withMetadata, Priority priority) {
  const bool visible = priority == Priority::Visible;
  QMutexLocker lock(&m_mutex);
  if (m_stopping) return;
  const auto running = m_running.constFind(file.path);
  if (running != m_running.cend() && running->file == file && (running->withMetadata || !withMetadata) &&
      (running->withThumbnail || !visible))
    return;  // what is asked for is on its way
  auto queued = m_queued.find(file.path);
  if (queued == m_queued.end()) {
    queued = m_queued.insert(file.path, Job{file, withMetadata, visible});
    (visible ? m_visible : m_background).push_back(file.path);
  } else {
    queued->file = file;
    queued->withMetadata = queued->withMetadata || withMetadata;
    if (visible && !queued->withThumbnail) {
      queued->withThumbnail = true;
      m_visible.push_back(file.path);  // its place in the background queue is skipped when reached
    }
  }
  startWorkers();
}

void ThumbnailLoader::clear() {
  QMutexLocker lock(&m_mutex);
  m_queued.clear();
  m_visible.clear();
  m_background.clear();
}

void ThumbnailLoader::forget(const QStringList& paths) {
  if (paths.isEmpty()) return;
  QMutexLocker lock(&m_mutex);
  for (const QString& path : paths) m_queued.remove(path);
  const ThumbnailCache cache = m_cache;
  QThreadPool::globalInstance()->start([cache, paths] {
    for (const QString& path : paths) cache.remove(path);
  });
}

// Called with the mutex held.
void ThumbnailLoader::startWorkers() {
  while (m_workers < m_pool.maxThreadCount() && m_workers < m_queued.size()) {
    ++m_workers;
    m_pool.start([this] { work(); });
  }
}

bool ThumbnailLoader::takeJob(Job* job, ThumbnailCache* cache) {
  QMutexLocker lock(&m_mutex);
  while (!m_stopping && !m_queued.isEmpty()) {
    std::deque<QString>& from = m_visible.empty() ? m_background : m_visible;
    if (from.empty()) break;  // cannot happen while jobs are queued; stops a worker all the same
    const QString path = &from == &m_visible ? from.back() : from.front();
    if (&from == &m_visible)
      from.pop_back();
    else
      from.pop_front();
    const auto queued = m_queued.constFind(path);
    if (queued == m_queued.cend()) continue;  // taken through the other queue, or dropped
    *job = *queued;
    m_queued.erase(queued);
    m_running.insert(path, *job);
    *cache = m_cache;
    return true;
  }
  m_visible.clear();
  m_background.clear();
  --m_workers;
  return false;
}

void ThumbnailLoader::work() {
  Job job;
  ThumbnailCache cache;
  while (takeJob(&job, &cache)) {
    const ImageInfo info = run(job, cache);
    QMetaObject::invokeMethod(
        this,
        [this, info] {
          {
            QMutexLocker lock(&m_mutex);
            m_running.remove(info.file.path);
          }
          Q_EMIT loaded(info);
        },
        Qt::QueuedConnection);
  }
}

ImageInfo ThumbnailLoader::run(const Job& job, const ThumbnailCache& cache) const {
  const FileStamp now = FileStamp::of(QFileInfo(job.file.path));
  if (const QImage cached = cache.find(now); !cached.isNull()) {
    // The picture decoded once before: its thumbnail is cached, only the text is read again.
    ImageInfo info;
    info.file = now;
    if (job.withThumbnail) info.thumbnail = cached;
    if (job.withMetadata) {
      const QByteArray bytes = readBytes(now.path);
      QBuffer buffer;
      buffer.setData(bytes);
      info.imageSize = QImageReader(&buffer).size();
      readSettings(bytes, info);
      info.hasMetadata = true;
    }
    return info;
  }
  ImageInfo info = load(job.file.path, m_size);
  if (!info.broken && info.file == now) cache.store(now, info.thumbnail);
  if (!job.withThumbnail) info.thumbnail = QImage();
  return info;
}

ImageInfo ThumbnailLoader::load(const QString& path, int thumbnailSize) {
  ImageInfo info;
  info.file = FileStamp::of(QFileInfo(path));
  info.hasMetadata = true;
  info.broken = true;
  try {
    QByteArray bytes = readBytes(path);
    if (bytes.isEmpty()) return info;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::ReadOnly);
    QImageReader reader(&buffer);
    reader.setAutoTransform(true);
    const QSize size = reader.size();
    if (size.isValid() && (size.width() > thumbnailSize || size.height() > thumbnailSize))
      reader.setScaledSize(size.scaled(thumbnailSize, thumbnailSize, Qt::KeepAspectRatio));
    QImage image = reader.read();
    if (!image.isNull()) {
      // Small images are enlarged too, so the grid is even.
      if (image.width() != thumbnailSize && image.height() != thumbnailSize)
        image = image.scaled(thumbnailSize, thumbnailSize, Qt::KeepAspectRatio, Qt::SmoothTransformation);
      info.thumbnail = image;
      info.imageSize = size.isValid() ? size : image.size();
      info.broken = false;
    }
    readSettings(bytes, info);
  } catch (const std::exception&) {
    info.broken = true;  // whatever the file holds, the gallery shows it as broken
  }
  return info;
}

}  // namespace latent::ui
