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

namespace latent {

// Thrown when a cancellation token is set during long work; not an error the
// user needs to be told about, so it is kept apart from latent::Error.
class Cancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "cancelled"; }
};

}  // namespace latent
