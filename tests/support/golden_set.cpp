#include "tests/support/golden_set.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

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

}  // namespace latent::test
