#include "ui/image_saver.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>

#include "core/api/upscaler_names.h"
#include "core/image/png_metadata.h"
#include "core/util/error.h"
#include "ui/image_metadata.h"

namespace latent::ui {

QString uniqueImagePath(const QString& dir, uint64_t seed) {
  static const QRegularExpression numbered(QStringLiteral("^(\\d+)-"));
  int highest = 0;
  const QStringList names = QDir(dir).entryList(QDir::Files | QDir::NoDotAndDotDot);
  for (const QString& name : names) {
    const auto match = numbered.match(name);
    if (match.hasMatch()) highest = std::max(highest, match.captured(1).toInt());
  }
  for (int number = highest + 1;; ++number) {
    const QString path = QDir(dir).filePath(
        QStringLiteral("%1-%2.png").arg(number, 5, 10, QLatin1Char('0')).arg(seed));
    if (!QFileInfo::exists(path)) return path;
  }
}

QString upscaledImagePath(const QString& source, const QString& upscaler, double scale) {
  const QFileInfo info(source);
  const QString name = QString::fromStdString(api::upscaler_metadata_name(upscaler.toStdString()));
  QString stem = QStringLiteral("%1-%2-x%3").arg(info.completeBaseName(), name, scale > 0 ? QString::number(scale) : QString());
  stem.replace(QRegularExpression(QStringLiteral("[\\\\/:*?\"<>| ]+")), QStringLiteral("_"));
  QString path = info.dir().filePath(stem + QStringLiteral(".png"));
  for (int n = 2; QFileInfo::exists(path); ++n) path = info.dir().filePath(QStringLiteral("%1-%2.png").arg(stem).arg(n));
  return path;
}

QByteArray encodedResultImage(const api::GenerationResult& result, int index,
                              const api::LoadOptions& model) {
  const auto bytes = image::encode_png(result.images.at(index), metadataChunks(result, index, model));
  return QByteArray(reinterpret_cast<const char*>(bytes.data()), static_cast<qsizetype>(bytes.size()));
}

QString saveResultImage(const QString& dir, const api::GenerationResult& result, int index,
                        const api::LoadOptions& model) {
  if (!QDir().mkpath(dir)) throw Error("cannot create the output folder '" + dir.toStdString() + "'");
  const QString path = uniqueImagePath(dir, result.seed_of(index));
  const auto bytes = image::encode_png(result.images.at(index), metadataChunks(result, index, model));
  image::write_file_atomically(path.toStdString(), bytes);
  return path;
}

}  // namespace latent::ui
