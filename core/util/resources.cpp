#include "core/util/resources.h"

#include <QFileInfo>

#include "core/util/error.h"

namespace latent::util {

std::string resources_dir() {
#ifdef LATENT_SOURCE_RESOURCES
  const std::string source_tree = LATENT_SOURCE_RESOURCES;
  if (QFileInfo(QString::fromStdString(source_tree)).isDir()) return source_tree;
  throw Error("the bundled resources folder '" + source_tree +
              "' is missing: the installation is incomplete");
#else
  throw Error("this build does not know where its bundled resources are");
#endif
}

std::string resource_path(const std::string& relative) { return resources_dir() + "/" + relative; }

}  // namespace latent::util
