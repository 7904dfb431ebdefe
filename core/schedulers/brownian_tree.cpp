// Brownian tree after torchsde 0.2.6's BrownianInterval (halfway_tree mode) and numpy's
// SeedSequence (numpy/random/bit_generator.pyx).
#include "core/schedulers/brownian_tree.h"

#include <cmath>
#include <iomanip>
#include <locale>
#include <optional>
#include <sstream>

#include "core/schedulers/random.h"
#include "core/util/error.h"

namespace latent::schedulers {
namespace {

constexpr uint32_t kInitA = 0x43b0d7e5;
constexpr uint32_t kMultA = 0x931e8875;
constexpr uint32_t kInitB = 0x8b51f9dd;
constexpr uint32_t kMultB = 0x58f38ded;
constexpr uint32_t kMixMultL = 0xca01f9dd;
constexpr uint32_t kMixMultR = 0x4973f715;
constexpr int kXShift = 16;

uint32_t hashmix(uint32_t value, uint32_t& hash_const) {
  value ^= hash_const;
  hash_const *= kMultA;
  value *= hash_const;
  value ^= value >> kXShift;
  return value;
}

uint32_t mix(uint32_t x, uint32_t y) {
  uint32_t result = kMixMultL * x - kMixMultR * y;
  result ^= result >> kXShift;
  return result;
}

// An integer as 32-bit words, least significant first; 0 is one word.
void append_words(uint64_t value, std::vector<uint32_t>& out) {
  if (value == 0) out.push_back(0);
  while (value > 0) {
    out.push_back(static_cast<uint32_t>(value & 0xffffffffu));
    value >>= 32;
  }
}

constexpr int kPoolSize = 24;
constexpr double kTolerance = 1e-6;
constexpr size_t kCachedNodes = 64;

}  // namespace

std::vector<uint32_t> seed_sequence_state(uint64_t entropy, const std::vector<uint64_t>& spawn_key,
                                          int pool_size, int n_words) {
  std::vector<uint32_t> run;
  append_words(entropy, run);
  std::vector<uint32_t> spawn;
  for (const uint64_t k : spawn_key) append_words(k, spawn);
  // Since numpy 1.19 a spawned sequence pads the entropy to the pool size.
  if (!spawn.empty() && static_cast<int>(run.size()) < pool_size) run.resize(static_cast<size_t>(pool_size), 0);
  std::vector<uint32_t> entropy_words = run;
  entropy_words.insert(entropy_words.end(), spawn.begin(), spawn.end());

  std::vector<uint32_t> pool(static_cast<size_t>(pool_size));
  uint32_t hash_const = kInitA;
  for (size_t i = 0; i < pool.size(); ++i)
    pool[i] = hashmix(i < entropy_words.size() ? entropy_words[i] : 0, hash_const);
  for (size_t src = 0; src < pool.size(); ++src)
    for (size_t dst = 0; dst < pool.size(); ++dst)
      if (src != dst) pool[dst] = mix(pool[dst], hashmix(pool[src], hash_const));
  for (size_t src = pool.size(); src < entropy_words.size(); ++src)
    for (size_t dst = 0; dst < pool.size(); ++dst)
      pool[dst] = mix(pool[dst], hashmix(entropy_words[src], hash_const));

  std::vector<uint32_t> state(static_cast<size_t>(n_words));
  uint32_t hash_b = kInitB;
  for (size_t i = 0; i < state.size(); ++i) {
    uint32_t v = pool[i % pool.size()];
    v ^= hash_b;
    hash_b *= kMultB;
    v *= hash_b;
    v ^= v >> kXShift;
    state[i] = v;
  }
  return state;
}

struct BrownianTree::Node {
  double start = 0;
  double end = 0;
  Node* parent = nullptr;
  bool is_left = false;
  std::optional<double> midway;
  uint64_t spawn_key = 0;
  uint64_t depth = 0;
  uint32_t w_seed = 0;
  std::unique_ptr<Node> left;
  std::unique_ptr<Node> right;
  torch::Tensor w;  // cached increment over [start, end]
};

BrownianTree::BrownianTree(double t0, double t1, std::vector<int64_t> size, uint64_t entropy)
    : size_(std::move(size)), entropy_(entropy) {
  if (!(t0 <= t1)) throw Error("Brownian tree: t0 must not exceed t1");
  ndigits_ = -static_cast<int>(std::log10(kTolerance));
  root_ = std::make_unique<Node>();
  root_->start = round(t0);
  root_->end = round(t1);
  const auto seeds = seed_sequence_state(entropy_, {}, kPoolSize, 3);
  root_->w = randn(seeds[0]) * std::sqrt(t1 - t0);
}

BrownianTree::~BrownianTree() = default;

double BrownianTree::round(double x) const {
  // Python's round(x, ndigits): the correctly rounded decimal, read back as a double
  // (through the classic locale, whatever locale the application set).
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out << std::fixed << std::setprecision(ndigits_) << x;
  std::istringstream in(out.str());
  in.imbue(std::locale::classic());
  double value = 0;
  in >> value;
  return value;
}

torch::Tensor BrownianTree::randn(uint32_t seed) const {
  auto generator = make_cpu_generator(seed);
  return randn_cpu(size_, generator);
}

torch::Tensor BrownianTree::increment(double ta, double tb) {
  ta = std::min(std::max(ta, root_->start), root_->end);
  tb = std::min(std::max(tb, root_->start), root_->end);
  if (ta > tb) throw Error("Brownian tree: query times must be ordered");
  const double a = round(ta);
  const double b = round(tb);
  if (ta == tb || a == b) return torch::zeros(size_, torch::kFloat32);
  std::vector<Node*> nodes;
  locate(root_.get(), a, b, nodes);
  torch::Tensor w = value_of(nodes.front());
  for (size_t k = 1; k < nodes.size(); ++k) w = w + value_of(nodes[k]);
  return w;
}

void BrownianTree::locate(Node* node, double ta, double tb, std::vector<Node*>& out) {
  while (ta < node->start || tb > node->end) node = node->parent;
  if (ta == node->start && tb == node->end) {
    out.push_back(node);
    return;
  }
  if (!node->midway) {
    if (ta == node->start) {
      split(node, tb);
      locate(node->left.get(), ta, tb, out);
    } else {
      split(node, ta);
      locate(node->right.get(), ta, tb, out);
    }
    return;
  }
  if (tb <= *node->midway) return locate(node->left.get(), ta, tb, out);
  if (ta >= *node->midway) return locate(node->right.get(), ta, tb, out);
  const double mid = *node->midway;
  locate(node->left.get(), ta, mid, out);
  locate(node->right.get(), mid, tb, out);
}

void BrownianTree::split(Node* node, double midway) {
  // halfway_tree: always bisect, then go on splitting the half that holds `midway`.
  split_exact(node, 0.5 * (node->end + node->start));
  if (midway > *node->midway)
    split(node->right.get(), midway);
  else if (midway < *node->midway)
    split(node->left.get(), midway);
}

void BrownianTree::split_exact(Node* node, double midway) {
  node->midway = round(midway);
  if (node->parent) {
    node->spawn_key = 2 * node->parent->spawn_key + (node->is_left ? 0 : 1);
    node->depth = node->parent->depth + 1;
  }
  node->w_seed = seed_sequence_state(entropy_, {node->spawn_key, node->depth}, kPoolSize, 4)[0];
  node->left = std::make_unique<Node>();
  node->left->start = node->start;
  node->left->end = *node->midway;
  node->left->parent = node;
  node->left->is_left = true;
  node->right = std::make_unique<Node>();
  node->right->start = *node->midway;
  node->right->end = node->end;
  node->right->parent = node;
}

torch::Tensor BrownianTree::value_of(Node* node) {
  if (node->w.defined()) return node->w;
  Node* parent = node->parent;
  const torch::Tensor w = value_of(parent);
  // The Brownian bridge: the left part of the parent's increment given its total.
  const double h_reciprocal = 1 / (parent->end - parent->start);
  const double left_diff = *parent->midway - parent->start;
  const double right_diff = parent->end - *parent->midway;
  const auto mean = w * left_diff * h_reciprocal;
  const double var = left_diff * right_diff * h_reciprocal;
  const auto left_w = mean + std::sqrt(var) * randn(parent->w_seed);
  torch::Tensor out = node->is_left ? left_w : w - left_w;

  // Keep a bounded number of increments, as torchsde's LRU cache does; they are
  // recomputed identically when needed again.
  node->w = out;
  cached_.push_back(node);
  if (cached_.size() > kCachedNodes) {
    cached_.front()->w = torch::Tensor();
    cached_.pop_front();
  }
  return out;
}

}  // namespace latent::schedulers
