// latentstudio-cli bench: how fast this machine runs a model, and how close to its peak.
#include <QCommandLineParser>
#include <QFile>
#include <QJsonDocument>
#include <QSaveFile>

#include <cstdio>

#include "commands.h"
#include "common_options.h"
#include "option_values.h"
#include "core/pipeline/benchmark.h"
#include "core/util/error.h"

using latent::Error;
namespace pipeline = latent::pipeline;

int runBench(const QStringList& arguments) {
  const ModelOptions model{WithoutModel::required};
  const ComputeDtypeOption dtype{"auto"};
  const WeightsOption weights;
  const DeviceOption device;
  const SizeOptions size;
  const StepsOption steps{4};
  const SamplerOption sampler{"euler"};
  const StepCacheOption stepCache;
  const ThreadsOption threads;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Measure model load, text encoding, one guided UNet step, VAE decode and a whole "
      "generation (medians after a warm-up run), peak memory, and this machine's peak rate "
      "for the precision. Use a full-size model from make-random-model.");
  parser.addHelpOption();
  parser.addOptions(model.options() + dtype.options() + weights.options() + device.options() + threads.options() +
                    size.options() + steps.options() + sampler.options() + stepCache.options());
  parser.addOptions({
      {"repeats", "Timed runs of each piece after the warm-up (default 3).", "N", "3"},
      {"load-repeats", "Timed loads after the warm-up load (default 2).", "N", "2"},
      {"generation-repeats", "Timed whole generations (default 1).", "N", "1"},
      {"no-peak", "Skip measuring the machine's peak rate."},
      {"preview-share", "Also run a generation through the engine with the automatic VAE "
                        "preview cadence and report the previews' share of its time."},
      {"preview-steps", "Steps of that generation (default 25).", "N", "25"},
      {"guidance", "Guidance scale of the full generation; 1 or less runs without the "
                   "unconditional half (default 7.5).", "G", "7.5"},
      {"vae", "Decode the full generation with this autoencoder (a TAESD, or another VAE) and "
              "time its decode alone.", "PATH"},
      {"control", "Also time the guided UNet step with this ControlNet (diffusers folder or "
                  ".safetensors) guiding it, and its ratio to the step without.", "PATH"},
      {"kernels", "Also report which oneDNN kernels one guided UNet step and one VAE decode run: calls, "
                  "time and GFLOP/s per primitive kind and implementation (oneDNN's verbose mode)."},
      {"json", "Also write the figures to FILE as JSON.", "FILE"},
  });
  parser.process(arguments);
  if (!parser.positionalArguments().isEmpty())
    throw Error("unexpected argument '" + parser.positionalArguments().first().toStdString() + "'");

  pipeline::BenchmarkOptions options;
  options.load = model.read(parser).loadOptions();
  options.load.dtype = dtype.read(parser);
  options.load.weights = weights.read(parser);
  options.load.device = device.read(parser);
  const auto pictureSize = size.read(parser);
  options.width = pictureSize.width;
  options.height = pictureSize.height;
  options.steps = steps.read(parser);
  options.sampler = sampler.read(parser);
  options.step_cache = stepCache.read(parser);
  options.kernels = parser.isSet("kernels");
  options.guidance_scale = doubleValue(parser, "guidance");
  options.vae = parser.value("vae").toStdString();
  options.control = parser.value("control").toStdString();
  options.repeats = intValue(parser, "repeats");
  options.load_repeats = intValue(parser, "load-repeats");
  options.generation_repeats = intValue(parser, "generation-repeats");
  options.threads = threads.read(parser);
  options.measure_peak = !parser.isSet("no-peak");
  options.preview_share = parser.isSet("preview-share");
  options.preview_steps = intValue(parser, "preview-steps");

  // Check the output file is writable before minutes of measuring.
  const QString jsonPath = parser.value("json");
  if (!jsonPath.isEmpty()) {
    QSaveFile probe(jsonPath);
    if (!probe.open(QIODevice::WriteOnly))
      throw Error("cannot write '" + jsonPath.toStdString() + "': " + probe.errorString().toStdString());
    probe.cancelWriting();
  }

  const auto result = pipeline::run_benchmark(options, [](const std::string& what) {
    std::fprintf(stderr, "bench: %s\n", what.c_str());
  });
  std::printf("%s", pipeline::benchmark_report(result).c_str());

  if (!jsonPath.isEmpty()) {
    QSaveFile file(jsonPath);
    const QByteArray text = QJsonDocument(pipeline::benchmark_to_json(result)).toJson();
    if (!file.open(QIODevice::WriteOnly) || file.write(text) != text.size() || !file.commit())
      throw Error("cannot write '" + jsonPath.toStdString() + "': " + file.errorString().toStdString());
    std::fprintf(stderr, "bench: figures written to %s\n", qPrintable(jsonPath));
  }
  return 0;
}
