#include "core/api_server/webui_client.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>

#include <algorithm>

#include "core/api/upscaler_names.h"

namespace latent::api_server {
namespace {

QString qs(const std::string& text) { return QString::fromStdString(text); }

QString base64(const std::vector<unsigned char>& bytes) {
  return QString::fromLatin1(
      QByteArray(reinterpret_cast<const char*>(bytes.data()), static_cast<qsizetype>(bytes.size())).toBase64());
}

[[noreturn]] void cannot_carry(const std::string& what) {
  throw Error(what + " cannot run on a server: its API has no field for it. Turn it off, or run on this computer");
}

// What the web UI's API cannot express is refused rather than silently dropped: the server
// would draw another picture than the one the form describes.
void check_server_can_run(const api::GenerationRequest& r) {
  const api::GenerationRequest defaults;
  for (const api::ControlUnit& unit : r.control_units)
    if (unit.enabled) cannot_carry("A ControlNet unit");
  if (r.refiner.given()) cannot_carry("An SDXL refiner");
  if (!r.vae.empty()) cannot_carry("A VAE of its own (" + r.vae + ")");
  if (r.outpaint.any()) cannot_carry("Outpainting");
  if (!r.prompt_2.empty() || !r.negative_prompt_2.empty()) cannot_carry("SDXL's second prompt");
  const api::SamplingSettings& s = r.sampling;
  const api::SamplingSettings& d = defaults.sampling;
  if (s.guidance_rescale != d.guidance_rescale) cannot_carry("Guidance rescale");
  if (s.timestep_spacing != d.timestep_spacing) cannot_carry("A timestep spacing (" + s.timestep_spacing + ")");
  if (s.zero_snr != d.zero_snr) cannot_carry("Zero terminal SNR");
  if (s.lcm_original_steps != d.lcm_original_steps) cannot_carry("LCM's original steps");
  if (s.tcd_gamma != d.tcd_gamma) cannot_carry("TCD's gamma");
  const api::SdxlConditioning& x = r.sdxl;
  const api::SdxlConditioning& dx = defaults.sdxl;
  if (x.original_width != dx.original_width || x.original_height != dx.original_height ||
      x.crop_left != dx.crop_left || x.crop_top != dx.crop_top || x.target_width != dx.target_width ||
      x.target_height != dx.target_height || x.aesthetic_score != dx.aesthetic_score ||
      x.negative_aesthetic_score != dx.negative_aesthetic_score)
    cannot_carry("SDXL's size and crop conditioning");
  if (r.second_pass.enabled) {
    if (api::has_init_image(r)) cannot_carry("A hires fix of image to image");
    if (!api::find_built_in_upscaler(r.second_pass.upscaler))
      throw Error("The upscaler file '" + r.second_pass.upscaler +
                  "' is on this computer, not on the server: choose a built-in upscaler, or run on this computer");
  }
  if (r.mask.given() && !api::has_init_image(r)) throw Error("An inpainting mask needs a starting picture");
  if (r.sampling.seed > (uint64_t(1) << 53))
    throw Error("The seed " + std::to_string(r.sampling.seed) + " is larger than the API carries (2^53)");
}

// The prompt with the request's LoRAs as tags the server resolves in its LoRA folder.
std::string prompt_with_loras(const api::GenerationRequest& r) {
  std::string prompt = r.prompt;
  for (const api::LoraSpec& lora : r.loras.adapters) {
    std::string name = lora.path;
    const auto slash = name.find_last_of("/\\");
    if (slash != std::string::npos) name = name.substr(slash + 1);
    const std::string extension = ".safetensors";
    if (name.size() > extension.size() && name.compare(name.size() - extension.size(), extension.size(), extension) == 0)
      name.resize(name.size() - extension.size());
    prompt += (prompt.empty() ? "" : " ") + std::string("<lora:") + name + ":" + QString::number(lora.multiplier).toStdString() + ">";
  }
  return prompt;
}

int resize_mode_index(const std::string& mode) {
  if (mode == "resize") return 0;
  if (mode == "crop") return 1;
  if (mode == "pad") return 2;
  throw Error("the resize mode '" + mode + "' is none of resize, crop or pad");
}

QJsonObject object_of(const QByteArray& body, const char* what) {
  QJsonParseError error;
  const QJsonDocument doc = QJsonDocument::fromJson(body, &error);
  if (error.error != QJsonParseError::NoError || !doc.isObject())
    throw Error(std::string("the server's ") + what + " answer is not a JSON object");
  return doc.object();
}

QJsonArray array_of(const QByteArray& body, const char* what) {
  QJsonParseError error;
  const QJsonDocument doc = QJsonDocument::fromJson(body, &error);
  if (error.error != QJsonParseError::NoError || !doc.isArray())
    throw Error(std::string("the server's ") + what + " answer is not a JSON list");
  return doc.array();
}

std::vector<unsigned char> bytes_of(const QByteArray& data) { return {data.begin(), data.end()}; }

std::vector<unsigned char> decode_picture(const QJsonValue& value, const char* what) {
  const auto decoded = QByteArray::fromBase64Encoding(value.toString().toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
  if (!value.isString() || !decoded || decoded.decoded.isEmpty())
    throw Error(std::string("the server's ") + what + " is not a base64 picture");
  return bytes_of(decoded.decoded);
}

std::vector<std::string> names_of(const QByteArray& body, const char* what, const char* key) {
  std::vector<std::string> names;
  for (const QJsonValue& item : array_of(body, what)) {
    const QString name = item.toObject().value(key).toString();
    if (!name.isEmpty()) names.push_back(name.toStdString());
  }
  return names;
}

}  // namespace

ClientRequest webui_client_request(const api::GenerationRequest& r, const std::string& model_title,
                                   const std::vector<unsigned char>& init_image,
                                   const std::vector<unsigned char>& mask) {
  check_server_can_run(r);
  ClientRequest out;
  QJsonObject& b = out.body;
  // Our own sampler names: the server accepts them as they are (sampler_for), so the run
  // uses exactly the sampler the form chose, schedule included.
  b["prompt"] = qs(prompt_with_loras(r));
  b["negative_prompt"] = qs(r.negative_prompt);
  b["sampler_name"] = qs(r.sampling.sampler);
  b["steps"] = r.sampling.steps;
  b["cfg_scale"] = r.sampling.guidance_scale;
  b["eta"] = r.sampling.eta;
  b["seed"] = static_cast<double>(r.sampling.seed);
  b["width"] = r.size.width;
  b["height"] = r.size.height;
  b["batch_size"] = r.size.batch_size;
  b["n_iter"] = 1;
  b["send_images"] = true;
  QJsonObject overrides{{"CLIP_stop_at_last_layers", r.sampling.clip_skip}};
  if (!model_title.empty()) overrides["sd_model_checkpoint"] = qs(model_title);
  b["override_settings"] = overrides;

  if (!api::has_init_image(r)) {
    out.endpoint = Endpoint::txt2img;
    const api::SecondPass& p = r.second_pass;
    b["enable_hr"] = p.enabled;
    if (p.enabled) {
      b["hr_scale"] = p.scale;
      b["hr_resize_x"] = p.width;
      b["hr_resize_y"] = p.height;
      b["hr_upscaler"] = qs(p.upscaler);
      b["hr_second_pass_steps"] = p.steps;
      b["denoising_strength"] = p.denoising_strength;
      if (!p.sampler.empty()) b["hr_sampler_name"] = qs(p.sampler);
      b["hr_prompt"] = qs(p.prompt);
      b["hr_negative_prompt"] = qs(p.negative_prompt);
    }
    return out;
  }
  out.endpoint = Endpoint::img2img;
  if (init_image.empty()) throw Error("the starting picture is empty");
  b["init_images"] = QJsonArray{base64(init_image)};
  b["denoising_strength"] = r.init.strength;
  b["resize_mode"] = resize_mode_index(r.init.resize_mode);
  if (r.mask.given()) {
    if (mask.empty()) throw Error("the inpainting mask is empty");
    b["mask"] = base64(mask);
    b["mask_blur"] = r.mask.blur;
    b["inpaint_full_res"] = r.mask.only_masked;
    b["inpaint_full_res_padding"] = r.mask.only_masked_padding;
  }
  return out;
}

GenerationReply parse_generation_reply(const QByteArray& body) {
  const QJsonObject answer = object_of(body, "generation");
  GenerationReply reply;
  const QJsonValue images = answer.value("images");
  if (!images.isArray()) throw Error("the server's generation answer has no list of images");
  for (const QJsonValue& image : images.toArray()) reply.pngs.push_back(decode_picture(image, "image"));
  // "info" is a JSON text inside the JSON, as the web UI sends it.
  QJsonParseError error;
  const QJsonObject info = QJsonDocument::fromJson(answer.value("info").toString().toUtf8(), &error).object();
  for (const QJsonValue& seed : info.value("all_seeds").toArray()) {
    const double value = seed.toDouble(-1);
    reply.seeds.push_back(value >= 0 && value <= 9007199254740992.0 ? static_cast<uint64_t>(value) : 0);
  }
  reply.model_name = info.value("sd_model_name").toString().toStdString();
  for (const QJsonValue& warning : info.value("warnings").toArray()) reply.warnings.push_back(warning.toString().toStdString());
  reply.interrupted = info.value("interrupted").toBool();
  return reply;
}

ProgressReply parse_progress_reply(const QByteArray& body) {
  const QJsonObject answer = object_of(body, "progress");
  const QJsonObject state = answer.value("state").toObject();
  ProgressReply reply;
  reply.progress = std::clamp(answer.value("progress").toDouble(), 0.0, 1.0);
  reply.eta_seconds = std::max(0.0, answer.value("eta_relative").toDouble());
  reply.step = std::max(0, state.value("sampling_step").toInt());
  reply.steps = std::max(0, state.value("sampling_steps").toInt());
  reply.busy = !state.value("job").toString().isEmpty();
  const QJsonValue image = answer.value("current_image");
  if (image.isString() && !image.toString().isEmpty()) reply.preview = decode_picture(image, "preview");
  return reply;
}

std::string error_detail(const QByteArray& body, int status) {
  QJsonParseError error;
  const QJsonDocument doc = QJsonDocument::fromJson(body, &error);
  const QJsonValue detail = doc.object().value("detail");
  if (detail.isString() && !detail.toString().isEmpty()) return detail.toString().toStdString();
  // FastAPI's validation errors carry a list: the first entry's message.
  if (detail.isArray() && !detail.toArray().isEmpty()) {
    const QString message = detail.toArray().first().toObject().value("msg").toString();
    if (!message.isEmpty()) return message.toStdString();
  }
  qsizetype end = body.indexOf('\n');
  if (end < 0 || end > 200) end = std::min<qsizetype>(body.size(), 200);
  const QByteArray line = body.left(end).trimmed();
  if (!line.isEmpty() && error.error != QJsonParseError::NoError) return line.toStdString();
  return "HTTP " + std::to_string(status);
}

std::vector<std::string> parse_lora_names(const QByteArray& body) { return names_of(body, "LoRA list", "name"); }

std::vector<std::string> parse_model_titles(const QByteArray& body) { return names_of(body, "model list", "title"); }

}  // namespace latent::api_server
