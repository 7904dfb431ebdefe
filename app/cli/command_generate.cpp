// latentstudio-cli generate: text to image, saved as PNG with its parameters.
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QRandomGenerator>

#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "option_values.h"
#include "core/image/image_prep.h"
#include "core/image/parameters_text.h"
#include "core/image/png_metadata.h"
#include "core/image/settings_json.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/image_request_validation.h"
#include "core/pipeline/request_validation.h"
#include "core/util/error.h"
#include "core/util/starter_model.h"
#include "core/util/threads.h"
#include "progress_bar.h"

using latent::Error;
namespace pipeline = latent::pipeline;
namespace image = latent::image;

namespace {

// FILE.png for one image; FILE-1.png, FILE-2.png, ... for a batch.
std::vector<QString> outputPaths(const QString& out, int count) {
  if (count == 1) return {out};
  const QFileInfo info(out);
  const QString suffix = info.suffix().isEmpty() ? QString("png") : info.suffix();
  std::vector<QString> paths;
  for (int i = 1; i <= count; ++i)
    paths.push_back(info.dir().filePath(info.completeBaseName() + "-" + QString::number(i) + "." + suffix));
  return paths;
}

void checkOutputs(const std::vector<QString>& paths, bool overwrite) {
  for (const QString& path : paths) {
    const QFileInfo info(path);
    if (!info.dir().exists())
      throw Error("the output folder '" + info.dir().path().toStdString() + "' does not exist");
    if (info.exists() && !overwrite)
      throw Error("'" + path.toStdString() + "' exists already; choose another name or pass --overwrite");
    if (info.suffix().compare("png", Qt::CaseInsensitive) != 0)
      throw Error("'" + path.toStdString() + "': images are written as PNG, so the name must end in .png");
  }
}

// FILE or FILE:MULTIPLIER; a colon followed by something that is not a number is part of the name.
pipeline::LoraSpec loraSpec(const QString& value) {
  pipeline::LoraSpec spec;
  spec.path = value.toStdString();
  const qsizetype colon = value.lastIndexOf(':');
  if (colon > 0) {
    bool ok = false;
    const double multiplier = value.mid(colon + 1).toDouble(&ok);
    if (ok) {
      spec.path = value.left(colon).toStdString();
      spec.multiplier = multiplier;
    }
  }
  if (!QFileInfo(QString::fromStdString(spec.path)).isFile())
    throw Error("--lora: the LoRA file '" + spec.path + "' does not exist");
  return spec;
}

}  // namespace

int runGenerate(const QStringList& arguments) {
  QCommandLineParser parser;
  parser.setApplicationDescription("Draw images from a prompt with a Stable Diffusion 1.x model.");
  parser.addHelpOption();
  parser.addOptions({
      {"model", "Diffusers folder or single-file .safetensors checkpoint (default: the bundled starter model, 64x64).", "PATH"},
      {"config-dir", "Configs for a single-file checkpoint (default: bundled SD 1.5).", "DIR"},
      {"prompt", "What to draw.", "TEXT"},
      {"negative", "What to steer away from (default: empty).", "TEXT", ""},
      {"steps", "Denoising steps (default 25).", "N", "25"},
      {"guidance", "Classifier-free guidance scale (default 7.5; 1 or less turns it off).", "G", "7.5"},
      {"seed", "Seed of the noise (default: random, printed).", "S"},
      {"width", "Width in pixels, a multiple of 8 (default 512).", "W", "512"},
      {"height", "Height in pixels, a multiple of 8 (default 512).", "H", "512"},
      {QStringList{"scheduler", "sampler"}, "Sampler name (default euler_a).", "NAME", "euler_a"},
      {"eta", "DDIM eta (default 0).", "ETA", "0"},
      {"clip-skip", "Use the text encoder's output this many layers early (default 0).", "N", "0"},
      {"batch", "Images drawn together from one seed (default 1).", "N", "1"},
      {"dtype", "Compute precision: fp32, bf16 or fp16 (default fp32).", "TYPE", "fp32"},
      {"device", "cpu or cuda (default cpu).", "DEVICE", "cpu"},
      {"threads", "CPU threads (default: all cores).", "N"},
      {"out", "Output PNG; a batch writes NAME-1.png, NAME-2.png, ... (default image.png).", "FILE", "image.png"},
      {"overwrite", "Replace existing output files."},
      {"preview-dir", "Write intermediate VAE previews into this folder.", "DIR"},
      {"preview-every", "Steps between previews written to --preview-dir (default 5).", "K", "5"},
      {"lora", "Apply a LoRA file, scaled by MULTIPLIER (default 1, negative allowed); repeat for several.",
       "FILE[:MULTIPLIER]"},
      {"lora-partial", "Apply LoRAs that only partly fit the model (the part that fits), with a warning."},
      {"embeddings", "Folder of textual-inversion embeddings (.safetensors) the prompts may name.", "DIR"},
      {"init-image", "Start from this picture (image to image); without --width/--height the "
                     "picture's size rounded down to a multiple of 8 is used.", "FILE"},
      {"strength", "How much of the picture is repainted, 0 to 1 (default 0.75).", "S", "0.75"},
      {"mask", "Inpaint: repaint where this mask is white (needs --init-image).", "FILE"},
      {"mask-blur", "Feather the mask's edge by this many pixels (default 4).", "PX", "4"},
      {"resize-mode", "Fit the picture to the size: resize, crop or pad (default resize).", "MODE", "resize"},
      {"inpaint-full-res", "Repaint only the masked area, at --width x --height, and paste it back."},
      {"inpaint-padding", "Context kept around the masked area with --inpaint-full-res (default 32).", "PX", "32"},
      {"outpaint", "Grow the canvas by LEFT,TOP,RIGHT,BOTTOM pixels and paint the new area.", "L,T,R,B"},
      {"preset", "Settings of a known run; 'article': an astronaut riding a horse, 512x512, 100 LMS steps, guidance 7.5, seed 32.", "NAME"},
  });
  parser.process(arguments);
  if (!parser.positionalArguments().isEmpty())
    throw Error("unexpected argument '" + parser.positionalArguments().first().toStdString() + "'");

  pipeline::GenerationRequest request;
  if (parser.isSet("preset")) {
    if (parser.value("preset") != "article")
      throw Error("unknown preset '" + parser.value("preset").toStdString() + "': the only preset is 'article'");
    request.prompt = "an astronaut riding a horse";
    request.width = request.height = 512;
    request.steps = 100;
    request.guidance_scale = 7.5;
    request.seed = 32;
    request.sampler = "lms";
  }
  // Explicit options override the preset.
  const bool preset = parser.isSet("preset");
  if (parser.isSet("prompt")) request.prompt = parser.value("prompt").toStdString();
  else if (!preset) throw Error("--prompt is required");
  request.negative_prompt = parser.value("negative").toStdString();
  if (!preset || parser.isSet("steps")) request.steps = intValue(parser, "steps");
  if (!preset || parser.isSet("guidance")) request.guidance_scale = doubleValue(parser, "guidance");
  if (!preset || parser.isSet("width")) request.width = intValue(parser, "width");
  if (!preset || parser.isSet("height")) request.height = intValue(parser, "height");
  if (!preset || parser.isSet("scheduler")) request.sampler = parser.value("scheduler").toStdString();
  // Without --model the bundled starter model draws, at the size it was trained at.
  const bool useStarter = !parser.isSet("model");
  if (useStarter && !parser.isSet("width")) request.width = latent::util::kStarterModelSide;
  if (useStarter && !parser.isSet("height")) request.height = latent::util::kStarterModelSide;
  if (parser.isSet("seed")) {
    bool ok = false;
    request.seed = parser.value("seed").toULongLong(&ok);
    if (!ok) throw Error("--seed needs a whole number from 0 to 18446744073709551615, not '" +
                         parser.value("seed").toStdString() + "'");
  } else if (!preset) {
    request.seed = QRandomGenerator::global()->generate64() >> 1;
  }
  request.eta = doubleValue(parser, "eta");
  request.clip_skip = intValue(parser, "clip-skip");
  request.batch_size = intValue(parser, "batch");
  request.approximate_preview = false;
  request.vae_preview_every = 0;
  const bool writePreviews = parser.isSet("preview-dir");
  if (writePreviews) {
    request.vae_preview_every = intValue(parser, "preview-every");
    if (request.vae_preview_every < 1) throw Error("--preview-every must be at least 1");
    if (!QDir(parser.value("preview-dir")).exists())
      throw Error("the preview folder '" + parser.value("preview-dir").toStdString() + "' does not exist");
  }
  for (const QString& lora : parser.values("lora")) request.loras.push_back(loraSpec(lora));
  request.lora_partial = parser.isSet("lora-partial");
  if (parser.isSet("embeddings")) {
    request.embeddings_dir = parser.value("embeddings").toStdString();
    if (!QDir(parser.value("embeddings")).exists())
      throw Error("the embeddings folder '" + request.embeddings_dir + "' does not exist");
  }
  if (parser.isSet("init-image")) {
    request.init_image = parser.value("init-image").toStdString();
    request.strength = doubleValue(parser, "strength");
    request.resize_mode = parser.value("resize-mode").toStdString();
    request.mask_image = parser.value("mask").toStdString();
    request.mask_blur = intValue(parser, "mask-blur");
    request.inpaint_full_res = parser.isSet("inpaint-full-res");
    request.inpaint_full_res_padding = intValue(parser, "inpaint-padding");
    if (parser.isSet("outpaint")) {
      const QStringList sides = parser.value("outpaint").split(',');
      bool ok = sides.size() == 4;
      int values[4] = {0, 0, 0, 0};
      for (int k = 0; ok && k < 4; ++k) values[k] = sides[k].trimmed().toInt(&ok);
      if (!ok)
        throw Error("--outpaint needs four whole numbers LEFT,TOP,RIGHT,BOTTOM, not '" +
                    parser.value("outpaint").toStdString() + "'");
      request.outpaint_left = values[0];
      request.outpaint_top = values[1];
      request.outpaint_right = values[2];
      request.outpaint_bottom = values[3];
    }
    pipeline::validate_image_request(request);
    if (!parser.isSet("width") && !parser.isSet("height") && !request.inpaint_full_res) {
      cv::Size size = image::probe_image_size(request.init_image);
      if (size.width <= 0 || size.height <= 0) size = image::load_image_rgb(request.init_image).size();
      size.width += request.outpaint_left + request.outpaint_right;
      size.height += request.outpaint_top + request.outpaint_bottom;
      size = image::working_size_for(size);
      request.width = size.width;
      request.height = size.height;
    }
  } else {
    for (const char* option : {"strength", "mask", "mask-blur", "resize-mode", "inpaint-full-res", "inpaint-padding", "outpaint"})
      if (parser.isSet(option)) throw Error(std::string("--") + option + " needs --init-image");
  }
  pipeline::validate_request(request);
  if (parser.isSet("threads")) latent::util::set_thread_count(intValue(parser, "threads"));
  else latent::util::set_thread_count(0);

  const auto paths = outputPaths(parser.value("out"), request.batch_size);
  checkOutputs(paths, parser.isSet("overwrite"));
  if (useStarter && !latent::util::starter_model_available())
    throw Error("--model is required: a diffusers folder or a .safetensors checkpoint (the bundled starter model is missing)");

  pipeline::LoadOptions load;
  load.model_path = useStarter ? latent::util::starter_model_dir() : parser.value("model").toStdString();
  load.config_dir = parser.value("config-dir").toStdString();
  load.dtype = parser.value("dtype").toStdString();
  load.device = parser.value("device").toStdString();

  pipeline::Engine engine;
  std::fprintf(stderr, "loading %s%s ...\n", useStarter ? "the starter model, " : "", load.model_path.c_str());
  engine.load(load);
  std::fprintf(stderr, "seed %llu, %d steps of %s, %dx%d\n", static_cast<unsigned long long>(request.seed),
               request.steps, request.sampler.c_str(), request.width, request.height);

  const QString previewDir = parser.value("preview-dir");
  auto onStep = [&](const pipeline::StepProgress& progress) {
    printProgress(progress);
    if (!writePreviews || !progress.previews_are_vae_decodes) return;
    for (std::size_t i = 0; i < progress.previews.size(); ++i) {
      const QString name = QString("step-%1%2.png").arg(progress.step, 3, 10, QChar('0'))
                               .arg(progress.previews.size() > 1 ? "-" + QString::number(i + 1) : QString());
      image::write_file_atomically(QDir(previewDir).filePath(name).toStdString(),
                                   image::encode_png(progress.previews[i], {}));
    }
  };
  const auto result = engine.generate(request, onStep);
  finishProgress();
  for (const auto& lora : result.loras)  // partial-fit warnings come with result.warnings
    std::fprintf(stderr, "LoRA %s (%s) x %g\n", lora.name.c_str(), lora.hash.c_str(), lora.multiplier);
  for (const auto& warning : result.warnings) std::fprintf(stderr, "warning: %s\n", warning.c_str());

  for (std::size_t i = 0; i < result.images.size(); ++i) {
    image::ParametersExtras extras{result.model_name, result.model_hash, {}};
    if (!result.loras.empty()) extras.more.push_back({"Lora hashes", image::lora_hashes_text(result.loras)});
    image::ImageSettings settings{result.request, result.seeds[i], result.model_name, result.model_hash,
                                  load.model_path, load.dtype, load.device, result.loras};
    const image::TextChunks texts = {
        {image::kParametersChunk, image::format_parameters(result.request, result.seeds[i], extras)},
        {image::kSettingsChunk, image::settings_to_json(settings)}};
    image::write_file_atomically(paths[i].toStdString(), image::encode_png(result.images[i], texts));
    std::printf("%s\n", qPrintable(paths[i]));
  }
  std::fprintf(stderr, "done in %.1f s\n", result.seconds_total);
  return 0;
}
