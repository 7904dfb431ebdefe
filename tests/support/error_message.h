#pragma once

// The message of the latent::Error a piece of work throws, for the suites that check what a
// refusal says.

#include <QString>
#include <functional>

#include "core/util/error.h"

namespace latent::test {

// The message of the latent::Error `work` throws; empty when it throws none.
inline QString error_message(const std::function<void()>& work) {
  try {
    work();
  } catch (const Error& error) {
    return QString::fromUtf8(error.what());
  }
  return {};
}

}  // namespace latent::test
