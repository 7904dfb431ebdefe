#pragma once

// Access to the golden data in tests/data (copied from the shared test data):
// .npy arrays and the case descriptions of golden/index.json.

#include <torch/torch.h>

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <string>
#include <vector>

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_to_image.h"

namespace latent::test {

// The device and reduced precision the pipeline tests load their models with: cpu and bf16
// unless LATENT_TEST_DEVICE and LATENT_TEST_REDUCED_DTYPE say otherwise (the GPU machine's
// check, scripts/device/cuda-check.sh, runs them with cuda, and with fp16 as well as bf16).
std::string test_device();
std::string test_reduced_dtype();

// The model `model` of tests/data (a folder, or with `single_file` its .safetensors checkpoint
// read with the folder's configs), loaded once per process on test_device() and shared.
pipeline::ModelBundle& golden_model(const QString& model, bool single_file = false);

// A golden case's prompt field: one string, or an array of them.
std::vector<std::string> json_strings(const QJsonValue& value);

// The text-to-image parameters of a golden case (its "inputs" and "scheduler").
pipeline::TextToImageParams text_to_image_params(const QJsonObject& golden);

// Absolute path of a file under tests/data.
QString data_path(const QString& relative);

// Reads a little-endian, C-ordered .npy file (float32, float64, int64, int32, uint8).
torch::Tensor load_npy(const QString& path);

// The case with this id from golden/index.json (fails the test when absent).
QJsonObject golden_case(const QString& id);

// Loads an .npy file named relative to tests/data/golden.
torch::Tensor golden_tensor(const QString& relative);

// The same for the image-to-image and inpainting cases of golden-img2img/index.json.
QJsonObject golden_img2img_case(const QString& id);
torch::Tensor golden_img2img_tensor(const QString& relative);
// Every case id of golden-img2img/index.json, in file order.
QStringList golden_img2img_ids();

struct Tolerance {
  double atol = 1e-4;
  double rtol = 1e-4;
};
Tolerance tolerance_of(const QJsonObject& golden);

// The largest |a - b|, both read as float64 (any dtypes; b broadcast to a).
double max_abs_difference(const torch::Tensor& a, const torch::Tensor& b);

// True when |actual - expected| <= atol + rtol·|expected| everywhere; otherwise
// `report` names the largest violation.
bool all_close(const torch::Tensor& actual, const torch::Tensor& expected, Tolerance tol,
               QString* report);

}  // namespace latent::test

// Compares inside a Qt Test function and fails it with the largest deviation.
#define LATENT_COMPARE_CLOSE(actual, expected, tol)                                   \
  do {                                                                                \
    QString latent_report_;                                                           \
    if (!latent::test::all_close((actual), (expected), (tol), &latent_report_))       \
      QFAIL(qPrintable(latent_report_));                                              \
  } while (false)
