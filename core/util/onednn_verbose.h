#pragma once

// Reads oneDNN's verbose output: the line oneDNN prints for every primitive it executes while
// its verbose mode is on (DNNL_VERBOSE=1, or dnnl_set_verbose(1)), such as
//
//   onednn_verbose,exec,cpu,convolution,brgconv:avx512_core_bf16,forward_inference,
//     src_bf16::blocked:acdb:f0 wei_bf16::blocked:AcdB16b32a2b:f0 ...,attr-scratchpad:user ,
//     alg:convolution_direct,mb2_ic320oc320_ih64oh64kh3sh1dh0ph1_iw64ow64kw3sw1dw0pw1,0.937988
//
// (one line): the engine, the primitive kind, the implementation oneDNN chose, the
// propagation kind, the memory layouts, the attributes, the algorithm, the problem and the
// time in milliseconds. The text comes from another program, so every field is checked and
// a line that does not parse is skipped. Free of LibTorch and Qt (fuzz/fuzz_onednn_verbose).

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace latent::util {

struct OneDnnExec {
  std::string engine;          // "cpu"
  std::string kind;            // "convolution", "matmul", "inner_product", "reorder", ...
  std::string implementation;  // "brgconv:avx512_core_bf16", "gemm:jit", "ref:any", ...
  std::string propagation;     // "forward_inference", ...
  std::string problem;         // the shape, as the kind writes it
  double milliseconds = 0;
};

// One "exec" line (with or without its line break), in the prefixes oneDNN has used
// (onednn_verbose, dnnl_verbose, mkldnn_verbose; with a timestamp or a "primitive" marker
// before "exec"); nullopt for any other line.
std::optional<OneDnnExec> parse_onednn_exec(std::string_view line);

// Floating-point operations (a multiply-add counts two) of a problem as oneDNN writes it:
// convolution and deconvolution ("mb2_g1ic320oc320_ih64oh64kh3sh1dh0ph1_iw64ow64kw3sw1dw0pw1"),
// inner product ("mb8192ic320oc1280"), matmul ("2x4096x40:2x40x4096:2x4096x4096"). -1 for
// other kinds and for a problem that does not parse.
double onednn_problem_flops(std::string_view kind, std::string_view problem);

// The executions of one primitive kind through one implementation.
struct OneDnnKernelTotal {
  std::string kind;
  std::string implementation;
  int64_t calls = 0;
  double milliseconds = 0;
  double flops = 0;                    // of the calls whose problem gives them
  double milliseconds_with_flops = 0;  // the time of those calls
  // Rate over the calls with a known FLOP count; 0 when none has one, or when their time is
  // too small for a rate (a subnormal time from a damaged line).
  double gflops() const {
    const double rate = milliseconds_with_flops > 0 ? flops / milliseconds_with_flops / 1e6 : 0;
    return std::isfinite(rate) ? rate : 0;
  }
};

struct OneDnnVerboseSummary {
  std::vector<OneDnnKernelTotal> kernels;  // the most time first
  std::string isa;                         // the "info,cpu,isa:" line's text, when present
  int64_t lines_skipped = 0;               // lines that were neither exec nor info
  double total_milliseconds() const;
};

// Every exec line of `text` (lines separated by '\n'), grouped by kind and implementation.
OneDnnVerboseSummary summarize_onednn_verbose(std::string_view text);

}  // namespace latent::util
