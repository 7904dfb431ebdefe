// latentstudio-cli png-info: what an image says about how it was made, as JSON. Reads the
// settings of Latent Studio, the web UI, ComfyUI, InvokeAI, Fooocus and NovelAI from PNG,
// JPEG and WebP files (core/image/file_metadata.h), without loading any network.
#include <QCommandLineParser>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdio>

#include "commands.h"
#include "core/image/file_metadata.h"
#include "core/image/metadata_json.h"
#include "core/util/error.h"

using latent::Error;

int runPngInfo(const QStringList& arguments) {
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Print the generation settings an image carries, as JSON: the settings that map onto Latent "
      "Studio's, what was found but does not map, and the program that wrote them. Reads PNG, JPEG "
      "and WebP files from Latent Studio, the web UI, ComfyUI, InvokeAI, Fooocus and NovelAI. An image "
      "without settings prints \"source\": null.");
  parser.addHelpOption();
  parser.addPositionalArgument("FILE", "The image.");
  parser.process(arguments);
  const QStringList positional = parser.positionalArguments();
  if (positional.size() != 1)
    throw Error(positional.isEmpty() ? std::string("png-info needs an image file")
                                     : "png-info reads one image at a time (" + std::to_string(positional.size()) +
                                           " were given)");
  const std::string path = positional.first().toStdString();
  const latent::image::ImageMetadata metadata = latent::image::read_image_metadata_file(path);
  QJsonObject out = latent::image::metadata_to_json(metadata);
  out["file"] = positional.first();
  std::fputs(QJsonDocument(out).toJson(QJsonDocument::Indented).constData(), stdout);
  if (!metadata.found()) std::fprintf(stderr, "%s: no generation settings found\n", path.c_str());
  return 0;
}
