#include "output_files.h"

#include <QDir>
#include <QFileInfo>

#include "core/util/error.h"

using latent::Error;

std::vector<QString> numberedOutputPaths(const QString& out, int count) {
  if (count == 1) return {out};
  const QFileInfo info(out);
  const QString suffix = info.suffix().isEmpty() ? QString("png") : info.suffix();
  std::vector<QString> paths;
  for (int i = 1; i <= count; ++i)
    paths.push_back(info.dir().filePath(info.completeBaseName() + "-" + QString::number(i) + "." + suffix));
  return paths;
}

void checkOutputPaths(const std::vector<QString>& paths, bool overwrite) {
  for (const QString& path : paths) {
    const QFileInfo info(path);
    if (!info.dir().exists())
      throw Error("the output folder '" + info.dir().path().toStdString() + "' does not exist");
    if (info.exists() && !overwrite)
      throw Error("'" + path.toStdString() + "' exists already; choose another name or pass --overwrite");
    if (info.suffix().compare("png", Qt::CaseInsensitive) != 0)
      throw Error("'" + path.toStdString() + "': images are written as PNG, so the name must end in .png");
  }
}
