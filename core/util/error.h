#pragma once

#include <stdexcept>
#include <string>

namespace latent {

// Every failure a user can cause (a bad file, a bad value) is reported as this
// exception, with a message that names the file or value and what was expected.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace latent
