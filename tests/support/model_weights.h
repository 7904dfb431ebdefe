#pragma once

// The weights of a loaded model as tests look at them: copies taken before a change (a LoRA
// applied, a pass run) to tell what it touched and that it put everything back, and LoRA
// files written from tensors.

#include <QTemporaryDir>
#include <QString>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/pipeline/model_bundle.h"

namespace latent::test {

using WeightSnapshot = std::map<std::string, torch::Tensor>;

// Copies on the CPU (where the tests compute what to expect, whatever the model's device)
// of every parameter of the UNet, each text encoder and the VAE, named "<part>/<parameter>"
// ("unet/…", "text_encoder/…", "text_encoder_2/…", "vae/…").
WeightSnapshot snapshot(pipeline::ModelBundle& model);

// Names of the parameters that differ bitwise from `before`.
std::vector<std::string> changed(pipeline::ModelBundle& model, const WeightSnapshot& before);

// Writes `tensors` as `name` in `dir` (a safetensors file) and returns its path.
std::string write_lora(const QTemporaryDir& dir, const QString& name,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

}  // namespace latent::test
