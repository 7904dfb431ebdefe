#include "core/util/cpu_info.h"

#include <cstdlib>
#include <fstream>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace latent::util {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// CPUID leaf 7: subleaf 0 EDX bit 22 = AMX-BF16; subleaf 1 EAX bit 5 = AVX512-BF16.
// The OS must also have enabled the AVX-512 (and AMX tile) register state: XCR0.
bool xcr0_has(unsigned mask) {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return false;  // OSXSAVE
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const unsigned long long xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  return (xcr0 & mask) == mask;
}

bool leaf7(unsigned subleaf, unsigned* eax, unsigned* ebx, unsigned* ecx, unsigned* edx) {
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, subleaf, *eax, *ebx, *ecx, *edx);
  return true;
}
#endif

}  // namespace

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto name = line.substr(colon + 1);
        name.erase(0, name.find_first_not_of(" \t"));
        return name;
      }
    }
  }
  return "unknown";
}

bool cpu_has_native_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!leaf7(1, &eax, &ebx, &ecx, &edx)) return false;
  const bool avx512_bf16 = (eax & (1u << 5)) && xcr0_has(0xE6);  // SSE, AVX, opmask, ZMM state
  return avx512_bf16 || cpu_has_amx_bf16();
#else
  return false;
#endif
}

bool cpu_has_amx_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!leaf7(0, &eax, &ebx, &ecx, &edx)) return false;
  return (edx & (1u << 22)) && xcr0_has(0x60000);  // XTILECFG, XTILEDATA state
#else
  return false;
#endif
}

LoadAverage load_average() {
  LoadAverage out;
  double values[3];
  if (getloadavg(values, 3) == 3) out = {values[0], values[1], values[2]};
  return out;
}

}  // namespace latent::util
