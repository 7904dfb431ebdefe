#pragma once

// Making a finished picture larger, as the web UI's "Extras" tab does: with Lanczos or an
// upscaler network file, saved as a new PNG that keeps the original's text chunks and adds
// the extras tab's note ("Postprocess upscale by: 4, Postprocess upscaler: 4x-UltraSharp").
// The gallery's "Upscale" action and `latentstudio-cli upscale` both run it. Free of
// LibTorch in its interface, so the GUI's worker can hold one.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/api/image.h"
#include "core/image/png_metadata.h"

namespace latent::pipeline {

// What an upscaler file is, read from its weights as loading it reads them.
struct UpscalerFileInfo {
  std::string path;
  std::string name;          // the file name without folder and extension, as the metadata names it
  std::string architecture;  // "RRDBNet" or "SRVGGNetCompact"; empty when it cannot be used
  int scale = 0;             // the network's own factor; 0 when it cannot be used
  std::string problem;       // why it cannot be used (a pickle, not an upscaler); empty when it can

  bool usable() const { return problem.empty(); }
};

// Never throws: a file that cannot be used says why in `problem`. Pickles are recognised by
// their bytes and never opened.
UpscalerFileInfo probe_upscaler_file(const std::string& path);

struct PictureUpscale {
  std::string input;     // a picture file any format the engine reads
  std::string output;    // the PNG to write (replaced when it exists)
  std::string upscaler;  // "lanczos" or an upscaler network file
  double scale = 0;      // each side becomes int(side × scale); 0 = the network's own (Lanczos: 2)
  std::string device = "cpu";
  int64_t tile = 192;    // input pixels per tile side; 0 = the whole picture at once
};

// Called after each tile of a network pass (`done` of `total`); Lanczos reports nothing.
using TileProgress = std::function<void(int done, int total)>;

// Keeps the last network it loaded, so that upscaling several pictures loads it once.
class PictureUpscaler {
 public:
  PictureUpscaler();
  ~PictureUpscaler();
  PictureUpscaler(const PictureUpscaler&) = delete;
  PictureUpscaler& operator=(const PictureUpscaler&) = delete;

  // Upscales job.input into job.output (written whole or not at all) and returns the
  // picture written. Throws latent::Error naming the file or value at fault (a latent
  // upscaler, which needs a hires fix's latents; a missing or pickled file; a scale out of
  // range), latent::Cancelled when `cancel` becomes true between tiles.
  api::Image upscale_file(const PictureUpscale& job, const TileProgress& progress = {},
                          const std::atomic<bool>* cancel = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The text chunks of an upscaled picture: the original's, with the extras tab's note in a
// `postprocessing` chunk (replacing an earlier one).
image::TextChunks upscaled_picture_chunks(const image::TextChunks& original, double scale,
                                          const std::string& upscaler);

}  // namespace latent::pipeline
