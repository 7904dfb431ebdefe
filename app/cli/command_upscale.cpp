// latentstudio-cli upscale: a picture made larger by an upscaler network (or Lanczos), saved
// with its metadata kept and the web UI's postprocessing note added.
#include <QCommandLineParser>
#include <QFileInfo>

#include <cstdio>

#include "commands.h"
#include "common_options.h"
#include "core/api/upscaler_names.h"
#include "core/pipeline/picture_upscaler.h"
#include "core/util/error.h"
#include "core/util/threads.h"
#include "option_values.h"

using namespace latent;

int runUpscale(const QStringList& arguments) {
  const DeviceOption device;
  const ThreadsOption threads;
  QCommandLineParser parser;
  parser.setApplicationDescription("Make a picture larger with an upscaler network (ESRGAN / Real-ESRGAN "
                                   ".safetensors) or Lanczos, keeping its metadata.");
  parser.addHelpOption();
  parser.addOptions(device.options() + threads.options());
  parser.addOptions({
      {"upscaler", "An upscaler .safetensors file (RRDBNet or SRVGGNetCompact), or lanczos.", "NAME|PATH"},
      {"scale", "Upscale factor (default: the network's own).", "F"},
      {"image", "The picture to upscale.", "FILE"},
      {"out", "Output PNG.", "FILE"},
      {"overwrite", "Replace an existing output file."},
      {"tile", "Input pixels per tile side, to bound memory (default 192; 0 = the whole picture).", "PX", "192"},
  });
  parser.process(arguments);
  if (!parser.positionalArguments().isEmpty())
    throw Error("unexpected argument '" + parser.positionalArguments().first().toStdString() + "'");
  for (const char* required : {"upscaler", "image", "out"})
    if (!parser.isSet(required)) throw Error(std::string("--") + required + " is required");
  const std::string upscaler = parser.value("upscaler").toStdString();
  const std::string input = parser.value("image").toStdString();
  const QString out = parser.value("out");
  if (QFileInfo::exists(out) && !parser.isSet("overwrite"))
    throw Error("'" + out.toStdString() + "' exists: give --overwrite to replace it");
  const auto* built_in = api::find_built_in_upscaler(upscaler);
  if (built_in && built_in->is_latent())
    throw Error("--upscaler " + upscaler + " works on latents during a hires fix; a picture takes lanczos or a file");
  if (!built_in && !QFileInfo::exists(QString::fromStdString(upscaler)))
    throw Error("--upscaler '" + upscaler + "' is neither lanczos nor an upscaler file");
  latent::util::set_thread_count(threads.read(parser));

  pipeline::PictureUpscale job;
  job.input = input;
  job.output = out.toStdString();
  job.upscaler = upscaler;
  job.scale = parser.isSet("scale") ? doubleValue(parser, "scale") : 0;  // 0: the network's own
  if (parser.isSet("scale") && !(job.scale > 0 && job.scale <= 16))
    throw Error("--scale " + parser.value("scale").toStdString() + " is out of range: use above 0 to 16");
  job.device = device.read(parser);
  job.tile = intValue(parser, "tile");
  if (job.tile < 0) throw Error("--tile must be 0 (no tiles) or a pixel count");
  pipeline::PictureUpscaler().upscale_file(job);
  std::printf("%s\n", qPrintable(out));
  return 0;
}
