#include "core/util/stdout_capture.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/util/error.h"

namespace latent::util {
namespace {

[[noreturn]] void fail(const char* what) {
  throw Error(std::string("capturing the standard output: ") + what + ": " + std::strerror(errno));
}

}  // namespace

StdoutCapture::StdoutCapture() {
  std::fflush(stdout);
  std::FILE* file = std::tmpfile();
  if (!file) fail("no temporary file");
  capture_fd_ = dup(fileno(file));
  std::fclose(file);  // the descriptor keeps the unnamed file
  if (capture_fd_ < 0) fail("dup");
  saved_fd_ = dup(STDOUT_FILENO);
  if (saved_fd_ < 0 || dup2(capture_fd_, STDOUT_FILENO) < 0) {
    const int error = errno;
    if (saved_fd_ >= 0) close(saved_fd_);
    close(capture_fd_);
    errno = error;
    fail("redirecting descriptor 1");
  }
}

StdoutCapture::~StdoutCapture() {
  restore();
  if (capture_fd_ >= 0) close(capture_fd_);
}

void StdoutCapture::restore() {
  if (saved_fd_ < 0) return;
  std::fflush(stdout);
  dup2(saved_fd_, STDOUT_FILENO);
  close(saved_fd_);
  saved_fd_ = -1;
}

std::string StdoutCapture::finish() {
  restore();
  std::string text;
  if (lseek(capture_fd_, 0, SEEK_SET) < 0) fail("rewinding the temporary file");
  char buffer[65536];
  while (true) {
    const ssize_t n = read(capture_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("reading the temporary file");
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace latent::util
