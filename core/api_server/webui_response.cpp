#include "core/api_server/webui_response.h"

#include <QJsonDocument>
#include <QHash>
#include <QStringList>

#include "core/image/parameters_text.h"
#include "core/image/png_metadata.h"
#include "core/image/settings_json.h"

namespace latent::api_server {
namespace {

QString qs(const std::string& text) { return QString::fromStdString(text); }

QByteArray to_base64(const std::vector<unsigned char>& bytes) {
  return QByteArray(reinterpret_cast<const char*>(bytes.data()), static_cast<qsizetype>(bytes.size())).toBase64();
}

// The web UI's "info": what processing.js() returns, for the images listed.
QJsonObject info_object(const GenerationAnswer& answer, const QJsonArray& infotexts, const QJsonArray& seeds) {
  const api::GenerationRequest& r = answer.runs.front().request;
  const api::GenerationResult& first = answer.runs.front();
  QJsonArray prompts, negatives, subseeds;
  for (qsizetype i = 0; i < seeds.size(); ++i) {
    prompts.append(qs(r.prompt));
    negatives.append(qs(r.negative_prompt));
    subseeds.append(seeds.at(i));  // no variation seed: the web UI reports the seed itself
  }
  const auto [sampler, schedule] = image::webui_sampler_name(r.sampling.sampler);
  QJsonObject extra;
  if (!schedule.empty()) extra["Schedule type"] = qs(schedule);
  for (const auto& [key, value] : image::parameters_extras(first).more) extra[qs(key)] = qs(value);
  QJsonObject o;
  o["prompt"] = qs(r.prompt);
  o["all_prompts"] = prompts;
  o["negative_prompt"] = qs(r.negative_prompt);
  o["all_negative_prompts"] = negatives;
  o["seed"] = seeds.isEmpty() ? static_cast<double>(r.sampling.seed) : seeds.at(0);
  o["all_seeds"] = seeds;
  o["subseed"] = o["seed"];
  o["all_subseeds"] = subseeds;
  o["subseed_strength"] = 0;
  o["width"] = r.size.width;
  o["height"] = r.size.height;
  o["sampler_name"] = qs(sampler);
  o["scheduler"] = schedule.empty() ? QString("Automatic") : qs(schedule);
  o["cfg_scale"] = r.sampling.guidance_scale;
  o["steps"] = r.sampling.steps;
  o["batch_size"] = r.size.batch_size;
  o["n_iter"] = static_cast<int>(answer.runs.size());
  o["restore_faces"] = false;
  o["face_restoration_model"] = QJsonValue::Null;
  o["sd_model_name"] = qs(first.model_name);
  o["sd_model_hash"] = qs(first.model_hash);
  o["sd_vae_name"] = first.vae_name.empty() ? QJsonValue() : QJsonValue(qs(first.vae_name));
  o["sd_vae_hash"] = first.vae_hash.empty() ? QJsonValue() : QJsonValue(qs(first.vae_hash));
  o["seed_resize_from_w"] = -1;
  o["seed_resize_from_h"] = -1;
  o["denoising_strength"] = api::has_init_image(r) ? QJsonValue(r.init.strength) : QJsonValue();
  o["extra_generation_params"] = extra;
  o["index_of_first_image"] = 0;
  o["infotexts"] = infotexts;
  o["styles"] = QJsonArray();
  o["job_timestamp"] = qs(answer.job_timestamp);
  o["clip_skip"] = r.sampling.clip_skip;
  o["is_using_inpainting_conditioning"] = false;
  o["version"] = QString("Latent Studio ") + LATENT_VERSION;
  // Ours: an interrupted job answers with the runs that finished before it.
  o["interrupted"] = answer.interrupted;
  QJsonArray warnings;
  for (const auto& run : answer.runs)
    for (const std::string& w : run.warnings) warnings.append(qs(w));
  o["warnings"] = warnings;
  return o;
}

}  // namespace

QJsonObject generation_response(const GenerationAnswer& answer) {
  QJsonArray images, infotexts, seeds;
  for (const api::GenerationResult& run : answer.runs) {
    for (std::size_t i = 0; i < run.images.size(); ++i) {
      const image::ImageSettings settings = image::image_settings(run, i, answer.model);
      const std::string text = image::format_parameters(run.request, settings.seed, image::parameters_extras(run));
      infotexts.append(qs(text));
      seeds.append(static_cast<double>(settings.seed));
      if (!answer.send_images) continue;
      const image::TextChunks chunks = {{image::kParametersChunk, text},
                                        {image::kSettingsChunk, image::settings_to_json(settings)}};
      images.append(QString::fromLatin1(to_base64(image::encode_png(run.images[i], chunks))));
    }
  }
  QJsonObject o;
  o["images"] = images;
  o["parameters"] = answer.parameters;
  const QJsonObject info = answer.runs.empty() ? QJsonObject{{"interrupted", answer.interrupted},
                                                             {"job_timestamp", qs(answer.job_timestamp)},
                                                             {"all_seeds", QJsonArray()},
                                                             {"infotexts", QJsonArray()}}
                                               : info_object(answer, infotexts, seeds);
  o["info"] = QString::fromUtf8(QJsonDocument(info).toJson(QJsonDocument::Compact));
  return o;
}

QByteArray preview_base64(const api::Image& image) { return to_base64(image::encode_png(image, {})); }

QJsonObject png_info_response(const std::vector<unsigned char>& png) {
  QJsonObject items;
  std::string parameters;
  for (const auto& [keyword, text] : image::read_png_text(png)) {
    if (keyword == image::kParametersChunk) parameters = text;
    else items[qs(keyword)] = qs(text);
  }
  QJsonObject fields;
  if (!parameters.empty()) {
    const image::ParsedParameters parsed = image::parse_parameters(parameters);
    fields["Prompt"] = qs(parsed.prompt);
    fields["Negative prompt"] = qs(parsed.negative_prompt);
    for (const auto& [key, value] : parsed.fields) {
      fields[qs(key)] = qs(value);
      if (key == "Size") {  // "512x768" also as Size-1 and Size-2, as the web UI splits it
        const QStringList sides = qs(value).split('x');
        if (sides.size() == 2) {
          fields["Size-1"] = sides[0];
          fields["Size-2"] = sides[1];
        }
      }
    }
  }
  return {{"info", qs(parameters)}, {"items", items}, {"parameters", fields}};
}

QJsonArray samplers_response(const std::vector<std::string>& engine_samplers) {
  QJsonArray list;
  QList<QString> order;
  QHash<QString, QJsonArray> aliases;
  for (const std::string& name : engine_samplers) {
    const QString key = qs(image::webui_sampler_name(name).first);
    if (!aliases.contains(key)) order.append(key);
    aliases[key].append(qs(name));
  }
  for (const QString& name : order) list.append(QJsonObject{{"name", name}, {"aliases", aliases[name]}, {"options", QJsonObject()}});
  return list;
}

QJsonArray schedulers_response() {
  const auto item = [](const char* name, const char* label) {
    return QJsonObject{{"name", name}, {"label", label}, {"aliases", QJsonValue::Null},
                       {"default_rho", -1}, {"need_inner_model", false}};
  };
  return {item("automatic", "Automatic"), item("karras", "Karras")};
}

QByteArray error_body(const std::string& kind, const std::string& detail, const std::string& field) {
  QJsonObject o{{"error", qs(kind)}, {"detail", qs(detail)}, {"body", ""}, {"errors", ""}};
  if (!field.empty()) o["field"] = qs(field);
  return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

}  // namespace latent::api_server
