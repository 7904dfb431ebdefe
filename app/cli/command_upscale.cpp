// latentstudio-cli upscale: a picture made larger by an upscaler network (or Lanczos), saved
// with its metadata kept and the web UI's postprocessing note added.
#include <QCommandLineParser>
#include <QFileInfo>

#include <cmath>
#include <cstdio>

#include "commands.h"
#include "common_options.h"
#include "core/api/upscaler_names.h"
#include "core/image/image_prep.h"
#include "core/image/png_metadata.h"
#include "core/pipeline/tiled_upscale.h"
#include "core/util/error.h"
#include "core/util/threads.h"
#include "option_values.h"

using namespace latent;

namespace {

api::Image imageOf(const cv::Mat& rgb) {
  api::Image out;
  out.width = rgb.cols;
  out.height = rgb.rows;
  const cv::Mat contiguous = rgb.isContinuous() ? rgb : rgb.clone();
  out.rgb.assign(contiguous.data, contiguous.data + contiguous.total() * 3);
  return out;
}

// "4" rather than "4.000000", as the web UI writes the factor.
std::string numberText(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

}  // namespace

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

  const cv::Mat picture = image::load_image_rgb(input);
  pipeline::TileOptions tiles;
  tiles.tile = intValue(parser, "tile");
  if (tiles.tile < 0) throw Error("--tile must be 0 (no tiles) or a pixel count");
  std::unique_ptr<pipeline::UpscalerNetwork> network;
  if (!built_in) network = pipeline::load_upscaler_network(upscaler, torch::Device(device.read(parser)));
  const double scale = parser.isSet("scale") ? doubleValue(parser, "scale") : network ? double(network->scale) : 2.0;
  if (!(scale > 0 && scale <= 16)) throw Error("--scale " + numberText(scale) + " is out of range: use above 0 to 16");
  const int width = static_cast<int>(picture.cols * scale);
  const int height = static_cast<int>(picture.rows * scale);
  if (width < 1 || height < 1) throw Error("--scale " + numberText(scale) + " leaves no pixels");
  const cv::Mat upscaled = network ? pipeline::upscale_picture_to(*network, picture, width, height, tiles)
                                   : image::resize_lanczos(picture, width, height);

  // The picture's own metadata stays; the web UI's extras tab notes the upscale beside it.
  image::TextChunks texts;
  const bool png = QFileInfo(QString::fromStdString(input)).suffix().compare("png", Qt::CaseInsensitive) == 0;
  if (png)
    for (const auto& chunk : image::read_png_text_file(input))
      if (chunk.first != "postprocessing") texts.push_back(chunk);
  texts.emplace_back("postprocessing", "Postprocess upscale by: " + numberText(scale) +
                                           ", Postprocess upscaler: " + api::upscaler_metadata_name(upscaler));
  image::write_file_atomically(out.toStdString(), image::encode_png(imageOf(upscaled), texts));
  std::printf("%s\n", qPrintable(out));
  return 0;
}
