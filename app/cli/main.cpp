// latentstudio-cli: everything the engine can do, without a display.
#include <QCoreApplication>
#include <QStringList>

#include <cstdio>
#include <exception>

#include "commands.h"
#include "core/util/error.h"
#include "core/util/resources.h"

namespace {

void printUsage() {
  std::fprintf(stderr,
               "usage: latentstudio-cli COMMAND [OPTIONS]\n\n"
               "commands:\n"
               "  generate            draw images from a prompt\n"
               "  grid                draw an X/Y/Z plot: settings compared side by side in a labelled grid\n"
               "  info                describe a model file or folder, and check that it loads\n"
               "  make-random-model   write a full-size SD 1.5 folder with random weights\n"
               "  bench               measure speed and memory of a model on this machine\n"
               "  prompt              show how a prompt is read: weights, tokens, chunks\n"
               "  train-starter       train the small starter model on pictures of shapes\n"
               "  eval-shapes         grade a model on drawing coloured shapes\n"
               "  train-lora          fine-tune a model with LoRA on captioned pictures\n"
               "  make-shapes         write captioned pictures of shapes (LoRA training data)\n"
               "  serve               answer the web UI's HTTP API (/sdapi/v1/...) with a model\n"
               "  upscale             make a picture larger with an upscaler network or Lanczos\n"
               "  preprocess          write a ControlNet control map made from a picture\n"
               "  convert             write a model again with 8-bit weights (--weights int8)\n"
               "  png-info            print the generation settings a PNG, JPEG or WebP carries, as JSON\n"
               "  --version           print the version and where the resources are read from\n\n"
               "`latentstudio-cli COMMAND --help` lists a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  QCoreApplication app(argc, argv);
  QCoreApplication::setApplicationName("latentstudio-cli");
  QCoreApplication::setApplicationVersion(LATENT_VERSION);
  QStringList arguments = QCoreApplication::arguments();
  if (arguments.size() < 2) {
    printUsage();
    return 2;
  }
  const QString command = arguments.at(1);
  arguments.removeAt(1);  // the rest keeps argv[0] for QCommandLineParser
  try {
    if (command == "--version" || command == "version") {
      std::printf("latentstudio-cli %s\n", LATENT_VERSION);
      // Where the bundled tokenizer, configs and starter model are read from: an installed
      // program shows <prefix>/share/latentstudio, a build tree the source's resources/.
      std::printf("resources: %s\n", latent::util::resources_dir().c_str());
      return 0;
    }
    if (command == "generate") return runGenerate(arguments);
    if (command == "grid") return runGrid(arguments);
    if (command == "info") return runInfo(arguments);
    if (command == "make-random-model") return runMakeRandomModel(arguments);
    if (command == "bench") return runBench(arguments);
    if (command == "prompt") return runPrompt(arguments);
    if (command == "train-starter") return runTrainStarter(arguments);
    if (command == "eval-shapes") return runEvalShapes(arguments);
    if (command == "train-lora") return runTrainLora(arguments);
    if (command == "make-shapes") return runMakeShapes(arguments);
    if (command == "serve") return runServe(arguments);
    if (command == "upscale") return runUpscale(arguments);
    if (command == "preprocess") return runPreprocess(arguments);
    if (command == "convert") return runConvert(arguments);
    if (command == "png-info") return runPngInfo(arguments);
    if (command == "--help" || command == "help") {
      printUsage();
      return 0;
    }
    std::fprintf(stderr, "latentstudio-cli: unknown command '%s'\n\n", qPrintable(command));
    printUsage();
    return 2;
  } catch (const latent::Error& error) {
    std::fprintf(stderr, "\nerror: %s\n", error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "\ninternal error: %s\n", error.what());
    return 3;
  }
}
