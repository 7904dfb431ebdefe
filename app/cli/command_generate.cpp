// latentstudio-cli generate: text to image, saved as PNG with its parameters.
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>

#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "commands.h"
#include "picture_options.h"
#include "control_options.h"
#include "option_values.h"
#include "output_files.h"
#include "core/image/image_prep.h"
#include "core/image/parameters_text.h"
#include "core/image/png_metadata.h"
#include "core/image/result_metadata.h"
#include "core/image/settings_json.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/request_validation.h"
#include "core/util/error.h"
#include "core/util/threads.h"
#include "progress_bar.h"

using latent::Error;
namespace api = latent::api;
namespace pipeline = latent::pipeline;
namespace image = latent::image;

namespace {

// --prediction v|epsilon as the scheduler config's prediction_type names it.
std::string predictionValue(const QString& value) {
  if (value == "v" || value == "v_prediction") return "v_prediction";
  if (value == "epsilon" || value == "eps") return "epsilon";
  throw Error("--prediction '" + value.toStdString() + "' is not one of v, epsilon");
}

}  // namespace

int runGenerate(const QStringList& arguments) {
  const PictureOptions picture;
  const ControlOptions control;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Draw images from a prompt with a Stable Diffusion model (1.x, 2.x or SDXL, optionally "
      "with an SDXL refiner).");
  parser.addHelpOption();
  parser.addOptions(picture.model.options() + OptionList{{"prompt", "What to draw.", "TEXT"}} +
                    picture.negative.options() + picture.steps.options() +
                    picture.guidance.options() + picture.seed.options() + picture.size.options() +
                    picture.sampler.options() + picture.stepCache.options());
  const api::SdxlConditioning sdxlDefaults;
  const api::RefinerSettings refinerDefaults;
  parser.addOptions({
      {"prompt-2", "SDXL: what the second text encoder reads (default: the prompt).", "TEXT"},
      {"negative-2", "SDXL: the negative prompt the second text encoder reads (default: the "
                     "negative prompt).", "TEXT"},
      {"guidance-rescale", "Pull the guided prediction's spread back towards the prompt's by this "
                           "fraction, 0 to 1 (diffusers' guidance_rescale; default 0: off).", "R", "0"},
      {"original-size", "SDXL: the original size the model is told the picture had (default: the "
                        "picture's size).", "W,H"},
      {"target-size", "SDXL: the size the model is told to aim at (default: the picture's size).", "W,H"},
      {"crop-top-left", "SDXL: the crop the model is told of, X pixels cut from the left and Y from "
                        "the top (default 0,0).", "X,Y"},
      {"aesthetic-score", "SDXL refiner: the aesthetic score the prompt is conditioned on (default " +
                              QString::number(sdxlDefaults.aesthetic_score) + ").",
       "A", QString::number(sdxlDefaults.aesthetic_score)},
      {"negative-aesthetic-score", "SDXL refiner: the aesthetic score the negative prompt is "
                                   "conditioned on (default " +
                                       QString::number(sdxlDefaults.negative_aesthetic_score) + ").",
       "A", QString::number(sdxlDefaults.negative_aesthetic_score)},
      {"refiner", "SDXL refiner (diffusers folder or .safetensors) that takes the last steps from "
                  "an SDXL base.", "PATH"},
      {"refiner-switch", "Fraction of the steps the base takes before the refiner, above 0 and below "
                         "1 (default " + QString::number(refinerDefaults.switch_at) + ").",
       "F", QString::number(refinerDefaults.switch_at)},
  });
  parser.addOptions({
      {"eta", "DDIM eta (default 0).", "ETA", "0"},
      {"batch", "Images drawn together from one seed (default 1).", "N", "1"},
      {"timestep-spacing", "How the steps are spread over the noise schedule: leading, linspace or "
                           "trailing (diffusers' timestep_spacing; default: the model's scheduler "
                           "config, else each sampler's own).", "NAME"},
      {"zero-snr", "Zero terminal SNR: rescale the noise schedule so that its last step is pure "
                   "noise (diffusers' rescale_betas_zero_snr), for v-prediction models trained that "
                   "way; usually with --timestep-spacing trailing and --guidance-rescale 0.7."},
      {"prediction", "What the model predicts, v or epsilon, where its files cannot tell: a Stable "
                     "Diffusion 2.x single file without --config-dir is read as v with the 768 "
                     "configs; epsilon picks the 512 base configs (default: the model's own).",
       "v|epsilon"},
  });
  const api::SamplingSettings samplingDefaults;
  parser.addOptions({
      {"lcm-original-steps", "LCM and TCD: the length of the schedule the model was distilled on "
                             "(diffusers' original_inference_steps; default: the model's scheduler "
                             "config, else 50).", "N"},
      {"tcd-gamma", "TCD: the fresh noise each step takes, 0 (deterministic) to 1 (default " +
                        QString::number(samplingDefaults.tcd_gamma) + ").",
       "G", QString::number(samplingDefaults.tcd_gamma)},
      {"vae", "Decode the picture (and encode --init-image) with this autoencoder instead of the "
              "model's own: a full VAE or a tiny one (TAESD), as a diffusers folder or a "
              ".safetensors file.", "PATH"},
      {"preview-vae", "Decode a preview after every step with this tiny autoencoder (TAESD, a "
                      "diffusers folder or .safetensors file); --preview-dir writes them all.", "PATH"},
  });
  parser.addOptions(picture.promptText.options());
  parser.addOptions(picture.dtype.options() + picture.weights.options() + picture.device.options() +
                    picture.threads.options() + picture.embeddings.options() +
                    picture.lora.options() + picture.hires.options() + control.options());
  parser.addOption({"low-memory", "Release the text encoders after encoding and decode the VAE in bands: "
                                  "the same picture in less memory, a little slower (chosen by itself "
                                  "when the memory available would not hold the normal way)."});
  parser.addOptions({
      {"lora-partial", "Apply LoRAs that only partly fit the model (the part that fits), with a warning."},
      {"out", "Output PNG; a batch writes NAME-1.png, NAME-2.png, ... (default image.png).", "FILE", "image.png"},
      {"overwrite", "Replace existing output files."},
      {"preview-dir", "Write intermediate VAE previews into this folder.", "DIR"},
      {"preview-every", "Steps between previews written to --preview-dir (default 5).", "K", "5"},
  });
  parser.addOptions(picture.initImage.options() + picture.clipSkip.options());
  parser.addOptions({
      {"preset", "Settings of a known run; 'article': an astronaut riding a horse, 512x512, 100 LMS "
                 "steps, guidance 7.5, seed 32; 'fast': the few-step sampler, steps and guidance the "
                 "model (or its LCM-LoRA) needs, e.g. LCM, 4 steps, guidance 1.", "NAME"},
  });
  parser.process(arguments);
  if (!parser.positionalArguments().isEmpty())
    throw Error("unexpected argument '" + parser.positionalArguments().first().toStdString() + "'");

  api::GenerationRequest request;
  api::SamplingSettings& sampling = request.sampling;
  const QString presetName = parser.value("preset");
  if (parser.isSet("preset") && presetName != "article" && presetName != "fast")
    throw Error("unknown preset '" + presetName.toStdString() + "': the presets are 'article' and 'fast'");
  // 'fast' is decided once the model is loaded (Engine::fast_preset).
  const bool fastPreset = parser.isSet("preset") && presetName == "fast";
  if (parser.isSet("preset") && !fastPreset) {
    request.prompt = "an astronaut riding a horse";
    request.size.width = request.size.height = 512;
    sampling.steps = 100;
    sampling.guidance_scale = 7.5;
    sampling.seed = 32;
    sampling.sampler = "lms";
  }
  // Explicit options override the preset.
  const bool preset = parser.isSet("preset") && !fastPreset;
  if (parser.isSet("prompt")) request.prompt = parser.value("prompt").toStdString();
  else if (!preset) throw Error("--prompt is required");
  request.negative_prompt = picture.negative.read(parser).value_or("");
  if (!preset || parser.isSet("steps")) sampling.steps = picture.steps.read(parser);
  // What is neither given nor set by the preset is the model's, once it is loaded; 0 until then.
  const bool modelGuidance = !preset && !parser.isSet("guidance");
  if (parser.isSet("guidance")) sampling.guidance_scale = *picture.guidance.read(parser);
  const SizeOptions::Size givenSize = picture.size.read(parser);
  if (!preset || parser.isSet("width")) request.size.width = givenSize.width;
  if (!preset || parser.isSet("height")) request.size.height = givenSize.height;
  if (!preset || parser.isSet("sampler")) sampling.sampler = picture.sampler.read(parser);
  sampling.step_cache = picture.stepCache.read(parser);
  // Without --model the bundled starter model draws (at its own size, the model default).
  const ModelChoice modelChoice = picture.model.read(parser);
  api::LoadOptions load = modelChoice.loadOptions();
  load.dtype = picture.dtype.read(parser);
  load.weights = picture.weights.read(parser);
  request.low_memory = parser.isSet("low-memory");
  load.device = picture.device.read(parser);
  if (parser.isSet("prediction")) load.prediction = predictionValue(parser.value("prediction"));
  const bool useStarter = modelChoice.starter;
  if (!preset || parser.isSet("seed")) sampling.seed = picture.seed.read(parser);
  if (parser.isSet("prompt-2")) request.prompt_2 = parser.value("prompt-2").toStdString();
  if (parser.isSet("negative-2")) request.negative_prompt_2 = parser.value("negative-2").toStdString();
  sampling.guidance_rescale = doubleValue(parser, "guidance-rescale");
  api::SdxlConditioning& sdxl = request.sdxl;
  if (parser.isSet("original-size"))
    std::tie(sdxl.original_width, sdxl.original_height) = intPairValue(parser, "original-size", "W,H");
  if (parser.isSet("target-size"))
    std::tie(sdxl.target_width, sdxl.target_height) = intPairValue(parser, "target-size", "W,H");
  if (parser.isSet("crop-top-left"))
    std::tie(sdxl.crop_left, sdxl.crop_top) = intPairValue(parser, "crop-top-left", "X,Y");
  sdxl.aesthetic_score = doubleValue(parser, "aesthetic-score");
  sdxl.negative_aesthetic_score = doubleValue(parser, "negative-aesthetic-score");
  if (parser.isSet("refiner")) {
    request.refiner.path = parser.value("refiner").toStdString();
    if (!QFileInfo::exists(parser.value("refiner")))
      throw Error("--refiner: the refiner model '" + request.refiner.path + "' does not exist");
  } else if (parser.isSet("refiner-switch")) {
    throw Error("--refiner-switch needs --refiner");
  }
  request.refiner.switch_at = doubleValue(parser, "refiner-switch");
  sampling.eta = doubleValue(parser, "eta");
  sampling.clip_skip = picture.clipSkip.read(parser);
  sampling.timestep_spacing = parser.value("timestep-spacing").toStdString();
  sampling.zero_snr = parser.isSet("zero-snr");
  if (parser.isSet("lcm-original-steps")) {
    sampling.lcm_original_steps = intValue(parser, "lcm-original-steps");
    if (sampling.lcm_original_steps < 1) throw Error("--lcm-original-steps must be at least 1");
  }
  sampling.tcd_gamma = doubleValue(parser, "tcd-gamma");
  for (const char* option : {"vae", "preview-vae"})
    if (parser.isSet(option) && !QFileInfo::exists(parser.value(option)))
      throw Error(std::string("--") + option + ": the autoencoder '" + parser.value(option).toStdString() +
                  "' does not exist");
  request.vae = parser.value("vae").toStdString();
  request.preview.tiny_vae = parser.value("preview-vae").toStdString();
  request.size.batch_size = intValue(parser, "batch");
  request.preview.approximate = false;
  request.preview.vae_every = 0;
  const bool writePreviews = parser.isSet("preview-dir");
  if (writePreviews) {
    request.preview.vae_every = intValue(parser, "preview-every");
    if (request.preview.vae_every < 1) throw Error("--preview-every must be at least 1");
    if (!QDir(parser.value("preview-dir")).exists())
      throw Error("the preview folder '" + parser.value("preview-dir").toStdString() + "' does not exist");
  }
  request.loras.adapters = picture.lora.read(parser);
  request.loras.allow_partial = parser.isSet("lora-partial");
  request.embeddings_dir = picture.embeddings.read(parser);
  picture.promptText.read(parser, request);
  picture.hires.read(parser, request.second_pass);
  picture.initImage.read(parser, request);
  control.read(parser, request);
  if (!request.control_units.empty() && !parser.isSet("init-image") && !parser.isSet("width") &&
      !parser.isSet("height")) {
    // diffusers' ControlNet pipeline: the control picture's size, rounded down to 8.
    const std::string& first = request.control_units.front().image_path;
    cv::Size size = image::probe_image_size(first);
    if (size.width <= 0 || size.height <= 0) size = image::load_image_rgb(first).size();
    size = image::working_size_for(size);
    request.size.width = size.width;
    request.size.height = size.height;
  }
  {
    // Everything but what the model decides is checked before it loads.
    api::GenerationRequest check = request;
    const api::GenerationRequest defaults;
    if (check.size.width == 0) check.size.width = defaults.size.width;
    if (check.size.height == 0) check.size.height = defaults.size.height;
    pipeline::validate_request(check);
  }
  latent::util::set_thread_count(picture.threads.read(parser));

  // FILE.png for one image; FILE-1.png, FILE-2.png, ... for a batch.
  const auto paths = numberedOutputPaths(parser.value("out"), request.size.batch_size);
  checkOutputPaths(paths, parser.isSet("overwrite"));

  pipeline::Engine engine;
  std::fprintf(stderr, "loading %s%s ...\n", useStarter ? "the starter model, " : "", load.model_path.c_str());
  engine.load(load);
  const pipeline::ModelDefaults modelDefaults = engine.model_defaults();
  if (request.size.width == 0) request.size.width = modelDefaults.width;
  if (request.size.height == 0) request.size.height = modelDefaults.height;
  if (modelGuidance) sampling.guidance_scale = modelDefaults.guidance_scale;
  if (fastPreset) {
    const pipeline::FastPreset fast = engine.fast_preset();
    if (!parser.isSet("sampler")) sampling.sampler = fast.sampler;
    if (!parser.isSet("steps")) sampling.steps = fast.steps;
    if (!parser.isSet("guidance")) sampling.guidance_scale = fast.guidance_scale;
    std::fprintf(stderr, "fast preset: %s\n", fast.reason.c_str());
  } else if (!preset && !parser.isSet("sampler") && !engine.own_sampler().empty()) {
    // A model whose scheduler config is LCM's (or TCD's) samples with it unless told otherwise.
    sampling.sampler = engine.own_sampler();
  }
  if (!engine.is_sdxl())
    for (const char* option : {"prompt-2", "negative-2", "original-size", "target-size", "crop-top-left",
                               "aesthetic-score", "negative-aesthetic-score"})
      if (parser.isSet(option))
        throw Error(std::string("--") + option + " is for SDXL models; '" + engine.model_name() + "' is " +
                    engine.model_family());
  pipeline::validate_request(request);
  std::fprintf(stderr, "seed %llu, %d steps of %s, %dx%d, guidance %g\n",
               static_cast<unsigned long long>(sampling.seed), sampling.steps, sampling.sampler.c_str(),
               request.size.width, request.size.height, sampling.guidance_scale);

  const QString previewDir = parser.value("preview-dir");
  auto onStep = [&](const api::StepProgress& progress) {
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
  for (const auto& applied : result.loras)  // partial-fit warnings come with result.warnings
    std::fprintf(stderr, "LoRA %s (%s) x %g\n", applied.name.c_str(), applied.hash.c_str(), applied.multiplier);
  for (const auto& warning : result.warnings) std::fprintf(stderr, "warning: %s\n", warning.c_str());

  for (std::size_t i = 0; i < result.images.size(); ++i) {
    image::write_file_atomically(paths[i].toStdString(),
                                 image::encode_png(result.images[i], image::result_metadata(result, i, load)));
    std::printf("%s\n", qPrintable(paths[i]));
  }
  std::fprintf(stderr, "done in %.1f s (%s weights, %s)\n", result.seconds_total, result.weights.c_str(),
               result.memory_mode.c_str());
  return 0;
}
