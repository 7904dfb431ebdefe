// latentstudio-cli preprocess: a ControlNet control map from a picture, written as PNG (what
// generate's --control ...,preprocess=NAME feeds the ControlNet).
#include <QCommandLineParser>
#include <QFileInfo>
#include <cstdio>

#include "commands.h"
#include "core/control/preprocessors.h"
#include "core/image/image_prep.h"
#include "core/image/png_metadata.h"
#include "core/util/error.h"
#include "option_values.h"

using latent::Error;
namespace control = latent::control;
namespace image = latent::image;

namespace {

QString preprocessorHelp() {
  QString text = "The preprocessor:";
  for (const auto& p : control::preprocessors()) {
    text += QString("\n  %1: %2")
                .arg(QString::fromStdString(p.name), QString::fromStdString(p.description));
    if (!p.a_label.empty())
      text +=
          QString(" (--a: %1, default %2").arg(QString::fromStdString(p.a_label)).arg(p.a_default);
    if (!p.b_label.empty())
      text +=
          QString("; --b: %1, default %2").arg(QString::fromStdString(p.b_label)).arg(p.b_default);
    if (!p.a_label.empty()) text += ")";
  }
  return text;
}

double optionalNumber(const QCommandLineParser& parser, const char* name) {
  return parser.isSet(name) ? doubleValue(parser, name) : -1.0;
}

}  // namespace

int runPreprocess(const QStringList& arguments) {
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Write the control map a ControlNet preprocessor makes from a picture.");
  parser.addHelpOption();
  parser.addOptions({
      {"preprocessor", preprocessorHelp(), "NAME", "none"},
      {"image", "The picture.", "FILE"},
      {"out", "The map, as PNG.", "FILE"},
      {{"a", "low", "threshold"},
       "The preprocessor's first parameter (Canny's low threshold, ...).",
       "A"},
      {{"b", "high"}, "The preprocessor's second parameter (Canny's high threshold, ...).", "B"},
      {"mask", "inpaint: the mask, white = the area to repaint (shown black in the map).", "FILE"},
      {"width", "Fit the map to this width (with --height).", "W"},
      {"height", "Fit the map to this height (with --width).", "H"},
      {"resize-mode",
       "How the map is fitted to --width x --height: stretch, crop or fill (default stretch).",
       "MODE", "stretch"},
      {"overwrite", "Replace an existing output file."},
  });
  parser.process(arguments);
  if (!parser.positionalArguments().isEmpty())
    throw Error("preprocess takes no positional arguments: '" +
                parser.positionalArguments().first().toStdString() + "'");
  if (!parser.isSet("image")) throw Error("preprocess needs --image FILE");
  if (!parser.isSet("out")) throw Error("preprocess needs --out FILE");
  const QString out = parser.value("out");
  if (QFileInfo(out).suffix().compare("png", Qt::CaseInsensitive) != 0)
    throw Error("'" + out.toStdString() +
                "': the map is written as PNG, so the name must end in .png");
  if (QFileInfo::exists(out) && !parser.isSet("overwrite"))
    throw Error("'" + out.toStdString() +
                "' exists already; choose another name or pass --overwrite");
  if (parser.isSet("width") != parser.isSet("height"))
    throw Error("give --width and --height together");

  const cv::Mat picture = image::load_image_rgb(parser.value("image").toStdString());
  cv::Mat mask;
  if (parser.isSet("mask")) {
    mask = image::load_mask(parser.value("mask").toStdString());
    mask = image::resize_lanczos(mask, picture.cols, picture.rows);
  }
  const control::PreprocessSettings settings{parser.value("preprocessor").toStdString(),
                                             optionalNumber(parser, "a"),
                                             optionalNumber(parser, "b")};
  cv::Mat map = control::map_preview(control::preprocess(picture, settings, mask));
  if (parser.isSet("width")) {
    const QString mode = parser.value("resize-mode");
    const image::ResizeMode fit = mode == "stretch" ? image::ResizeMode::resize
                                  : mode == "crop"  ? image::ResizeMode::crop
                                  : mode == "fill"
                                      ? image::ResizeMode::pad
                                      : throw Error("--resize-mode '" + mode.toStdString() +
                                                    "' is not one of stretch, crop, fill");
    map = image::fit_image(map, intValue(parser, "width"), intValue(parser, "height"), fit);
  }
  image::write_file_atomically(out.toStdString(), image::encode_png(image::mat_to_image(map), {}));
  std::printf("%s\n", qPrintable(out));
  return 0;
}
