#include "core/api_server/webui_request.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>

#include <cmath>

#include "core/image/parameters_text.h"

namespace latent::api_server {
namespace {

std::string json_text(const QJsonValue& value) {
  if (value.isString()) return "\"" + value.toString().left(40).toStdString() + "\"";
  const QJsonDocument doc(QJsonArray{value});
  const QByteArray text = doc.toJson(QJsonDocument::Compact);
  return text.mid(1, text.size() - 2).left(40).toStdString();
}

// Reads the fields of one JSON object; absent and null fields keep their defaults, as
// the web UI's optional fields do.
class Fields {
 public:
  Fields(const QJsonObject& object, std::string prefix) : object_(object), prefix_(std::move(prefix)) {}

  bool has(const char* key) const { return object_.contains(key) && !object_.value(key).isNull(); }
  QJsonValue value(const char* key) const { return object_.value(key); }
  std::string name(const char* key) const { return prefix_ + key; }

  [[noreturn]] void fail(const char* key, const std::string& message) const { throw FieldError(name(key), message); }

  std::string text(const char* key, const std::string& fallback = "") const {
    if (!has(key)) return fallback;
    const QJsonValue v = value(key);
    if (!v.isString()) fail(key, "expected a string, got " + json_text(v));
    return v.toString().toStdString();
  }

  bool flag(const char* key, bool fallback = false) const {
    if (!has(key)) return fallback;
    const QJsonValue v = value(key);
    if (v.isBool()) return v.toBool();
    if (v.isDouble() && (v.toDouble() == 0 || v.toDouble() == 1)) return v.toDouble() == 1;
    fail(key, "expected true or false, got " + json_text(v));
  }

  double number(const char* key, double fallback, double low, double high) const {
    if (!has(key)) return fallback;
    const QJsonValue v = value(key);
    if (!v.isDouble() || !std::isfinite(v.toDouble())) fail(key, "expected a number, got " + json_text(v));
    const double x = v.toDouble();
    if (x < low || x > high) fail(key, json_text(v) + " is out of range: use " + format(low) + " to " + format(high));
    return x;
  }

  int64_t whole(const char* key, int64_t fallback, int64_t low, int64_t high) const {
    if (!has(key)) return fallback;
    const QJsonValue v = value(key);
    const double x = v.toDouble();
    if (!v.isDouble() || !std::isfinite(x) || x != std::floor(x))
      fail(key, "expected a whole number, got " + json_text(v));
    if (x < static_cast<double>(low) || x > static_cast<double>(high))
      fail(key, json_text(v) + " is out of range: use " + std::to_string(low) + " to " + std::to_string(high));
    return static_cast<int64_t>(x);
  }

  // A field of a feature the engine lacks: refused unless it asks for nothing.
  void refuse_if(bool asked, const char* key, const char* what) const {
    if (asked) fail(key, std::string(what) + " is not supported by this server");
  }

 private:
  static std::string format(double x) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", x);
    return buffer;
  }

  const QJsonObject& object_;
  std::string prefix_;
};

bool same_name(const std::string& a, const char* b) { return QString::fromStdString(a).compare(b, Qt::CaseInsensitive) == 0; }

void read_sampling(const Fields& f, const RequestLimits& limits, WebuiRequest* out) {
  api::GenerationRequest& r = out->request;
  api::SamplingSettings& s = r.sampling;
  // sampler_index is the older name of the field; sampler_name wins when both are sent.
  const char* sampler_key = f.has("sampler_name") ? "sampler_name" : "sampler_index";
  const std::string sampler_name = f.text(sampler_key);
  const std::string scheduler = f.text("scheduler");
  out->sampler_given = !sampler_name.empty();
  if (out->sampler_given) {
    try {
      s.sampler = sampler_for(sampler_name, scheduler);
    } catch (const FieldError& e) {
      throw FieldError(e.field() == "sampler_name" ? sampler_key : e.field(), e.message());
    }
  } else if (!scheduler.empty()) {
    sampler_for("Euler", scheduler);  // checks the schedule's name
  }
  s.steps = static_cast<int>(f.whole("steps", 50, 1, limits.max_steps));
  s.guidance_scale = f.number("cfg_scale", 7.0, 0, 100);
  s.eta = f.number("eta", 0, 0, 1);
  const int64_t seed = f.whole("seed", -1, -1, int64_t(1) << 53);
  out->random_seed = seed == -1;
  s.seed = seed < 0 ? 0 : static_cast<uint64_t>(seed);

  const int64_t width = f.whole("width", 0, 64, limits.max_side);
  const int64_t height = f.whole("height", 0, 64, limits.max_side);
  if (f.has("width") != f.has("height"))
    f.fail(f.has("width") ? "height" : "width", "send width and height together");
  if (width % 8 != 0) f.fail("width", std::to_string(width) + " is not a multiple of 8");
  if (height % 8 != 0) f.fail("height", std::to_string(height) + " is not a multiple of 8");
  out->size_given = f.has("width");
  r.size.width = static_cast<int>(width);
  r.size.height = static_cast<int>(height);
  r.size.batch_size = static_cast<int>(f.whole("batch_size", 1, 1, limits.max_images));
  out->n_iter = static_cast<int>(f.whole("n_iter", 1, 1, limits.max_images));
  if (r.size.batch_size * out->n_iter > limits.max_images)
    f.fail("n_iter", "batch_size × n_iter is " + std::to_string(r.size.batch_size * out->n_iter) +
                         "; at most " + std::to_string(limits.max_images) + " images per request");
}

void read_unsupported(const Fields& f) {
  f.refuse_if(f.flag("restore_faces"), "restore_faces", "face restoration");
  f.refuse_if(f.flag("tiling"), "tiling", "tiling");
  f.refuse_if(f.number("subseed_strength", 0, 0, 1) > 0, "subseed_strength", "a variation seed");
  f.refuse_if(!f.text("script_name").empty(), "script_name", "running scripts");
  f.refuse_if(!f.text("refiner_checkpoint").empty(), "refiner_checkpoint", "a refiner by name");
  f.refuse_if(!f.text("infotext").empty(), "infotext", "settings from an infotext");
  if (f.has("styles")) {
    const QJsonValue v = f.value("styles");
    if (!v.isArray()) f.fail("styles", "expected a list, got " + json_text(v));
    f.refuse_if(!v.toArray().isEmpty(), "styles", "prompt styles");
  }
  if (f.has("alwayson_scripts")) {
    const QJsonValue v = f.value("alwayson_scripts");
    if (!v.isObject()) f.fail("alwayson_scripts", "expected an object, got " + json_text(v));
    if (!v.toObject().isEmpty())
      f.fail("alwayson_scripts", "the script '" + v.toObject().keys().first().toStdString() +
                                     "' is not supported by this server");
  }
}

void read_override_settings(const Fields& f, WebuiRequest* out) {
  if (!f.has("override_settings")) return;
  const QJsonValue v = f.value("override_settings");
  if (!v.isObject()) f.fail("override_settings", "expected an object, got " + json_text(v));
  const QJsonObject object = v.toObject();
  const Fields o(object, "override_settings.");
  out->model_title = o.text("sd_model_checkpoint");
  out->request.sampling.clip_skip = static_cast<int>(o.whole("CLIP_stop_at_last_layers", 1, 1, 12));
  if (o.has("eta_ddim")) out->request.sampling.eta = o.number("eta_ddim", 0, 0, 1);
}

// The web UI's "Hires. fix" fields, carried as the request's second pass (validation
// says whether the engine runs it).
void read_second_pass(const Fields& f, const RequestLimits& limits, WebuiRequest* out) {
  api::SecondPass& p = out->request.second_pass;
  p.enabled = f.flag("enable_hr");
  if (!p.enabled) return;
  p.scale = f.number("hr_scale", 2.0, 1, 4);
  p.width = static_cast<int>(f.whole("hr_resize_x", 0, 0, limits.max_side));
  p.height = static_cast<int>(f.whole("hr_resize_y", 0, 0, limits.max_side));
  const std::string upscaler = f.text("hr_upscaler", "Latent");
  p.upscaler = same_name(upscaler, "Latent") ? "latent" : upscaler;
  p.steps = static_cast<int>(f.whole("hr_second_pass_steps", 0, 0, limits.max_steps));
  p.denoising_strength = f.number("denoising_strength", 0.7, 0, 1);
  const std::string sampler = f.text("hr_sampler_name");
  if (!sampler.empty() && !same_name(sampler, "Use same sampler")) {
    try {
      p.sampler = sampler_for(sampler, f.text("hr_scheduler"));
    } catch (const FieldError& e) {
      throw FieldError(e.field() == "sampler_name" ? "hr_sampler_name" : "hr_scheduler", e.message());
    }
  }
  p.prompt = f.text("hr_prompt");
  p.negative_prompt = f.text("hr_negative_prompt");
}

void read_img2img(const Fields& f, const RequestLimits& limits, WebuiRequest* out) {
  api::GenerationRequest& r = out->request;
  if (!f.has("init_images")) f.fail("init_images", "img2img needs a starting picture");
  const QJsonValue images = f.value("init_images");
  if (!images.isArray() || images.toArray().isEmpty())
    f.fail("init_images", "expected a list of one base64 picture, got " + json_text(images));
  if (images.toArray().size() > 1)
    f.fail("init_images", "one starting picture per request; got " + std::to_string(images.toArray().size()));
  out->init_image = decode_base64_field(images.toArray().at(0), "init_images[0]", limits.max_image_bytes);
  r.init.strength = f.number("denoising_strength", 0.75, 0, 1);
  static const char* const kModes[] = {"resize", "crop", "pad"};
  const int64_t mode = f.whole("resize_mode", 0, 0, 3);
  if (mode == 3) f.fail("resize_mode", "3 (latent upscale) is not supported by this server; use 0, 1 or 2");
  r.init.resize_mode = kModes[mode];
  if (f.has("mask")) {
    out->mask = decode_base64_field(f.value("mask"), "mask", limits.max_image_bytes);
    r.mask.blur = static_cast<int>(f.whole("mask_blur", 4, 0, 256));
    r.mask.only_masked = f.flag("inpaint_full_res");
    r.mask.only_masked_padding = static_cast<int>(f.whole("inpaint_full_res_padding", 32, 0, 1024));
    out->invert_mask = f.whole("inpainting_mask_invert", 0, 0, 1) == 1;
  }
}

// Our spelling of the schedule: "" (automatic) or "Karras"; FieldError otherwise.
std::string schedule_for(const std::string& scheduler) {
  if (scheduler.empty() || same_name(scheduler, "Automatic")) return "";
  if (same_name(scheduler, "Karras")) return "Karras";
  throw FieldError("scheduler", "unknown schedule '" + scheduler + "': use Automatic or Karras");
}

}  // namespace

QJsonObject parse_json_object(const QByteArray& body) {
  QJsonParseError error;
  const QJsonDocument doc = QJsonDocument::fromJson(body, &error);
  if (error.error != QJsonParseError::NoError)
    throw FieldError("", "the body is not valid JSON: " + error.errorString().toStdString() + " at offset " +
                             std::to_string(error.offset));
  if (!doc.isObject()) throw FieldError("", "the body must be a JSON object");
  return doc.object();
}

std::vector<unsigned char> decode_base64_field(const QJsonValue& value, const std::string& field,
                                               int64_t max_bytes) {
  if (!value.isString()) throw FieldError(field, "expected a base64 picture, got " + json_text(value));
  QByteArray text = value.toString().toLatin1();
  if (text.startsWith("data:")) {  // a data: URL, as browsers and some clients send
    const qsizetype comma = text.indexOf(',');
    if (comma < 0 || !text.left(comma).endsWith(";base64"))
      throw FieldError(field, "a data: URL must be base64 (data:image/png;base64,...)");
    text = text.mid(comma + 1);
  }
  if (text.isEmpty()) throw FieldError(field, "the picture is empty");
  if (static_cast<int64_t>(text.size()) / 4 * 3 > max_bytes)
    throw FieldError(field, "the picture is larger than the server's limit of " + std::to_string(max_bytes >> 20) + " MiB");
  const auto decoded = QByteArray::fromBase64Encoding(text, QByteArray::AbortOnBase64DecodingErrors);
  if (!decoded) throw FieldError(field, "not valid base64");
  return {decoded.decoded.begin(), decoded.decoded.end()};
}

std::string sampler_for(const std::string& sampler_name, const std::string& scheduler) {
  const std::string schedule = schedule_for(scheduler);
  // Our own names are accepted as they are ("dpmpp_2m_karras").
  const auto [webui, own_schedule] = image::webui_sampler_name(sampler_name);
  if (webui != sampler_name) {
    if (!schedule.empty() && own_schedule != schedule)
      throw FieldError("scheduler", "the sampler '" + sampler_name + "' has its schedule in its name; leave scheduler out");
    return sampler_name;
  }
  const std::string ours = image::sampler_from_webui(sampler_name, schedule);
  if (ours.empty()) throw FieldError("sampler_name", "unknown sampler '" + sampler_name + "' (GET /sdapi/v1/samplers lists them)");
  // sampler_from_webui keeps the sampler when the schedule is missing; the API says so instead.
  if (!schedule.empty() && image::webui_sampler_name(ours).second != schedule)
    throw FieldError("scheduler", "the sampler '" + sampler_name + "' has no " + scheduler + " schedule here");
  return ours;
}

WebuiRequest parse_webui_request(const QByteArray& body, Endpoint endpoint, const RequestLimits& limits) {
  const QJsonObject object = parse_json_object(body);
  const Fields f(object, "");
  WebuiRequest out;
  api::GenerationRequest& r = out.request;
  r.prompt = f.text("prompt");
  r.negative_prompt = f.text("negative_prompt");
  read_sampling(f, limits, &out);
  read_unsupported(f);
  read_override_settings(f, &out);
  out.send_images = f.flag("send_images", true);
  if (endpoint == Endpoint::txt2img) read_second_pass(f, limits, &out);
  else read_img2img(f, limits, &out);

  // The response echoes the request with what the server made of it, without the
  // pictures (as the web UI leaves out init_images and mask).
  out.parameters = object;
  if (endpoint == Endpoint::img2img) {
    out.parameters.insert("init_images", QJsonValue::Null);
    out.parameters.insert("mask", QJsonValue::Null);
  }
  return out;
}

}  // namespace latent::api_server
