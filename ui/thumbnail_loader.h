#pragma once

// Reads pictures off the GUI thread: the thumbnail and the metadata of each file. Pictures
// on screen go first, the most recently asked for first; the rest of the folder is read
// behind them. Thumbnails come from the on-disk cache (thumbnail_cache.h) when it holds the
// file's current version, and every thumbnail made is stored there. Results come back as
// queued signals on the loader's thread.

#include <QHash>
#include <QImage>
#include <QMetaType>
#include <QMutex>
#include <QObject>
#include <QSize>
#include <QString>
#include <QThreadPool>

#include <deque>

#include "ui/file_stamp.h"
#include "ui/thumbnail_cache.h"

namespace latent::ui {

struct ImageInfo {
  FileStamp file;   // the file as it was read
  QImage thumbnail;  // fills a square of the loader's size (keeping its aspect); null when broken or not asked for
  bool hasMetadata = false;  // the fields below were read, not only the thumbnail
  QSize imageSize;
  bool broken = false;  // not an image we can decode (truncated, corrupt, foreign)
  QString prompt;
  QString negativePrompt;
};

class ThumbnailLoader : public QObject {
  Q_OBJECT

 public:
  enum class Priority {
    Visible,     // on screen now: before everything else, the latest request first
    Background,  // the rest of the folder, in the order asked
  };

  // Starts without a cache: setCache() gives it one.
  explicit ThumbnailLoader(int thumbnailSize, QObject* parent = nullptr);
  ~ThumbnailLoader() override;  // drops queued reads and waits for running ones

  // Queues a read of `file`: its metadata when `withMetadata`, and its thumbnail when the
  // priority is Visible (a background read still makes and caches the thumbnail but does
  // not send it). A file already queued is not queued twice; a Visible request moves it
  // to the front.
  void request(const FileStamp& file, bool withMetadata, Priority priority);
  // Drops every queued read (the folder changed); reads running now still report.
  void clear();
  // Removes the cached thumbnails of pictures that are gone, in the background.
  void forget(const QStringList& paths);

  int thumbnailSize() const { return m_size; }
  void setCache(const ThumbnailCache& cache);

  // Reads the whole file: thumbnail, size and metadata, on whatever thread calls it.
  // Never throws.
  static ImageInfo load(const QString& path, int thumbnailSize);

 Q_SIGNALS:
  void loaded(const latent::ui::ImageInfo& info);

 private:
  struct Job {
    FileStamp file;
    bool withMetadata = false;
    bool withThumbnail = false;
  };

  void startWorkers();
  void work();
  bool takeJob(Job* job, ThumbnailCache* cache);
  ImageInfo run(const Job& job, const ThumbnailCache& cache) const;

  const int m_size;
  QThreadPool m_pool;
  QMutex m_mutex;  // guards everything below
  ThumbnailCache m_cache;
  QHash<QString, Job> m_queued;
  QHash<QString, Job> m_running;
  std::deque<QString> m_visible;     // taken from the back
  std::deque<QString> m_background;  // taken from the front
  int m_workers = 0;
  bool m_stopping = false;
};

}  // namespace latent::ui

Q_DECLARE_METATYPE(latent::ui::ImageInfo)
