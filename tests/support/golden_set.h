#pragma once

// One folder of golden data under tests/data (sdxl/, and the sets that follow it): its
// golden/index.json cases and .npy files, and the paths its index names.

#include <torch/torch.h>

#include <QJsonArray>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include "core/pipeline/text_to_image.h"

namespace latent::test {

class GoldenSet {
 public:
  // `folder` relative to tests/data, e.g. "sdxl".
  explicit GoldenSet(QString folder);

  // The case with this id (throws std::runtime_error when absent).
  QJsonObject case_of(const QString& id) const;
  // Every case id, in file order; with `kind`, only the cases of that kind.
  QStringList ids(const QString& kind = {}) const;
  // An .npy file named relative to the set's golden/ folder.
  torch::Tensor tensor(const QString& relative) const;
  // A path the index gives relative to the shared test data folder ("sdxl/tiny-sdxl"),
  // as an absolute path under tests/data.
  QString data_file(const QString& relative_to_testdata) const;
  // The whole index (models, schedulers, tolerance rule, ...).
  const QJsonObject& index() const { return index_; }

 private:
  QString folder_;
  QJsonObject index_;
};

// The text-to-image parameters of an SDXL pipeline case (sdxl/golden/index.json, kind
// pipeline_sdxl): its inputs, with the "effective" size diffusers used.
pipeline::TextToImageParams sdxl_text_to_image_params(const QJsonObject& golden);

// Compares a text-to-image run with the pipeline case `id` of `set`: the initial noise (bit
// for bit), the timesteps, the latents after every call (`steps`, as the observer saw them)
// and at the end (the case's latents_atol), and the picture (its uint8_max_abs_diff).
// Returns what differs first; empty when everything agrees.
QString compare_text_to_image_run(const GoldenSet& set, const QString& id,
                                  const pipeline::TextToImageOutput& output,
                                  const std::vector<torch::Tensor>& steps);

// The sampler name of a diffusers scheduler class ("EulerDiscreteScheduler" -> "euler").
std::string sampler_of_class(const QString& scheduler_class);

// The text-to-image parameters of an SD 2.x pipeline case (sd2/golden/index.json, kind
// pipeline): its inputs, the sampler of its scheduler class, and, for a zero-SNR case, the
// rescaled betas and the spacing its scheduler config names (the other cases leave the
// spacing to the sampler's default, which must be the one diffusers used).
pipeline::TextToImageParams sd2_text_to_image_params(const QJsonObject& golden);

}  // namespace latent::test
