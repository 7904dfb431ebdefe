#pragma once

// Reads images off the GUI thread: a thumbnail and the metadata of each file, one
// pool task per file. Results come back as queued signals on the loader's thread.

#include <QDateTime>
#include <QImage>
#include <QMetaType>
#include <QObject>
#include <QSet>
#include <QSize>
#include <QString>
#include <QThreadPool>

namespace latent::ui {

struct ImageInfo {
  QString path;
  QImage thumbnail;    // fills a square of the loader's size (keeping its aspect); null when broken
  QSize imageSize;
  bool broken = false;  // not an image we can decode (truncated, corrupt, foreign)
  QString prompt;
  QString negativePrompt;
  QString parametersText;
};

class ThumbnailLoader : public QObject {
  Q_OBJECT

 public:
  explicit ThumbnailLoader(int thumbnailSize, QObject* parent = nullptr);
  ~ThumbnailLoader() override;  // drops queued reads and waits for running ones

  // Queues a read unless one for `path` is already on its way.
  void request(const QString& path);
  int thumbnailSize() const { return m_size; }

  // The work of one task, on whatever thread calls it. Never throws.
  static ImageInfo load(const QString& path, int thumbnailSize);

 Q_SIGNALS:
  void loaded(const latent::ui::ImageInfo& info);

 private:
  int m_size;
  QThreadPool m_pool;
  QSet<QString> m_inFlight;
};

}  // namespace latent::ui

Q_DECLARE_METATYPE(latent::ui::ImageInfo)
