#pragma once

// A port of torchsde's BrownianInterval as diffusers' DPM++ SDE sampler configures it
// (halfway_tree = True, tol = 1e-6, pool_size = 24, no Lévy area): Brownian increments
// over [t0, t1] that depend only on the entropy, not on the order of the queries. The
// random numbers come from numpy's SeedSequence and torch's CPU generator, so the noise
// equals torchsde's for the same entropy.

#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

namespace latent::schedulers {

// numpy.random.SeedSequence(entropy, spawn_key=..., pool_size=...).generate_state(n).
std::vector<uint32_t> seed_sequence_state(uint64_t entropy, const std::vector<uint64_t>& spawn_key,
                                          int pool_size, int n_words);

class BrownianTree {
 public:
  // Increments of shape `size` (float32, CPU) over [t0, t1], t0 <= t1.
  BrownianTree(double t0, double t1, std::vector<int64_t> size, uint64_t entropy);
  ~BrownianTree();
  BrownianTree(const BrownianTree&) = delete;
  BrownianTree& operator=(const BrownianTree&) = delete;

  // W(tb) − W(ta) for ta <= tb, clamped to [t0, t1] as torchsde does.
  torch::Tensor increment(double ta, double tb);

 private:
  struct Node;
  torch::Tensor value_of(Node* node);
  void locate(Node* node, double ta, double tb, std::vector<Node*>& out);
  void split(Node* node, double midway);
  void split_exact(Node* node, double midway);
  torch::Tensor randn(uint32_t seed) const;
  double round(double x) const;

  std::vector<int64_t> size_;
  uint64_t entropy_;
  int ndigits_;
  std::unique_ptr<Node> root_;
  std::deque<Node*> cached_;  // nodes holding their increment, oldest first
};

}  // namespace latent::schedulers
