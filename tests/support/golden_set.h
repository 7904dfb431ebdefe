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

}  // namespace latent::test
