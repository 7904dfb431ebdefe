#include "init_image_options.h"

#include <QStringList>

#include "core/image/image_prep.h"
#include "core/pipeline/image_request_validation.h"
#include "core/util/error.h"
#include "option_values.h"

using latent::Error;
namespace image = latent::image;

OptionList InitImageOptions::options() const {
  return {
      {"init-image", "Start from this picture (image to image); without --width/--height the "
                     "picture's size rounded down to a multiple of 8 is used.", "FILE"},
      {"strength", "How much of the picture is repainted, 0 to 1 (default 0.75).", "S", "0.75"},
      {"mask", "Inpaint: repaint where this mask is white (needs --init-image).", "FILE"},
      {"mask-blur", "Feather the mask's edge by this many pixels (default 4).", "PX", "4"},
      {"resize-mode", "Fit the picture to the size: resize, crop or pad (default resize).", "MODE", "resize"},
      {"inpaint-full-res", "Repaint only the masked area, at --width x --height, and paste it back."},
      {"inpaint-padding", "Context kept around the masked area with --inpaint-full-res (default 32).", "PX", "32"},
      {"outpaint", "Grow the canvas by LEFT,TOP,RIGHT,BOTTOM pixels and paint the new area.", "L,T,R,B"},
  };
}

void InitImageOptions::read(const QCommandLineParser& parser, latent::api::GenerationRequest& request) const {
  if (!parser.isSet("init-image")) {
    for (const char* option : {"strength", "mask", "mask-blur", "resize-mode", "inpaint-full-res", "inpaint-padding", "outpaint"})
      if (parser.isSet(option)) throw Error(std::string("--") + option + " needs --init-image");
    return;
  }
  request.init.path = parser.value("init-image").toStdString();
  request.init.strength = doubleValue(parser, "strength");
  request.init.resize_mode = parser.value("resize-mode").toStdString();
  request.mask.path = parser.value("mask").toStdString();
  request.mask.blur = intValue(parser, "mask-blur");
  request.mask.only_masked = parser.isSet("inpaint-full-res");
  request.mask.only_masked_padding = intValue(parser, "inpaint-padding");
  if (parser.isSet("outpaint")) {
    const QStringList sides = parser.value("outpaint").split(',');
    bool ok = sides.size() == 4;
    int values[4] = {0, 0, 0, 0};
    for (int k = 0; ok && k < 4; ++k) values[k] = sides[k].trimmed().toInt(&ok);
    if (!ok)
      throw Error("--outpaint needs four whole numbers LEFT,TOP,RIGHT,BOTTOM, not '" +
                  parser.value("outpaint").toStdString() + "'");
    request.outpaint = {values[0], values[1], values[2], values[3]};
  }
  latent::pipeline::validate_image_request(request);
  if (!parser.isSet("width") && !parser.isSet("height") && !request.mask.only_masked) {
    cv::Size size = image::probe_image_size(request.init.path);
    if (size.width <= 0 || size.height <= 0) size = image::load_image_rgb(request.init.path).size();
    size.width += request.outpaint.left + request.outpaint.right;
    size.height += request.outpaint.top + request.outpaint.bottom;
    size = image::working_size_for(size);
    request.size.width = size.width;
    request.size.height = size.height;
  }
}
