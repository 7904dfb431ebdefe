#pragma once

// Catches what the process writes to its standard output (file descriptor 1) for a while:
// a library that reports only by printing (oneDNN's verbose mode) can be read back. The
// output goes to an unnamed temporary file, so nothing blocks however much is written.
// Only one capture at a time; other threads' output in that time is caught too.

#include <string>

namespace latent::util {

class StdoutCapture {
 public:
  // Starts capturing; throws latent::Error when the descriptors cannot be redirected.
  StdoutCapture();
  // Restores the output if finish() was not called.
  ~StdoutCapture();
  StdoutCapture(const StdoutCapture&) = delete;
  StdoutCapture& operator=(const StdoutCapture&) = delete;

  // Restores the output and returns everything written since the start.
  std::string finish();

 private:
  void restore();
  int saved_fd_ = -1;
  int capture_fd_ = -1;
};

}  // namespace latent::util
