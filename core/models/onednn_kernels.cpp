#include "core/models/onednn_kernels.h"

#include "core/util/error.h"

#ifdef LATENT_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>
#endif

namespace latent::models::onednn {

bool supports_inference(const torch::Tensor& t) {
  return supports(t) && !(torch::GradMode::is_enabled() && t.requires_grad());
}

bool takes_epilogue(const Epilogue& epilogue, const torch::Tensor& out) {
  if (epilogue.gelu && epilogue.exp) return false;
  for (const auto* t : {&epilogue.times, &epilogue.plus})
    if (t->defined() && !(t->sizes() == out.sizes() && t->is_contiguous() &&
                          t->scalar_type() == out.scalar_type() && t->device().is_cpu() && !t->is_same(out)))
      return false;
  return true;
}

#ifdef LATENT_WITH_ONEDNN
namespace {

dnnl::memory::data_type data_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return dnnl::memory::data_type::f32;
    case torch::kBFloat16: return dnnl::memory::data_type::bf16;
    default: throw Error(std::string("oneDNN kernels: unsupported dtype ") + c10::toString(t.scalar_type()));
  }
}

// The tensor's sizes and strides as oneDNN sees them. A dimension of size 1 gets the stride
// a dense layout would give it: LibTorch leaves any value there (a narrowed head, say),
// and oneDNN takes odd strides as a reason to fall back to slow code. A leading one is the
// outermost, spanning all the others: that keeps a transposed operand (kᵀ of one head,
// [1, d, N] with strides {·, 1, d}) recognisable as dense, which the brgemm kernels need.
dnnl::memory::desc describe(const torch::Tensor& t) {
  dnnl::memory::dims sizes(t.sizes().begin(), t.sizes().end());
  dnnl::memory::dims strides(t.strides().begin(), t.strides().end());
  for (int64_t i = t.dim() - 1; i >= 1; --i)
    if (sizes[i] == 1) strides[i] = i + 1 < t.dim() ? sizes[i + 1] * strides[i + 1] : 1;
  if (t.dim() > 0 && sizes[0] == 1) {
    strides[0] = 1;
    for (int64_t j = 1; j < t.dim(); ++j) strides[0] = std::max(strides[0], sizes[j] * strides[j]);
  }
  return dnnl::memory::desc(sizes, data_type(t), strides);
}

void append_layout(std::vector<int64_t>& key, const dnnl::memory::desc& md) {
  key.push_back(static_cast<int64_t>(md.data_type()));
  const auto& d = md.data;
  key.insert(key.end(), d.dims, d.dims + d.ndims);
  key.insert(key.end(), d.format_desc.blocking.strides, d.format_desc.blocking.strides + d.ndims);
}

// One engine for the process and the primitives built so far, by kind and layout.
// Creating a primitive costs far more than running a small one, and a generation asks
// for the same few layouts at every step. Executing a primitive is thread-safe.
class Primitives {
 public:
  const dnnl::engine& engine() const { return engine_; }

  template <typename Make>
  dnnl::primitive get(const std::vector<int64_t>& key, Make make) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    // Every image size brings its own layouts; a long session must not grow without bound.
    if (cache_.size() >= kCapacity) cache_.clear();
    return cache_.emplace(key, make()).first->second;
  }

 private:
  static constexpr size_t kCapacity = 256;
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  std::mutex mutex_;
  std::map<std::vector<int64_t>, dnnl::primitive> cache_;
};

Primitives& primitives() {
  static Primitives p;
  return p;
}

// Streams are not thread-safe; each calling thread runs its own.
dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(primitives().engine());
  return stream;
}

dnnl::memory wrap(const dnnl::memory::desc& md, const torch::Tensor& t) {
  return dnnl::memory(md, primitives().engine(), t.data_ptr());
}

void check(bool ok, const std::string& what) {
  if (!ok) throw Error("oneDNN kernels: " + what);
}

}  // namespace

bool available() { return true; }

bool supports(const torch::Tensor& t) {
  return t.device().is_cpu() && (t.scalar_type() == torch::kFloat32 || t.scalar_type() == torch::kBFloat16);
}

void batched_matmul(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& out, float scale,
                    const torch::Tensor& bias, const Epilogue& epilogue) {
  check(a.dim() == 3 && b.dim() == 3 && out.dim() == 3, "batched_matmul takes 3-D tensors");
  check(a.size(0) == b.size(0) && a.size(0) == out.size(0) && a.size(2) == b.size(1) &&
            out.size(1) == a.size(1) && out.size(2) == b.size(2),
        "batched_matmul: mismatched sizes");
  check(supports(a) && a.scalar_type() == b.scalar_type() && supports(out) &&
            (out.scalar_type() == a.scalar_type() || out.scalar_type() == torch::kFloat32),
        "batched_matmul: operands must be CPU tensors of one dtype, float32 or bfloat16, written in "
        "that dtype or float32");
  const bool with_bias = bias.defined();
  check(!with_bias || (bias.dim() == 1 && bias.size(0) == out.size(2) && bias.is_contiguous() &&
                       bias.scalar_type() == a.scalar_type() && bias.device().is_cpu() && scale == 1.0f),
        "batched_matmul: the bias must be a contiguous [n] CPU tensor of the operands' dtype, with scale 1");
  check(takes_epilogue(epilogue, out),
        "batched_matmul: an epilogue has at most one of GELU and exp, and its tensors are contiguous, "
        "of the output's sizes and dtype");
  const auto a_md = describe(a), b_md = describe(b), out_md = describe(out);
  const auto bias_md = with_bias ? describe(bias.view({1, 1, bias.size(0)})) : dnnl::memory::desc();
  const auto times_md = epilogue.times.defined() ? describe(epilogue.times) : dnnl::memory::desc();
  const auto plus_md = epilogue.plus.defined() ? describe(epilogue.plus) : dnnl::memory::desc();
  uint32_t scale_bits = 0;
  std::memcpy(&scale_bits, &scale, sizeof scale);
  std::vector<int64_t> key{0, scale_bits, with_bias, epilogue.gelu, epilogue.exp, epilogue.times.defined(),
                           epilogue.plus.defined()};
  for (const auto* md : {&a_md, &b_md, &out_md}) append_layout(key, *md);
  auto primitive = primitives().get(key, [&] {
    dnnl::primitive_attr attr;
    if (scale != 1.0f) attr.set_output_scales(0, {scale});
    dnnl::post_ops steps;
    if (epilogue.gelu) steps.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
    if (epilogue.exp) steps.append_eltwise(1.0f, dnnl::algorithm::eltwise_exp, 0.0f, 0.0f);
    if (epilogue.times.defined()) steps.append_binary(dnnl::algorithm::binary_mul, times_md);
    if (epilogue.plus.defined()) steps.append_binary(dnnl::algorithm::binary_add, plus_md);
    attr.set_post_ops(steps);
    const auto desc =
        with_bias ? dnnl::matmul::desc(a_md, b_md, bias_md, out_md) : dnnl::matmul::desc(a_md, b_md, out_md);
    const dnnl::matmul::primitive_desc pd(desc, attr, primitives().engine());
    return dnnl::primitive(dnnl::matmul(pd));
  });
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, wrap(a_md, a)}, {DNNL_ARG_WEIGHTS, wrap(b_md, b)}, {DNNL_ARG_DST, wrap(out_md, out)}};
  if (with_bias) args.emplace(DNNL_ARG_BIAS, wrap(bias_md, bias));
  // Binary post-ops take their operand by position in the chain: GELU or exp, if any, first.
  const int first_binary = epilogue.gelu || epilogue.exp ? 1 : 0;
  if (epilogue.times.defined())
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(first_binary) | DNNL_ARG_SRC_1, wrap(times_md, epilogue.times));
  if (epilogue.plus.defined())
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(first_binary + (epilogue.times.defined() ? 1 : 0)) | DNNL_ARG_SRC_1,
                 wrap(plus_md, epilogue.plus));
  primitive.execute(thread_stream(), args);
  thread_stream().wait();
}

void softmax_last_dim_(const torch::Tensor& t) {
  check(supports(t) && t.dim() >= 1 && t.is_contiguous(), "softmax takes a contiguous CPU tensor");
  const auto md = describe(t);
  std::vector<int64_t> key{1};
  append_layout(key, md);
  auto primitive = primitives().get(key, [&] {
    const dnnl::softmax_forward::desc desc(dnnl::prop_kind::forward_inference, md, static_cast<int>(t.dim() - 1));
    return dnnl::primitive(dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(desc, primitives().engine())));
  });
  const auto memory = wrap(md, t);
  primitive.execute(thread_stream(), {{DNNL_ARG_SRC, memory}, {DNNL_ARG_DST, memory}});
  thread_stream().wait();
}

void row_sums(const torch::Tensor& t, const torch::Tensor& sums) {
  check(supports(t) && t.dim() >= 1 && t.is_contiguous(), "row_sums takes a contiguous CPU tensor");
  auto sums_sizes = t.sizes().vec();
  sums_sizes.back() = 1;
  check(sums.scalar_type() == torch::kFloat32 && sums.device().is_cpu() && sums.is_contiguous() &&
            sums.sizes().vec() == sums_sizes,
        "row_sums: the sums must be a contiguous float32 CPU tensor of the rows' sizes, last one 1");
  // oneDNN wants a dimension to reduce; a row of one value is its own sum.
  if (t.size(-1) == 1) {
    sums.copy_(t);
    return;
  }
  const auto t_md = describe(t), sums_md = describe(sums);
  std::vector<int64_t> key{3};
  append_layout(key, t_md);
  append_layout(key, sums_md);
  auto primitive = primitives().get(key, [&] {
    const dnnl::reduction::desc desc(dnnl::algorithm::reduction_sum, t_md, sums_md, 0.0f, 0.0f);
    return dnnl::primitive(dnnl::reduction(dnnl::reduction::primitive_desc(desc, primitives().engine())));
  });
  primitive.execute(thread_stream(), {{DNNL_ARG_SRC, wrap(t_md, t)}, {DNNL_ARG_DST, wrap(sums_md, sums)}});
  thread_stream().wait();
}

void activation_(const torch::Tensor& t, Activation kind) {
  check(supports(t) && t.is_non_overlapping_and_dense(), "activations take a dense CPU tensor");
  const auto md = describe(t);
  std::vector<int64_t> key{2, static_cast<int64_t>(kind)};
  append_layout(key, md);
  auto primitive = primitives().get(key, [&] {
    // eltwise_swish with alpha 1 is x·sigmoid(x); eltwise_gelu_erf the exact GELU.
    const auto algorithm =
        kind == Activation::silu ? dnnl::algorithm::eltwise_swish : dnnl::algorithm::eltwise_gelu_erf;
    const float alpha = kind == Activation::silu ? 1.0f : 0.0f;
    const dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, md, alpha);
    return dnnl::primitive(dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(desc, primitives().engine())));
  });
  const auto memory = wrap(md, t);
  primitive.execute(thread_stream(), {{DNNL_ARG_SRC, memory}, {DNNL_ARG_DST, memory}});
  thread_stream().wait();
}

bool set_verbose(bool on) { return dnnl_set_verbose(on ? 1 : 0) == dnnl_success; }

#else  // without oneDNN's headers

bool available() { return false; }
bool supports(const torch::Tensor&) { return false; }

void batched_matmul(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, float, const torch::Tensor&,
                    const Epilogue&) {
  throw Error("oneDNN kernels: this build has no oneDNN");
}

void softmax_last_dim_(const torch::Tensor&) { throw Error("oneDNN kernels: this build has no oneDNN"); }

void row_sums(const torch::Tensor&, const torch::Tensor&) { throw Error("oneDNN kernels: this build has no oneDNN"); }

void activation_(const torch::Tensor&, Activation) { throw Error("oneDNN kernels: this build has no oneDNN"); }

bool set_verbose(bool) { return false; }

#endif

}  // namespace latent::models::onednn
