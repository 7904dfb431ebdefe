#include "core/util/starter_model.h"

#include <QFileInfo>

#include "core/util/error.h"
#include "core/util/resources.h"

namespace latent::util {

std::string starter_model_dir() { return resource_path("starter"); }

bool starter_model_available() {
  try {
    return QFileInfo(QString::fromStdString(starter_model_dir() + "/model_index.json")).isFile();
  } catch (const Error&) {
    return false;
  }
}

}  // namespace latent::util
