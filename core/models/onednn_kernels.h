#pragma once

// Attention's products, row sums and softmax, the linear layers' products and a few
// activations, straight through oneDNN on the CPU.
//
// LibTorch 1.13 sends float32 bmm to the system BLAS; Debian's OpenBLAS (0.3.21) runs this
// processor with its AVX2 kernels, at half the speed oneDNN reaches with AVX-512. LibTorch
// links oneDNN anyway (for its convolutions), so attention calls the same library directly
// for its products, sums and softmax. Built in where CMake finds oneDNN's headers
// (Debian's libdnnl-dev); elsewhere `available()` is false and callers use LibTorch.

#include <torch/torch.h>

namespace latent::models::onednn {

// Whether the kernels are compiled in and take tensors like t (CPU, float32 or bfloat16).
bool available();
bool supports(const torch::Tensor& t);
// supports(t), and no gradient is wanted through t: the kernels write into tensors made
// beforehand, which autograd cannot follow (training takes LibTorch's operators).
bool supports_inference(const torch::Tensor& t);

// What a product goes through inside the kernel, in float32, before it is rounded and
// written: each step saves a trip of the whole result through memory.
struct Epilogue {
  bool gelu = false;      // GELU (the exact, erf form)
  bool exp = false;       // or eˣ: attention's probabilities before they are normalised
  torch::Tensor times;    // then multiplied by this, elementwise
  torch::Tensor plus;     // then this added, elementwise (a residual)
};

// Whether batched_matmul takes `epilogue` with `out`: at most one of GELU and eˣ, and its
// tensors contiguous CPU tensors of out's sizes and dtype (oneDNN's fast kernels take no
// other), none of them out itself.
bool takes_epilogue(const Epilogue& epilogue, const torch::Tensor& out);

// out = scale · a·b (+ bias) for 3-D tensors a [g, m, k], b [g, k, n] and out [g, m, n] of
// one dtype, with any strides (transposed operands and head views need no copies); out may
// also be float32 where a and b are bfloat16. bias, when defined, is a contiguous [n] of
// the operands' dtype added to every row (with scale 1 only). The epilogue is one
// takes_epilogue() accepts.
void batched_matmul(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& out,
                    float scale = 1.0f, const torch::Tensor& bias = {}, const Epilogue& epilogue = {});

// Softmax over the last dimension, in place, on a contiguous tensor.
void softmax_last_dim_(const torch::Tensor& t);

// sums = the sums of t's rows (its last dimension), added in float32: t a contiguous tensor,
// sums a contiguous float32 one of t's sizes with a last dimension of 1.
void row_sums(const torch::Tensor& t, const torch::Tensor& sums);

// Elementwise activations, in place, on a tensor whose elements fill its memory without
// gaps in any order (contiguous or channels-last).
enum class Activation { silu, gelu_erf };
void activation_(const torch::Tensor& t, Activation kind);

// Turns oneDNN's verbose mode on or off for the whole process (LibTorch's convolutions and
// matrix products run in the same library): while on, every primitive executed prints a
// line to the standard output (core/util/onednn_verbose.h reads them). Returns false where
// the build has no oneDNN of its own to ask.
bool set_verbose(bool on);

}  // namespace latent::models::onednn
