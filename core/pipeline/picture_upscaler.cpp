#include "core/pipeline/picture_upscaler.h"

#include <QFileInfo>


#include "core/api/upscaler_names.h"
#include "core/image/image_prep.h"
#include "core/pipeline/tiled_upscale.h"
#include "core/pipeline/upscaler_network.h"
#include "core/util/cancellation.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

// "4" rather than "4.000000", as the web UI writes the factor (Qt's shortest %g).
std::string number_text(double value) { return QString::number(value).toStdString(); }

std::string base_name(const std::string& path) { return QFileInfo(QString::fromStdString(path)).completeBaseName().toStdString(); }

}  // namespace

UpscalerFileInfo probe_upscaler_file(const std::string& path) {
  UpscalerFileInfo info;
  info.path = path;
  info.name = base_name(path);
  // The loader reads the architecture and the scale from the weights' names and shapes;
  // asking it keeps one truth for what a file is. The network is dropped at once.
  try {
    const auto network = load_upscaler_network(path);
    info.architecture = network->architecture;
    info.scale = static_cast<int>(network->scale);
  } catch (const std::exception& error) {
    info.problem = error.what();
    if (info.problem.empty()) info.problem = "'" + path + "' cannot be read as an upscaler";
  }
  return info;
}

struct PictureUpscaler::Impl {
  std::unique_ptr<UpscalerNetwork> network;  // the last one loaded
  std::string device;

  const UpscalerNetwork& load(const std::string& path, const std::string& device_name) {
    if (!network || network->path != path || device != device_name) {
      network.reset();  // the old one goes before the new one takes memory
      network = load_upscaler_network(path, torch::Device(device_name));
      device = device_name;
    }
    return *network;
  }
};

PictureUpscaler::PictureUpscaler() : impl_(std::make_unique<Impl>()) {}
PictureUpscaler::~PictureUpscaler() = default;

api::Image PictureUpscaler::upscale_file(const PictureUpscale& job, const TileProgress& progress,
                                         const std::atomic<bool>* cancel) {
  const auto* built_in = api::find_built_in_upscaler(job.upscaler);
  if (built_in && built_in->is_latent())
    throw Error("the upscaler '" + job.upscaler + "' works on latents during a hires fix; a picture takes lanczos or a file");
  if (!built_in && !QFileInfo::exists(QString::fromStdString(job.upscaler)))
    throw Error("the upscaler '" + job.upscaler + "' is neither lanczos nor an upscaler file");
  if (job.tile < 0) throw Error("the tile size " + std::to_string(job.tile) + " must be 0 (no tiles) or a pixel count");

  const cv::Mat picture = image::load_image_rgb(job.input);
  const UpscalerNetwork* network = built_in ? nullptr : &impl_->load(job.upscaler, job.device);
  const double scale = job.scale > 0 ? job.scale : network ? static_cast<double>(network->scale) : 2.0;
  if (!(scale > 0 && scale <= 16)) throw Error("the scale " + number_text(scale) + " is out of range: use above 0 to 16");
  const int width = static_cast<int>(picture.cols * scale);
  const int height = static_cast<int>(picture.rows * scale);
  if (width < 1 || height < 1) throw Error("the scale " + number_text(scale) + " leaves no pixels");

  cv::Mat upscaled;
  if (network) {
    TileOptions tiles;
    tiles.tile = job.tile;
    if (progress) tiles.on_tile = [&progress](int64_t done, int64_t total) { progress(int(done), int(total)); };
    upscaled = upscale_picture_to(*network, picture, width, height, tiles, cancel);
  } else {
    upscaled = image::resize_lanczos(picture, width, height);
  }
  throw_if_cancelled(cancel);

  // The picture's own metadata stays, whatever format it came in as long as it is a PNG.
  const bool png = QFileInfo(QString::fromStdString(job.input)).suffix().compare("png", Qt::CaseInsensitive) == 0;
  const image::TextChunks original = png ? image::read_png_text_file(job.input) : image::TextChunks{};
  api::Image out = image::mat_to_image(upscaled);
  image::write_file_atomically(job.output, image::encode_png(out, upscaled_picture_chunks(original, scale, job.upscaler)));
  return out;
}

image::TextChunks upscaled_picture_chunks(const image::TextChunks& original, double scale,
                                          const std::string& upscaler) {
  image::TextChunks texts;
  for (const auto& chunk : original)
    if (chunk.first != "postprocessing") texts.push_back(chunk);
  // modules/postprocessing.py joins the upscale script's pp.info as "key: value" pairs.
  texts.emplace_back("postprocessing", "Postprocess upscale by: " + number_text(scale) +
                                           ", Postprocess upscaler: " + api::upscaler_metadata_name(upscaler));
  return texts;
}

}  // namespace latent::pipeline
