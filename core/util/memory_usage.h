#pragma once

// Resident memory of this process, read from /proc (Linux); -1 where unavailable.

#include <cstdint>

namespace latent::util {

// Bytes resident now (VmRSS).
int64_t resident_bytes();

// The high-water mark of resident bytes (VmHWM) since the process started or since the
// last successful reset_peak_resident().
int64_t peak_resident_bytes();

// Restarts the high-water mark at the current resident size (Linux 4.0+). Returns false
// where the system refuses, in which case the peak keeps counting from the start.
bool reset_peak_resident();

// Hands freed heap memory back to the system (glibc keeps it otherwise), so that resident
// figures taken afterwards show what is in use.
void release_free_memory();

}  // namespace latent::util
