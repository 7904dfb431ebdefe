#pragma once

// Timing for tests that compare two pieces of work on the same machine ("reading a file that
// claims 100 MiB takes no longer than one that claims 25 MiB"). Tests never hold a duration
// against a fixed limit: that would pass or fail with the machine's speed and load, not with
// the code.

#include <QElapsedTimer>

#include <algorithm>
#include <limits>

namespace latent::test {

// Seconds of the fastest of `tries` runs of `work`: the run least disturbed by other programs.
template <typename Work>
double fastest_seconds(int tries, Work&& work) {
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < tries; ++i) {
    QElapsedTimer clock;
    clock.start();
    work();
    best = std::min(best, static_cast<double>(clock.nsecsElapsed()) * 1e-9);
  }
  return best;
}

}  // namespace latent::test
