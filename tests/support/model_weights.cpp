#include "tests/support/model_weights.h"

#include "core/io/safetensors.h"

namespace latent::test {

WeightSnapshot snapshot(pipeline::ModelBundle& model) {
  WeightSnapshot out;
  auto copy = [](const torch::Tensor& t) { return t.detach().to(torch::kCPU, false, /*copy=*/true); };
  for (const auto& p : model.unet->named_parameters()) out["unet/" + p.key()] = copy(p.value());
  for (auto& encoder : model.text_encoders)
    for (const auto& p : encoder.model->named_parameters()) out[encoder.name + "/" + p.key()] = copy(p.value());
  for (const auto& p : model.vae->named_parameters()) out["vae/" + p.key()] = copy(p.value());
  return out;
}

std::vector<std::string> changed(pipeline::ModelBundle& model, const WeightSnapshot& before) {
  std::vector<std::string> out;
  for (const auto& [name, value] : snapshot(model))
    if (!torch::equal(value, before.at(name))) out.push_back(name);
  return out;
}

std::string write_lora(const QTemporaryDir& dir, const QString& name,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  const std::string path = dir.filePath(name).toStdString();
  io::write_safetensors(path, tensors);
  return path;
}

}  // namespace latent::test
