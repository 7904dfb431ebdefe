// latentstudio-cli make-shapes: writes pictures of the shapes dataset with caption files,
// for train-lora (say, 40 hearts) or for looking at what the starter model learns from.
#include <QCommandLineParser>

#include <cstdio>

#include "commands.h"
#include "core/training/shapes_dataset.h"
#include "core/util/error.h"

using latent::Error;

int runMakeShapes(const QStringList& arguments) {
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Write seeded pictures of coloured shapes as NAME.png + NAME.txt (caption) pairs, the layout train-lora reads.");
  parser.addHelpOption();
  parser.addOptions({
      {"out", "Folder to write into (created).", "DIR"},
      {"shapes", "Comma-separated shapes (default heart): circle, square, triangle, star, heart.", "LIST", "heart"},
      {"count", "Number of pictures (default 40).", "N", "40"},
      {"size", "Side in pixels, a multiple of 16 (default 64).", "PX", "64"},
      {"seed", "Seed (default 0).", "S", "0"},
  });
  parser.process(arguments);
  if (!parser.isSet("out")) throw Error("--out is required");
  std::vector<std::string> shapes;
  for (const QString& s : parser.value("shapes").split(',', Qt::SkipEmptyParts)) shapes.push_back(s.trimmed().toStdString());
  bool ok1 = false, ok2 = false, ok3 = false;
  const int count = parser.value("count").toInt(&ok1);
  const int size = parser.value("size").toInt(&ok2);
  const unsigned long long seed = parser.value("seed").toULongLong(&ok3);
  if (!ok1 || !ok2 || !ok3) throw Error("--count, --size and --seed need whole numbers");
  const auto paths = latent::training::export_scenes(parser.value("out").toStdString(), shapes, count, size, seed);
  std::fprintf(stderr, "wrote %zu pictures with captions\n", paths.size());
  std::printf("%s\n", qPrintable(parser.value("out")));
  return 0;
}
