#pragma once

// Sets LATENT_MEMORY_LIMIT_MB for one scope, so that util::available_memory(), and with it
// every check that refuses work for lack of memory, sees a machine with only `mib` MiB to
// spare. The variable's previous state comes back at the end of the scope.

#include <QByteArray>
#include <QtGlobal>

namespace latent::test {

class MemoryLimit {
 public:
  explicit MemoryLimit(int mib)
      : was_set_(qEnvironmentVariableIsSet(kVariable)), previous_(qgetenv(kVariable)) {
    qputenv(kVariable, QByteArray::number(mib));
  }
  ~MemoryLimit() {
    if (was_set_) qputenv(kVariable, previous_);
    else qunsetenv(kVariable);
  }
  MemoryLimit(const MemoryLimit&) = delete;
  MemoryLimit& operator=(const MemoryLimit&) = delete;

 private:
  static constexpr const char* kVariable = "LATENT_MEMORY_LIMIT_MB";
  bool was_set_;
  QByteArray previous_;
};

}  // namespace latent::test
