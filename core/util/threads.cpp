#include "core/util/threads.h"

#include <torch/torch.h>

#include <sched.h>

#include <fstream>
#include <set>
#include <thread>
#include <utility>

#include "core/util/error.h"

namespace latent::util {
namespace {

int read_int(const std::string& path, int fallback) {
  std::ifstream in(path);
  int value = fallback;
  if (!(in >> value)) return fallback;
  return value;
}

}  // namespace

int physical_cores_available() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Hyper-threads of one core share its arithmetic units: count cores, not CPUs.
  std::set<std::pair<int, int>> cores;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    const std::string topology = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    const int package = read_int(topology + "physical_package_id", -1);
    const int core = read_int(topology + "core_id", -1);
    cores.insert(core < 0 ? std::make_pair(-1, cpu) : std::make_pair(package, core));
  }
  return std::max<int>(1, static_cast<int>(cores.size()));
}

void set_thread_count(int threads) {
  if (threads < 0 || threads > 1024)
    throw Error("thread count " + std::to_string(threads) + " is out of range: use 0 (all cores) to 1024");
  if (threads == 0) threads = physical_cores_available();
  torch::set_num_threads(threads);
}

int thread_count() { return torch::get_num_threads(); }

}  // namespace latent::util
