// latentstudio-cli make-shapes: writes pictures of the shapes dataset with caption files,
// for train-lora (say, 40 hearts) or for looking at what the starter model learns from.
#include <QCommandLineParser>

#include <cstdio>

#include "commands.h"
#include "common_options.h"
#include "option_values.h"
#include "core/training/shapes_dataset.h"
#include "core/util/error.h"

using latent::Error;

int runMakeShapes(const QStringList& arguments) {
  const ShapesOption shapes{{"heart"}};
  const SeedOption seed;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Write seeded pictures of coloured shapes as NAME.png + NAME.txt (caption) pairs, the layout train-lora reads.");
  parser.addHelpOption();
  parser.addOptions({{"out", "Folder to write into (created).", "DIR"}});
  parser.addOptions(shapes.options());
  parser.addOptions({
      {"count", "Number of pictures (default 40).", "N", "40"},
      {"size", "Side in pixels, a multiple of 16 (default 64).", "PX", "64"},
  });
  parser.addOptions(seed.options());
  parser.process(arguments);
  if (!parser.isSet("out")) throw Error("--out is required");
  const auto paths = latent::training::export_scenes(parser.value("out").toStdString(), shapes.read(parser),
                                                     intValue(parser, "count"), intValue(parser, "size"),
                                                     seed.read(parser));
  std::fprintf(stderr, "wrote %zu pictures with captions\n", paths.size());
  std::printf("%s\n", qPrintable(parser.value("out")));
  return 0;
}
