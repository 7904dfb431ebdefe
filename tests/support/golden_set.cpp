#include "tests/support/golden_set.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

#include <map>
#include <stdexcept>

#include "tests/support/golden.h"

namespace latent::test {

GoldenSet::GoldenSet(QString folder) : folder_(std::move(folder)) {
  const QString name = folder_ + "/golden/index.json";
  QFile file(data_path(name));
  if (!file.open(QIODevice::ReadOnly)) throw std::runtime_error(name.toStdString() + " is missing");
  // Python's json writes non-finite floats bare; Qt's parser wants them quoted.
  const QString text = QString::fromUtf8(file.readAll())
                           .replace(QRegularExpression("([:\\[,]\\s*)(-?Infinity|NaN)(?=\\s*[,\\]}])"), "\\1\"\\2\"");
  QJsonParseError error{};
  const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8(), &error);
  if (error.error != QJsonParseError::NoError)
    throw std::runtime_error(name.toStdString() + ": " + error.errorString().toStdString() + " at offset " +
                             std::to_string(error.offset));
  index_ = doc.object();
}

QJsonObject GoldenSet::case_of(const QString& id) const {
  for (const QJsonValue& value : index_.value("cases").toArray())
    if (value.toObject().value("id").toString() == id) return value.toObject();
  throw std::runtime_error("no case " + id.toStdString() + " in " + folder_.toStdString());
}

QStringList GoldenSet::ids(const QString& kind) const {
  QStringList out;
  for (const QJsonValue& value : index_.value("cases").toArray()) {
    const QJsonObject c = value.toObject();
    if (kind.isEmpty() || c.value("kind").toString() == kind) out << c.value("id").toString();
  }
  return out;
}

torch::Tensor GoldenSet::tensor(const QString& relative) const {
  return load_npy(data_path(folder_ + "/golden/" + relative));
}

QString GoldenSet::data_file(const QString& relative_to_testdata) const { return data_path(relative_to_testdata); }

namespace {

std::vector<std::string> strings_or_empty(const QJsonValue& value) {
  return value.isNull() || value.isUndefined() ? std::vector<std::string>{} : json_strings(value);
}

// A [h, w] pair of the inputs, or 0 × 0 when absent.
std::pair<int, int> size_of(const QJsonValue& value) {
  const QJsonArray pair = value.toArray();
  return pair.size() == 2 ? std::pair{pair[0].toInt(), pair[1].toInt()} : std::pair{0, 0};
}

}  // namespace

pipeline::TextToImageParams sdxl_text_to_image_params(const QJsonObject& golden) {
  const QJsonObject in = golden.value("inputs").toObject();
  const QJsonObject effective = golden.value("effective").toObject();
  pipeline::TextToImageParams p;
  p.prompts = json_strings(in.value("prompt"));
  p.prompts_2 = strings_or_empty(in.value("prompt_2"));
  p.negative_prompts = strings_or_empty(in.value("negative_prompt"));
  p.negative_prompts_2 = strings_or_empty(in.value("negative_prompt_2"));
  p.images_per_prompt = in.value("num_images_per_prompt").toInt(1);
  p.width = effective.value("width").toInt();
  p.height = effective.value("height").toInt();
  p.steps = in.value("num_inference_steps").toInt();
  p.guidance_scale = in.value("guidance_scale").toDouble();
  p.guidance_rescale = in.value("guidance_rescale").toDouble();
  p.seed = static_cast<uint64_t>(in.value("seed").toDouble());
  p.sampler = golden.value("scheduler").toString().toStdString();
  p.clip_skip = in.value("clip_skip").isNull() ? 0 : in.value("clip_skip").toInt();
  p.eta = in.value("eta").toDouble();
  std::tie(p.original_height, p.original_width) = size_of(in.value("original_size"));
  std::tie(p.target_height, p.target_width) = size_of(in.value("target_size"));
  std::tie(p.crop_top, p.crop_left) = size_of(in.value("crops_coords_top_left"));
  std::tie(p.negative_original_height, p.negative_original_width) = size_of(in.value("negative_original_size"));
  std::tie(p.negative_target_height, p.negative_target_width) = size_of(in.value("negative_target_size"));
  std::tie(p.negative_crop_top, p.negative_crop_left) = size_of(in.value("negative_crops_coords_top_left"));
  return p;
}

QString compare_text_to_image_run(const GoldenSet& set, const QString& id,
                                  const pipeline::TextToImageOutput& output,
                                  const std::vector<torch::Tensor>& steps) {
  const QJsonObject tol = set.case_of(id).value("tolerance").toObject();
  if (!torch::equal(output.init_noise, set.tensor(id + "/init_noise.npy")))
    return "the initial noise differs from torch's CPU generator";
  const auto timesteps = set.tensor(id + "/timesteps.npy").to(torch::kFloat64);
  if (static_cast<int64_t>(output.timesteps.size()) != timesteps.numel())
    return QString("%1 timesteps, expected %2").arg(output.timesteps.size()).arg(timesteps.numel());
  for (int64_t i = 0; i < timesteps.numel(); ++i)
    if (static_cast<float>(output.timesteps[i]) != static_cast<float>(timesteps[i].item<double>()))
      return QString("timestep %1 is %2, expected %3").arg(i).arg(output.timesteps[i]).arg(timesteps[i].item<double>());
  const Tolerance latents{tol.value("latents_atol").toDouble(), 0.0};
  const auto trajectory = set.tensor(id + "/latents_trajectory.npy");  // [calls + 1, B, 4, h, w]
  if (static_cast<int64_t>(steps.size()) + 1 != trajectory.size(0))
    return QString("%1 calls, expected %2").arg(steps.size()).arg(trajectory.size(0) - 1);
  QString report;
  for (size_t i = 0; i < steps.size(); ++i)
    if (!all_close(steps[i], trajectory[static_cast<int64_t>(i) + 1], latents, &report))
      return QString("latents after call %1: %2").arg(i).arg(report);
  if (!all_close(output.latents, set.tensor(id + "/latents_final.npy"), latents, &report))
    return "final latents: " + report;
  const double pixels = max_abs_difference(output.images, set.tensor(id + "/image_uint8.npy"));
  if (pixels > tol.value("uint8_max_abs_diff").toDouble()) return QString("pixels differ by %1").arg(pixels);
  return {};
}

std::string sampler_of_class(const QString& scheduler_class) {
  static const std::map<QString, std::string> names = {
      {"EulerDiscreteScheduler", "euler"},    {"EulerAncestralDiscreteScheduler", "euler_a"},
      {"DDIMScheduler", "ddim"},              {"DPMSolverMultistepScheduler", "dpmpp_2m"},
      {"LMSDiscreteScheduler", "lms"},        {"PNDMScheduler", "pndm"},
      {"LCMScheduler", "lcm"},                {"TCDScheduler", "tcd"}};
  const auto found = names.find(scheduler_class);
  if (found == names.end()) throw std::runtime_error("no sampler for " + scheduler_class.toStdString());
  return found->second;
}

pipeline::TextToImageParams sd2_text_to_image_params(const QJsonObject& golden) {
  pipeline::TextToImageParams p = text_to_image_params(golden);
  p.guidance_rescale = golden.value("inputs").toObject().value("guidance_rescale").toDouble();
  p.sampler = sampler_of_class(golden.value("scheduler_class").toString());
  const QJsonObject config = golden.value("scheduler_config").toObject();
  p.zero_snr = config.value("rescale_betas_zero_snr").toBool(false);
  if (p.zero_snr) p.timestep_spacing = config.value("timestep_spacing").toString().toStdString();
  return p;
}

}  // namespace latent::test
