// latentstudio-cli bench: how fast this machine runs a model, and how close to its peak.
#include <QCommandLineParser>
#include <QFile>
#include <QJsonDocument>
#include <QSaveFile>

#include <cstdio>

#include "commands.h"
#include "core/pipeline/benchmark.h"
#include "core/util/error.h"

using latent::Error;
namespace pipeline = latent::pipeline;

namespace {

int wholeNumber(const QCommandLineParser& parser, const QString& name) {
  bool ok = false;
  const int value = parser.value(name).toInt(&ok);
  if (!ok)
    throw Error("--" + name.toStdString() + " needs a whole number, not '" +
                parser.value(name).toStdString() + "'");
  return value;
}

}  // namespace

int runBench(const QStringList& arguments) {
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Measure model load, text encoding, one guided UNet step, VAE decode and a whole "
      "generation (medians after a warm-up run), peak memory, and this machine's peak rate "
      "for the precision. Use a full-size model from make-random-model.");
  parser.addHelpOption();
  parser.addOptions({
      {"model", "Diffusers folder or single-file .safetensors checkpoint.", "PATH"},
      {"config-dir", "Configs for a single-file checkpoint (default: bundled SD 1.5).", "DIR"},
      {"dtype", "Compute precision: fp32, bf16, fp16 or auto (default auto: bf16 where the CPU "
                "has it natively, else fp32).", "TYPE", "auto"},
      {"device", "cpu or cuda (default cpu).", "DEVICE", "cpu"},
      {"width", "Image width (default 512).", "W", "512"},
      {"height", "Image height (default 512).", "H", "512"},
      {"steps", "Steps of the whole generation (default 4).", "N", "4"},
      {"sampler", "Sampler of the whole generation (default euler).", "NAME", "euler"},
      {"repeats", "Timed runs of each piece after the warm-up (default 3).", "N", "3"},
      {"load-repeats", "Timed loads after the warm-up load (default 2).", "N", "2"},
      {"generation-repeats", "Timed whole generations (default 1).", "N", "1"},
      {"threads", "CPU threads (default: one per core).", "N", "0"},
      {"no-peak", "Skip measuring the machine's peak rate."},
      {"preview-share", "Also run a generation through the engine with the automatic VAE "
                        "preview cadence and report the previews' share of its time."},
      {"preview-steps", "Steps of that generation (default 25).", "N", "25"},
      {"json", "Also write the figures to FILE as JSON.", "FILE"},
  });
  parser.process(arguments);
  if (!parser.positionalArguments().isEmpty())
    throw Error("unexpected argument '" + parser.positionalArguments().first().toStdString() + "'");
  if (!parser.isSet("model"))
    throw Error("--model is required: a diffusers folder or a .safetensors checkpoint");

  pipeline::BenchmarkOptions options;
  options.load.model_path = parser.value("model").toStdString();
  options.load.config_dir = parser.value("config-dir").toStdString();
  options.load.dtype = parser.value("dtype").toStdString();
  options.load.device = parser.value("device").toStdString();
  options.width = wholeNumber(parser, "width");
  options.height = wholeNumber(parser, "height");
  options.steps = wholeNumber(parser, "steps");
  options.sampler = parser.value("sampler").toStdString();
  options.repeats = wholeNumber(parser, "repeats");
  options.load_repeats = wholeNumber(parser, "load-repeats");
  options.generation_repeats = wholeNumber(parser, "generation-repeats");
  options.threads = wholeNumber(parser, "threads");
  options.measure_peak = !parser.isSet("no-peak");
  options.preview_share = parser.isSet("preview-share");
  options.preview_steps = wholeNumber(parser, "preview-steps");

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
