#include "tests/support/golden.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>

namespace latent::test {

namespace {
std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}
}  // namespace

std::string test_device() { return env_or("LATENT_TEST_DEVICE", "cpu"); }
std::string test_reduced_dtype() { return env_or("LATENT_TEST_REDUCED_DTYPE", "bf16"); }

pipeline::ModelBundle& golden_model(const QString& model, bool single_file) {
  static std::map<QString, std::unique_ptr<pipeline::ModelBundle>> cache;
  auto& slot = cache[model + (single_file ? "/single" : "/folder")];
  if (!slot) {
    latent::api::LoadOptions options;
    const QString folder = data_path(model);
    options.model_path = (single_file ? folder + ".safetensors" : folder).toStdString();
    if (single_file) options.config_dir = folder.toStdString();
    options.device = test_device();
    slot = pipeline::load_model_bundle(options);
  }
  return *slot;
}

double max_abs_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

std::vector<std::string> json_strings(const QJsonValue& value) {
  std::vector<std::string> out;
  if (value.isString()) out.push_back(value.toString().toStdString());
  for (const QJsonValue& item : value.toArray()) out.push_back(item.toString().toStdString());
  return out;
}

pipeline::TextToImageParams text_to_image_params(const QJsonObject& golden) {
  const QJsonObject in = golden.value("inputs").toObject();
  pipeline::TextToImageParams p;
  p.prompts = json_strings(in.value("prompt"));
  p.negative_prompts = json_strings(in.value("negative_prompt"));
  p.images_per_prompt = in.value("num_images_per_prompt").toInt(1);
  p.width = in.value("width").toInt();
  p.height = in.value("height").toInt();
  p.steps = in.value("num_inference_steps").toInt();
  p.guidance_scale = in.value("guidance_scale").toDouble();
  p.seed = static_cast<uint64_t>(in.value("seed").toDouble());
  p.sampler = golden.value("scheduler").toString().toStdString();
  p.clip_skip = in.value("clip_skip").isNull() ? 0 : in.value("clip_skip").toInt();
  p.eta = in.value("eta").toDouble();
  return p;
}

QString data_path(const QString& relative) {
  return QStringLiteral(LATENT_TEST_DATA "/") + relative;
}

torch::Tensor load_npy(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly))
    throw std::runtime_error("cannot open " + path.toStdString());
  const QByteArray bytes = file.readAll();
  if (bytes.size() < 10 || !bytes.startsWith("\x93NUMPY"))
    throw std::runtime_error(path.toStdString() + " is not an .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  qsizetype header_len = 0;
  qsizetype offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else {
    header_len = 0;
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    offset = 12;
  }
  const QString header = QString::fromLatin1(bytes.mid(offset, header_len));
  const auto descr = QRegularExpression("'descr':\\s*'([^']+)'").match(header).captured(1);
  if (header.contains("'fortran_order': True"))
    throw std::runtime_error(path.toStdString() + ": Fortran order is not supported");
  const QString shape_text = QRegularExpression("'shape':\\s*\\(([^)]*)\\)").match(header).captured(1);
  std::vector<int64_t> shape;
  for (const QString& part : shape_text.split(',', Qt::SkipEmptyParts))
    if (!part.trimmed().isEmpty()) shape.push_back(part.trimmed().toLongLong());

  torch::ScalarType type;
  if (descr == "<f4") type = torch::kFloat32;
  else if (descr == "<f8") type = torch::kFloat64;
  else if (descr == "<i8") type = torch::kInt64;
  else if (descr == "<i4") type = torch::kInt32;
  else if (descr == "|u1") type = torch::kUInt8;
  else if (descr == "|b1") type = torch::kBool;
  else throw std::runtime_error(path.toStdString() + ": unsupported dtype " + descr.toStdString());

  auto tensor = torch::empty(shape, torch::TensorOptions().dtype(type));
  const qsizetype data_bytes = static_cast<qsizetype>(tensor.numel() * tensor.element_size());
  if (bytes.size() - offset - header_len < data_bytes)
    throw std::runtime_error(path.toStdString() + " is truncated");
  std::memcpy(tensor.data_ptr(), bytes.constData() + offset + header_len, data_bytes);
  return tensor;
}

QJsonObject golden_case(const QString& id) {
  static const QJsonArray cases = [] {
    QFile file(data_path("golden/index.json"));
    if (!file.open(QIODevice::ReadOnly)) throw std::runtime_error("golden/index.json is missing");
    // Python's json writes -Infinity/Infinity/NaN, which QJsonDocument rejects: read them as strings.
    const QString text = QString::fromUtf8(file.readAll()).replace(
        QRegularExpression("([:\\[,]\\s*)(-?Infinity|NaN)(?=\\s*[,\\]}])"), "\\1\"\\2\"");
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError)
      throw std::runtime_error("golden/index.json: " + error.errorString().toStdString() + " at offset " +
                               std::to_string(error.offset));
    return doc.object().value("cases").toArray();
  }();
  for (const QJsonValue& value : cases)
    if (value.toObject().value("id").toString() == id) return value.toObject();
  throw std::runtime_error("no golden case " + id.toStdString());
}

namespace {

QJsonArray img2img_cases() {
  static const QJsonArray cases = [] {
    QFile file(data_path("golden-img2img/index.json"));
    if (!file.open(QIODevice::ReadOnly)) throw std::runtime_error("golden-img2img/index.json is missing");
    const QString text = QString::fromUtf8(file.readAll()).replace(
        QRegularExpression("([:\\[,]\\s*)(-?Infinity|NaN)(?=\\s*[,\\]}])"), "\\1\"\\2\"");
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError)
      throw std::runtime_error("golden-img2img/index.json: " + error.errorString().toStdString());
    return doc.object().value("cases").toArray();
  }();
  return cases;
}

}  // namespace

QJsonObject golden_img2img_case(const QString& id) {
  for (const QJsonValue& value : img2img_cases())
    if (value.toObject().value("id").toString() == id) return value.toObject();
  throw std::runtime_error("no golden-img2img case " + id.toStdString());
}

torch::Tensor golden_img2img_tensor(const QString& relative) {
  return load_npy(data_path("golden-img2img/" + relative));
}

QStringList golden_img2img_ids() {
  QStringList ids;
  for (const QJsonValue& value : img2img_cases()) ids << value.toObject().value("id").toString();
  return ids;
}

torch::Tensor golden_tensor(const QString& relative) {
  return load_npy(data_path("golden/" + relative));
}

Tolerance tolerance_of(const QJsonObject& golden) {
  const QJsonObject tol = golden.value("tolerance").toObject();
  Tolerance out;
  out.atol = tol.value("atol").toDouble(out.atol);
  out.rtol = tol.value("rtol").toDouble(out.rtol);
  return out;
}

bool all_close(const torch::Tensor& actual_in, const torch::Tensor& expected_in, Tolerance tol,
               QString* report) {
  const auto actual = actual_in.detach().to(torch::kCPU, torch::kFloat64);
  const auto expected = expected_in.detach().to(torch::kCPU, torch::kFloat64);
  if (actual.sizes() != expected.sizes()) {
    std::ostringstream s;
    s << "shape " << actual.sizes() << " differs from expected " << expected.sizes();
    *report = QString::fromStdString(s.str());
    return false;
  }
  const auto diff = (actual - expected).abs();
  const auto excess = diff - (tol.atol + tol.rtol * expected.abs());
  if (!torch::isfinite(actual).all().item<bool>()) {
    *report = "result holds NaN or Inf";
    return false;
  }
  if (excess.numel() == 0 || excess.max().item<double>() <= 0) return true;
  const int64_t worst = excess.flatten().argmax().item<int64_t>();
  *report = QString("max |diff| %1 (atol %2, rtol %3); worst at flat index %4: got %5, expected %6")
                .arg(diff.max().item<double>())
                .arg(tol.atol)
                .arg(tol.rtol)
                .arg(worst)
                .arg(actual.flatten()[worst].item<double>())
                .arg(expected.flatten()[worst].item<double>());
  return false;
}

}  // namespace latent::test
