#include "core/pipeline/conditioning.h"

#include "core/util/error.h"

namespace latent::pipeline {
namespace {

torch::Tensor stack_part(const torch::Tensor& first, const torch::Tensor& second, const char* part) {
  if (first.defined() != second.defined())
    throw Error(std::string("conditioning: the ") + part + " is set for one half of the batch only");
  return first.defined() ? torch::cat({first, second}) : torch::Tensor();
}

torch::Tensor converted(const torch::Tensor& t, const torch::Device& device, torch::ScalarType dtype) {
  return t.defined() ? t.to(device, dtype) : t;
}

}  // namespace

Conditioning Conditioning::stack(const Conditioning& first, const Conditioning& second) {
  Conditioning out;
  out.context = stack_part(first.context, second.context, "context");
  out.pooled = stack_part(first.pooled, second.pooled, "pooled embedding");
  out.time_ids = stack_part(first.time_ids, second.time_ids, "time ids");
  out.concat = stack_part(first.concat, second.concat, "extra channels");
  out.timestep_cond = stack_part(first.timestep_cond, second.timestep_cond, "guidance embedding");
  if (first.down_residuals.size() != second.down_residuals.size())
    throw Error("conditioning: the two halves of the batch have different residuals");
  for (size_t i = 0; i < first.down_residuals.size(); ++i)
    out.down_residuals.push_back(stack_part(first.down_residuals[i], second.down_residuals[i], "residual"));
  out.mid_residual = stack_part(first.mid_residual, second.mid_residual, "middle residual");
  return out;
}

Conditioning Conditioning::to(const torch::Device& device, torch::ScalarType dtype) const {
  Conditioning out;
  out.context = converted(context, device, dtype);
  out.pooled = converted(pooled, device, dtype);
  out.time_ids = converted(time_ids, device, dtype);
  out.concat = converted(concat, device, dtype);
  out.timestep_cond = converted(timestep_cond, device, dtype);
  for (const auto& residual : down_residuals) out.down_residuals.push_back(converted(residual, device, dtype));
  out.mid_residual = converted(mid_residual, device, dtype);
  return out;
}

Conditioning Conditioning::with_concat(const torch::Tensor& channels) const {
  Conditioning out = *this;
  out.concat = channels;
  return out;
}

Conditioning GuidedConditioning::batched() const {
  return guided() ? Conditioning::stack(uncond, cond) : cond;
}

std::vector<int64_t> GuidedConditioning::cond_images() const {
  std::vector<int64_t> images;
  if (composition.empty()) {
    for (int64_t i = 0; i < cond.context.size(0); ++i) images.push_back(i);
    return images;
  }
  images.resize(static_cast<std::size_t>(cond.context.size(0)), 0);
  for (std::size_t image = 0; image < composition.size(); ++image)
    for (const auto& term : composition[image]) images.at(static_cast<std::size_t>(term.row)) = static_cast<int64_t>(image);
  return images;
}

GuidedConditioning GuidedConditioning::with_concat(const torch::Tensor& channels) const {
  GuidedConditioning out = *this;
  if (composition.empty()) {
    out.cond = cond.with_concat(channels);
  } else {
    const auto rows = torch::tensor(cond_images(), torch::kInt64).to(channels.device());
    out.cond = cond.with_concat(channels.index_select(0, rows));
  }
  if (guided()) out.uncond = uncond.with_concat(channels);
  return out;
}

}  // namespace latent::pipeline
