#include "core/image/parameters_text.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonValue>
#include <QRegularExpression>
#include <QString>
#include <QStringList>

#include <algorithm>
#include <cmath>
#include <map>
#include <cstdio>

#include "core/api/upscaler_names.h"

namespace latent::image {
namespace {

struct SamplerName {
  const char* ours;
  const char* webui;
  const char* schedule;
};

constexpr SamplerName kSamplers[] = {
    {"euler", "Euler", ""},
    {"euler_karras", "Euler", "Karras"},
    {"euler_a", "Euler a", ""},
    {"lms", "LMS", ""},
    {"lms_karras", "LMS", "Karras"},
    {"heun", "Heun", ""},
    {"kdpm2", "DPM2", ""},
    {"kdpm2_a", "DPM2 a", ""},
    {"dpmpp_2m", "DPM++ 2M", ""},
    {"dpmpp_2m_karras", "DPM++ 2M", "Karras"},
    {"dpmpp_2m_sde", "DPM++ 2M SDE", ""},
    {"dpmpp_sde", "DPM++ SDE", ""},
    {"ddim", "DDIM", ""},
    {"pndm", "PLMS", ""},
    {"unipc", "UniPC", ""},
    {"lcm", "LCM", ""},
    {"tcd", "TCD", ""},
};

// Values holding separators are written JSON-quoted, as the web UI does.
std::string quote_if_needed(const std::string& value) {
  if (value.find_first_of(",:\n") == std::string::npos) return value;
  const QJsonValue json(QString::fromStdString(value));
  QByteArray text = QJsonDocument(QJsonArray{json}).toJson(QJsonDocument::Compact);
  return text.mid(1, text.size() - 2).toStdString();  // strip the array brackets
}

std::string unquote(const QString& value) {
  if (value.size() >= 2 && value.startsWith('"') && value.endsWith('"')) {
    const QJsonDocument doc = QJsonDocument::fromJson(("[" + value + "]").toUtf8());
    if (doc.isArray() && !doc.array().isEmpty()) return doc.array().at(0).toString().toStdString();
  }
  return value.toStdString();
}

std::string format_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

// A refiner's file or folder name, as api::GenerationResult::model_name counts names.
std::string model_file_name(const std::string& path) {
  return QFileInfo(QString::fromStdString(path)).completeBaseName().toStdString();
}

// The web UI's checkpoint "short title": "NAME [HASH]", or NAME alone without a hash.
std::string short_title(const std::string& name, const std::string& hash) {
  return hash.empty() ? name : name + " [" + hash + "]";
}

// Back from "NAME [HASH]" (the hash may be absent).
std::pair<std::string, std::string> split_short_title(const std::string& title) {
  const QString text = QString::fromStdString(title).trimmed();
  const qsizetype open = text.lastIndexOf(" [");
  if (open > 0 && text.endsWith(']'))
    return {text.left(open).trimmed().toStdString(), text.mid(open + 2, text.size() - open - 3).toStdString()};
  return {text.toStdString(), ""};
}

// The ControlNet extension's resize modes and ours.
constexpr std::pair<const char*, const char*> kControlResizeModes[] = {
    {"stretch", "Just Resize"}, {"crop", "Crop and Resize"}, {"fill", "Resize and Fill"}};
constexpr const char* kGuessMode = "ControlNet is more important";

// One "ControlNet N" entry's "Key: value" parts.
std::map<std::string, std::string> control_entry_parts(const std::string& entry) {
  std::map<std::string, std::string> parts;
  for (const QString& part : QString::fromStdString(entry).split(", ")) {
    const qsizetype colon = part.indexOf(':');
    if (colon > 0) parts[part.left(colon).trimmed().toStdString()] = part.mid(colon + 1).trimmed().toStdString();
  }
  return parts;
}

// The "ControlNet N" (or a lone "ControlNet") fields, in N's order.
std::vector<std::map<std::string, std::string>> control_entries(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::map<int, std::map<std::string, std::string>> by_index;
  for (const auto& [key, value] : fields) {
    const QString k = QString::fromStdString(key);
    if (!k.startsWith("ControlNet")) continue;
    const QString rest = k.mid(QStringLiteral("ControlNet").size()).trimmed();
    bool ok = rest.isEmpty();
    const int index = ok ? 0 : rest.toInt(&ok);
    if (ok && index >= 0 && index < 64) by_index[index] = control_entry_parts(value);
  }
  std::vector<std::map<std::string, std::string>> out;
  for (auto& [index, parts] : by_index) out.push_back(std::move(parts));
  return out;
}

double number_or(const std::map<std::string, std::string>& parts, const char* key, double fallback) {
  const auto found = parts.find(key);
  if (found == parts.end()) return fallback;
  bool ok = false;
  const double value = QString::fromStdString(found->second).toDouble(&ok);
  return ok && std::isfinite(value) ? value : fallback;
}

// The entries as control units over the base's (see ParsedParameters::to_request).
void read_control_units(const std::vector<std::map<std::string, std::string>>& entries,
                        const api::GenerationRequest& base, api::GenerationRequest& r) {
  r.control_units.clear();
  r.control_guess_mode = false;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& parts = entries[i];
    api::ControlUnit unit;
    if (i < base.control_units.size()) unit = base.control_units[i];
    const auto model = parts.find("Model");
    const std::string name = model == parts.end() ? "" : split_short_title(model->second).first;
    if (unit.model_path.empty() || model_file_name(unit.model_path) != name) unit.model_path.clear();
    if (const auto module = parts.find("Module"); module != parts.end()) unit.preprocessor = module->second;
    unit.weight = number_or(parts, "Weight", 1.0);
    unit.threshold_a = number_or(parts, "Threshold A", -1);
    unit.threshold_b = number_or(parts, "Threshold B", -1);
    unit.guidance_start = number_or(parts, "Guidance Start", 0.0);
    unit.guidance_end = number_or(parts, "Guidance End", 1.0);
    unit.resize_mode = "crop";  // the extension's default
    if (const auto resize = parts.find("Resize Mode"); resize != parts.end())
      for (const auto& [ours, webui] : kControlResizeModes)
        if (resize->second == webui) unit.resize_mode = ours;
    if (const auto mode = parts.find("Control Mode"); mode != parts.end() && mode->second == kGuessMode)
      r.control_guess_mode = true;
    unit.enabled = !unit.model_path.empty() && unit.given();
    r.control_units.push_back(unit);
  }
}

}  // namespace

std::pair<std::string, std::string> webui_sampler_name(const std::string& sampler) {
  for (const auto& s : kSamplers)
    if (sampler == s.ours) return {s.webui, s.schedule};
  return {sampler, ""};
}

std::string sampler_from_webui(const std::string& sampler, const std::string& schedule) {
  std::string name = sampler;
  std::string sched = schedule == "Automatic" ? "" : schedule;
  const std::string karras = " Karras";
  if (name.size() > karras.size() && name.compare(name.size() - karras.size(), karras.size(), karras) == 0) {
    name.resize(name.size() - karras.size());
    sched = "Karras";
  }
  for (const auto& s : kSamplers)
    if (name == s.webui && sched == s.schedule) return s.ours;
  for (const auto& s : kSamplers)  // a schedule we lack: keep the sampler at least
    if (name == s.webui) return s.ours;
  return {};
}

ParametersExtras parameters_extras(const api::GenerationResult& result) {
  ParametersExtras extras;
  extras.model_name = result.model_name;
  extras.model_hash = result.model_hash;
  extras.init_image_hash = result.init_image_hash;
  extras.mask_hash = result.mask_hash;
  extras.refiner_name = result.refiner_name;
  extras.refiner_hash = result.refiner_hash;
  extras.vae_name = result.vae_name;
  extras.vae_hash = result.vae_hash;
  extras.controlnets = result.controlnets;
  if (!result.loras.empty()) extras.more.push_back({"Lora hashes", lora_hashes_text(result.loras)});
  // The Dynamic Prompts extension's names for the prompts as written before their wildcards
  // were drawn. It appends them as lines of their own; as fields they leave the parameters
  // line the last line, where every reader (the web UI's too) looks for it.
  if (!result.prompt_template.empty()) extras.more.push_back({"Template", result.prompt_template});
  if (!result.negative_prompt_template.empty())
    extras.more.push_back({"Negative Template", result.negative_prompt_template});
  return extras;
}

namespace {

// The web UI's hires fix fields (modules/processing.py: "Denoising strength", "Hires
// upscale" or "Hires resize", "Hires steps" when not 0, "Hires upscaler", and the sampler
// and prompts only where they differ from the first pass's).
void add_hires_fields(const api::GenerationRequest& request,
                      std::vector<std::pair<std::string, std::string>>& fields) {
  const api::SecondPass& pass = request.second_pass;
  if (!pass.enabled) return;
  fields.push_back({"Denoising strength", format_number(pass.denoising_strength)});
  if (pass.width > 0 || pass.height > 0)
    fields.push_back({"Hires resize", std::to_string(pass.width) + "x" + std::to_string(pass.height)});
  else
    fields.push_back({"Hires upscale", format_number(pass.scale)});
  if (pass.steps > 0) fields.push_back({"Hires steps", std::to_string(pass.steps)});
  fields.push_back({"Hires upscaler", api::upscaler_metadata_name(pass.upscaler)});
  if (!pass.sampler.empty() && pass.sampler != request.sampling.sampler) {
    const auto [sampler, schedule] = webui_sampler_name(pass.sampler);
    fields.push_back({"Hires sampler", sampler});
    fields.push_back({"Hires schedule type", schedule});
  }
  if (!pass.prompt.empty() && pass.prompt != request.prompt) fields.push_back({"Hires prompt", pass.prompt});
  if (!pass.negative_prompt.empty() && pass.negative_prompt != request.negative_prompt)
    fields.push_back({"Hires negative prompt", pass.negative_prompt});
}

// The hires fix of a text: on when it names an upscale; without one, off. An upscaler the
// text names only by its web-UI name stays the base request's file when that is the one.
void read_hires_fields(const ParsedParameters& text, api::GenerationRequest& r) {
  api::SecondPass& pass = r.second_pass;
  const auto upscale = text.field("Hires upscale");
  const auto resize = text.field("Hires resize");
  const auto upscaler = text.field("Hires upscaler");
  pass.enabled = upscale || resize || upscaler;
  if (!pass.enabled) return;
  const api::SecondPass defaults;
  bool ok = false;
  pass.scale = defaults.scale;
  pass.width = pass.height = 0;
  if (upscale) {
    const double scale = QString::fromStdString(*upscale).toDouble(&ok);
    if (ok && scale > 0) pass.scale = scale;
  } else if (resize) {
    const QStringList wh = QString::fromStdString(*resize).split('x');
    bool ok_h = false;
    const int w = wh.size() == 2 ? wh[0].trimmed().toInt(&ok) : 0;
    const int h = wh.size() == 2 ? wh[1].trimmed().toInt(&ok_h) : 0;
    if (ok && ok_h && w >= 0 && h >= 0 && w + h > 0) {
      pass.width = w;
      pass.height = h;
    }
  }
  if (!upscaler)
    pass.upscaler = defaults.upscaler;
  else if (api::upscaler_metadata_name(pass.upscaler) != *upscaler)
    pass.upscaler = api::upscaler_from_metadata(*upscaler);
  pass.steps = 0;
  if (const auto v = text.field("Hires steps")) {
    const int steps = QString::fromStdString(*v).toInt(&ok);
    if (ok && steps >= 0) pass.steps = steps;
  }
  pass.denoising_strength = defaults.denoising_strength;
  if (const auto v = text.field("Denoising strength")) {
    const double strength = QString::fromStdString(*v).toDouble(&ok);
    if (ok && strength >= 0 && strength <= 1) pass.denoising_strength = strength;
  }
  pass.sampler.clear();
  if (const auto v = text.field("Hires sampler"))
    pass.sampler = sampler_from_webui(*v, text.field("Hires schedule type").value_or(""));
  pass.prompt = text.field("Hires prompt").value_or("");
  pass.negative_prompt = text.field("Hires negative prompt").value_or("");
}

}  // namespace

std::string format_parameters(const api::GenerationRequest& request, uint64_t seed,
                              const ParametersExtras& extras) {
  const api::SamplingSettings& sampling = request.sampling;
  std::string text = request.prompt;
  if (!request.negative_prompt.empty()) text += "\nNegative prompt: " + request.negative_prompt;
  const auto [sampler, schedule] = webui_sampler_name(sampling.sampler);
  std::vector<std::pair<std::string, std::string>> fields = {
      {"Steps", std::to_string(sampling.steps)},
      {"Sampler", sampler},
      {"Schedule type", schedule},
      {"CFG scale", format_number(sampling.guidance_scale)},
      {"Seed", std::to_string(seed)},
      {"Size", std::to_string(request.size.width) + "x" + std::to_string(request.size.height)},
      {"Model hash", extras.model_hash},
      {"Model", extras.model_name},
      {"VAE hash", extras.vae_hash},
      {"VAE", extras.vae_name},
      {"Clip skip", sampling.clip_skip > 1 ? std::to_string(sampling.clip_skip) : ""},
      {"RNG", "CPU"},
  };
  if (sampling.sampler == "ddim" && sampling.eta != 0) fields.push_back({"Eta", format_number(sampling.eta)});
  if (sampling.sampler == "tcd") fields.push_back({"TCD gamma", format_number(sampling.tcd_gamma)});
  if ((sampling.sampler == "lcm" || sampling.sampler == "tcd") && sampling.lcm_original_steps > 0)
    fields.push_back({"LCM original steps", std::to_string(sampling.lcm_original_steps)});
  if (api::has_init_image(request) || !extras.init_image_hash.empty()) {
    // Image to image: the web UI's "Denoising strength" and "Mask blur", our own hashes.
    const api::InitImageSettings& init = request.init;
    const api::MaskSettings& mask = request.mask;
    const api::OutpaintSettings& outpaint = request.outpaint;
    fields.push_back({"Denoising strength", format_number(init.strength)});
    fields.push_back({"Init image hash", extras.init_image_hash});
    if (init.resize_mode != "resize") fields.push_back({"Resize mode", init.resize_mode});
    if (mask.given() || !extras.mask_hash.empty()) {
      fields.push_back({"Mask blur", std::to_string(mask.blur)});
      fields.push_back({"Mask hash", extras.mask_hash});
      if (mask.only_masked) {
        fields.push_back({"Inpaint area", "Only masked"});
        fields.push_back({"Masked area padding", std::to_string(mask.only_masked_padding)});
      }
    }
    if (outpaint.any())
      fields.push_back({"Outpaint", std::to_string(outpaint.left) + "," + std::to_string(outpaint.top) + "," +
                                        std::to_string(outpaint.right) + "," + std::to_string(outpaint.bottom)});
  }
  add_hires_fields(request, fields);
  // Fields of the web UI's extensions and second passes, as they write them.
  if (sampling.guidance_rescale > 0) fields.push_back({"CFG Rescale", format_number(sampling.guidance_rescale)});
  // The web UI writes a zero-SNR run's schedule as "Noise Schedule"; it has no spacing
  // setting, so the spacing keeps diffusers' word.
  if (sampling.zero_snr) fields.push_back({"Noise Schedule", "Zero Terminal SNR"});
  if (!sampling.timestep_spacing.empty()) fields.push_back({"Timestep Spacing", sampling.timestep_spacing});
  if (sampling.step_cache > 1) fields.push_back({"Step cache", std::to_string(sampling.step_cache)});
  if (request.refiner.given() || !extras.refiner_name.empty()) {
    const std::string name =
        extras.refiner_name.empty() ? model_file_name(request.refiner.path) : extras.refiner_name;
    fields.push_back({"Refiner", short_title(name, extras.refiner_hash)});
    fields.push_back({"Refiner switch at", format_number(request.refiner.switch_at)});
  }
  std::size_t control_index = 0;  // numbered over the enabled units, from 0 as the extension does
  for (const api::ControlUnit& unit : request.control_units) {
    if (!unit.enabled) continue;
    const api::AppliedControlNet net = control_index < extras.controlnets.size()
                                           ? extras.controlnets[control_index]
                                           : api::AppliedControlNet{model_file_name(unit.model_path), ""};
    fields.push_back({"ControlNet " + std::to_string(control_index++),
                      control_unit_text(unit, net, request.control_guess_mode)});
  }
  for (const auto& extra : extras.more) fields.push_back(extra);
  fields.push_back({"Version", std::string("Latent Studio ") + LATENT_VERSION});

  std::string line;
  for (const auto& [key, value] : fields) {
    if (value.empty()) continue;
    line += (line.empty() ? "" : ", ") + key + ": " + quote_if_needed(value);
  }
  return text + "\n" + line;
}

std::string control_unit_text(const api::ControlUnit& unit, const api::AppliedControlNet& net, bool guess_mode) {
  std::string resize = unit.resize_mode;
  for (const auto& [ours, webui] : kControlResizeModes)
    if (unit.resize_mode == ours) resize = webui;
  const auto threshold = [](double value) { return value < 0 ? std::string("-1") : format_number(value); };
  return "Module: " + unit.preprocessor + ", Model: " + short_title(net.name, net.hash) +
         ", Weight: " + format_number(unit.weight) + ", Resize Mode: " + resize +
         ", Processor Res: 512, Threshold A: " + threshold(unit.threshold_a) +
         ", Threshold B: " + threshold(unit.threshold_b) + ", Guidance Start: " + format_number(unit.guidance_start) +
         ", Guidance End: " + format_number(unit.guidance_end) +
         ", Pixel Perfect: False, Control Mode: " + (guess_mode ? kGuessMode : "Balanced");
}

std::string lora_hashes_text(const std::vector<api::AppliedLora>& loras) {
  std::string text;
  for (const auto& lora : loras) {
    std::string name = lora.name;
    name.erase(std::remove_if(name.begin(), name.end(), [](char c) { return c == ':' || c == ','; }), name.end());
    const std::string entry = name + ": " + lora.hash;
    if (text.find(entry) != std::string::npos) continue;  // one file named twice
    text += (text.empty() ? "" : ", ") + entry;
  }
  return text;
}

std::optional<std::string> ParsedParameters::field(const std::string& key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return v;
  return std::nullopt;
}

std::string ParsedParameters::to_text() const {
  std::string text = prompt;
  if (!negative_prompt.empty()) text += "\nNegative prompt: " + negative_prompt;
  std::string line;
  for (const auto& [key, value] : fields)
    if (!value.empty()) line += (line.empty() ? "" : ", ") + key + ": " + quote_if_needed(value);
  return line.empty() ? text : text + "\n" + line;
}

bool is_restored_parameters_field(const std::string& key) {
  // Kept beside to_request and to_result: a field they learn to read belongs here too.
  static const char* const kRead[] = {
      "Steps", "Sampler", "Schedule type", "CFG scale", "Seed", "Size", "Model hash", "Model", "VAE hash",
      "VAE", "Clip skip", "Eta", "TCD gamma", "LCM original steps", "CFG Rescale", "CFG Rescale \u03c6",
      "CFG Rescale phi", "Noise Schedule", "Timestep Spacing", "Step cache", "Refiner", "Refiner switch at",
      "Denoising strength", "Init image hash", "Resize mode", "Mask blur", "Mask hash", "Inpaint area",
      "Masked area padding", "Outpaint", "Hires upscale", "Hires resize", "Hires upscaler", "Hires steps",
      "Hires sampler", "Hires schedule type", "Hires prompt", "Hires negative prompt"};
  for (const char* read : kRead)
    if (key == read) return true;
  return key.rfind("ControlNet", 0) == 0;
}

ParsedParameters parse_parameters(const std::string& text) {
  static const QRegularExpression field_pattern(
      R"re(\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$))re");
  ParsedParameters out;
  QStringList lines = QString::fromStdString(text).trimmed().split('\n');
  if (!lines.isEmpty()) {
    const QString last = lines.last();
    int matches = 0;
    for (auto it = field_pattern.globalMatch(last); it.hasNext(); it.next()) ++matches;
    if (matches >= 3) {
      for (auto it = field_pattern.globalMatch(last); it.hasNext();) {
        const auto match = it.next();
        out.fields.push_back({match.captured(1).trimmed().toStdString(),
                              unquote(match.captured(2).trimmed())});
      }
      lines.removeLast();
    }
  }
  QStringList prompt;
  QStringList negative;
  bool in_negative = false;
  for (const QString& line : lines) {
    if (!in_negative && line.startsWith("Negative prompt:")) {
      in_negative = true;
      negative << line.mid(QStringLiteral("Negative prompt:").size()).trimmed();
    } else {
      (in_negative ? negative : prompt) << line;
    }
  }
  out.prompt = prompt.join('\n').trimmed().toStdString();
  out.negative_prompt = negative.join('\n').trimmed().toStdString();
  return out;
}

api::GenerationRequest ParsedParameters::to_request(const api::GenerationRequest& base) const {
  api::GenerationRequest r = base;
  api::SamplingSettings& sampling = r.sampling;
  r.prompt = prompt;
  r.negative_prompt = negative_prompt;
  bool ok = false;
  if (const auto v = field("Steps")) {
    const int steps = QString::fromStdString(*v).toInt(&ok);
    if (ok && steps > 0) sampling.steps = steps;
  }
  if (const auto v = field("CFG scale")) {
    const double g = QString::fromStdString(*v).toDouble(&ok);
    if (ok) sampling.guidance_scale = g;
  }
  if (const auto v = field("Seed")) {
    const qulonglong seed = QString::fromStdString(*v).toULongLong(&ok);
    if (ok) sampling.seed = seed;
  }
  if (const auto v = field("Size")) {
    const QStringList wh = QString::fromStdString(*v).split('x');
    int w = 0, h = 0;
    bool ok_w = false, ok_h = false;
    if (wh.size() == 2) {
      w = wh[0].trimmed().toInt(&ok_w);
      h = wh[1].trimmed().toInt(&ok_h);
    }
    if (ok_w && ok_h && w > 0 && h > 0) {
      r.size.width = w;
      r.size.height = h;
    }
  }
  if (const auto v = field("Sampler")) {
    const std::string name = sampler_from_webui(*v, field("Schedule type").value_or(""));
    if (!name.empty()) sampling.sampler = name;
  }
  // The text counts clip skip as the request does; without the field it is the web UI's
  // default, the last layer.
  sampling.clip_skip = 1;
  if (const auto v = field("Clip skip")) {
    const int skip = QString::fromStdString(*v).toInt(&ok);
    if (ok && skip >= 1) sampling.clip_skip = skip;
  }
  if (const auto v = field("Eta")) {
    const double eta = QString::fromStdString(*v).toDouble(&ok);
    if (ok) sampling.eta = eta;
  }
  if (const auto v = field("TCD gamma")) {
    const double gamma = QString::fromStdString(*v).toDouble(&ok);
    if (ok && gamma >= 0 && gamma <= 1) sampling.tcd_gamma = gamma;
  }
  sampling.lcm_original_steps = 0;  // without the field, the model's scheduler config
  if (const auto v = field("LCM original steps")) {
    const int original = QString::fromStdString(*v).toInt(&ok);
    if (ok && original >= 1 && original <= 1000) sampling.lcm_original_steps = original;
  }
  // Without the field, no rescale (the CFG Rescale extension's older names are read too).
  sampling.guidance_rescale = 0;
  for (const char* key : {"CFG Rescale", "CFG Rescale \u03c6", "CFG Rescale phi"}) {
    const auto v = field(key);
    if (!v) continue;
    const double rescale = QString::fromStdString(*v).toDouble(&ok);
    if (ok && rescale >= 0 && rescale <= 1) sampling.guidance_rescale = rescale;
    break;
  }
  // Without the fields, the model's own schedule and spacing.
  sampling.zero_snr = field("Noise Schedule").value_or("") == "Zero Terminal SNR";
  sampling.timestep_spacing.clear();
  if (const auto v = field("Timestep Spacing"))
    if (*v == "leading" || *v == "linspace" || *v == "trailing") sampling.timestep_spacing = *v;
  // Without the field (or with a value out of range), every step ran in full.
  sampling.step_cache = 1;
  if (const auto v = field("Step cache")) {
    const int interval = QString::fromStdString(*v).toInt(&ok);
    if (ok && interval >= 1 && interval <= 1000) sampling.step_cache = interval;
  }
  if (const auto v = field("Refiner")) {
    const std::string name = split_short_title(*v).first;
    if (!r.refiner.given() || model_file_name(r.refiner.path) != name) r.refiner.path.clear();
  } else {
    r.refiner.path.clear();
  }
  // The text names an autoencoder only by name: the base's is kept when it is that one.
  const auto vae = field("VAE");
  if (!vae || model_file_name(r.vae) != *vae) r.vae.clear();
  if (const auto v = field("Refiner switch at")) {
    const double at = QString::fromStdString(*v).toDouble(&ok);
    if (ok && at > 0 && at < 1) r.refiner.switch_at = at;
  }
  if (const auto v = field("Denoising strength")) {
    const double strength = QString::fromStdString(*v).toDouble(&ok);
    if (ok && strength >= 0 && strength <= 1) r.init.strength = strength;
  }
  if (const auto v = field("Resize mode")) {
    if (*v == "resize" || *v == "crop" || *v == "pad") r.init.resize_mode = *v;
  }
  read_control_units(control_entries(fields), base, r);
  if (const auto v = field("Mask blur")) {
    const int blur = QString::fromStdString(*v).toInt(&ok);
    if (ok && blur >= 0) r.mask.blur = blur;
  }
  if (const auto v = field("Inpaint area")) r.mask.only_masked = *v == "Only masked";
  if (const auto v = field("Masked area padding")) {
    const int padding = QString::fromStdString(*v).toInt(&ok);
    if (ok && padding >= 0) r.mask.only_masked_padding = padding;
  }
  if (const auto v = field("Outpaint")) {
    const QStringList sides = QString::fromStdString(*v).split(',');
    int values[4] = {0, 0, 0, 0};
    bool all = sides.size() == 4;
    for (int k = 0; all && k < 4; ++k) {
      values[k] = sides[k].trimmed().toInt(&ok);
      all = ok && values[k] >= 0;
    }
    if (all) r.outpaint = {values[0], values[1], values[2], values[3]};
  }
  read_hires_fields(*this, r);
  return r;
}

api::GenerationResult ParsedParameters::to_result(const api::GenerationRequest& base) const {
  api::GenerationResult result;
  result.request = to_request(base);
  result.model_name = field("Model").value_or("");
  result.model_hash = field("Model hash").value_or("");
  result.init_image_hash = field("Init image hash").value_or("");
  result.mask_hash = field("Mask hash").value_or("");
  if (const auto v = field("Refiner")) {
    const auto [name, hash] = split_short_title(*v);
    result.refiner_name = name;
    result.refiner_hash = hash;
  }
  result.vae_name = field("VAE").value_or("");
  result.vae_hash = field("VAE hash").value_or("");
  for (const auto& parts : control_entries(fields)) {
    const auto model = parts.find("Model");
    if (model == parts.end()) continue;
    const auto [name, hash] = split_short_title(model->second);
    result.controlnets.push_back({name, hash});
  }
  return result;
}

}  // namespace latent::image
