#pragma once

namespace latent::util {

// Sets LibTorch's intra-op thread count; 0 means one per physical core this process may
// run on (Debian's LibTorch starts with a single thread; hyper-threads of a core share
// its arithmetic units and slow the convolutions down).
void set_thread_count(int threads);

// The thread count in effect.
int thread_count();

// Physical cores in this process's CPU affinity mask (at least 1).
int physical_cores_available();

}  // namespace latent::util
