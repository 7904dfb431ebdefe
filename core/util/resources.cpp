#include "core/util/resources.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

#include <vector>

#include "core/util/error.h"

namespace latent::util {
namespace {

// The folder holding the running executable (Linux: /proc/self/exe), so an installed
// program finds <prefix>/share/latentstudio wherever the prefix is.
QString executable_dir() {
  if (QCoreApplication::instance()) return QCoreApplication::applicationDirPath();
  return QFileInfo(QFileInfo("/proc/self/exe").symLinkTarget()).absolutePath();
}

bool looks_like_resources(const QString& dir) {
  return QFileInfo(dir + "/tokenizer/vocab.json").isFile();
}

}  // namespace

std::string resources_dir() {
  std::vector<QString> candidates;
  const QString from_env = qEnvironmentVariable("LATENT_RESOURCES_DIR");
  if (!from_env.isEmpty()) candidates.push_back(from_env);
  candidates.push_back(QDir(executable_dir()).absoluteFilePath("../share/latentstudio"));
#ifdef LATENT_SOURCE_RESOURCES
  candidates.push_back(QStringLiteral(LATENT_SOURCE_RESOURCES));  // running from a build tree
#endif
  std::string searched;
  for (const QString& dir : candidates) {
    if (looks_like_resources(dir)) return QDir(dir).canonicalPath().toStdString();
    searched += (searched.empty() ? "" : ", ") + dir.toStdString();
  }
  throw Error("the bundled resources (tokenizer vocabulary, model configs) were not found in " +
              searched + ": the installation is incomplete; set LATENT_RESOURCES_DIR to the folder");
}

std::string resource_path(const std::string& relative) { return resources_dir() + "/" + relative; }

}  // namespace latent::util
