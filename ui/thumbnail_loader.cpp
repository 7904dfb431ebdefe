#include "ui/thumbnail_loader.h"

#include <QBuffer>
#include <QFile>
#include <QImageReader>

#include <exception>
#include <vector>

#include "core/image/png_metadata.h"
#include "ui/image_metadata.h"

namespace latent::ui {
namespace {

constexpr qint64 kMaxImageBytes = 256ll * 1024 * 1024;

}  // namespace

ThumbnailLoader::ThumbnailLoader(int thumbnailSize, QObject* parent) : QObject(parent), m_size(thumbnailSize) {
  qRegisterMetaType<ImageInfo>();
  m_pool.setMaxThreadCount(qBound(1, QThread::idealThreadCount() / 2, 4));
}

ThumbnailLoader::~ThumbnailLoader() {
  m_pool.clear();
  m_pool.waitForDone();  // no task may outlive the object it reports to
}

void ThumbnailLoader::request(const QString& path) {
  if (m_inFlight.contains(path)) return;
  m_inFlight.insert(path);
  const int size = m_size;
  m_pool.start([this, path, size] {
    const ImageInfo info = load(path, size);
    QMetaObject::invokeMethod(
        this,
        [this, info] {
          m_inFlight.remove(info.path);
          Q_EMIT loaded(info);
        },
        Qt::QueuedConnection);
  });
}

ImageInfo ThumbnailLoader::load(const QString& path, int thumbnailSize) {
  ImageInfo info;
  info.path = path;
  info.broken = true;
  try {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly) || file.size() > kMaxImageBytes) return info;
    QByteArray bytes = file.readAll();
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
    const std::vector<unsigned char> data(bytes.begin(), bytes.end());
    const RestoredSettings settings = settingsFromChunks(image::read_png_text(data), {});
    if (settings.found) {
      info.prompt = QString::fromStdString(settings.request.prompt);
      info.negativePrompt = QString::fromStdString(settings.request.negative_prompt);
      info.parametersText = settings.parametersText;
    }
  } catch (const std::exception&) {
    info.broken = true;  // whatever the file holds, the gallery shows it as broken
  }
  return info;
}

}  // namespace latent::ui
