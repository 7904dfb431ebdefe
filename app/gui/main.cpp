// The Latent Studio desktop application.
#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>

#include "core/util/threads.h"
#include "ui/main_window.h"
#include "ui/model_picker.h"
#include "ui/settings_store.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("LatentStudio"));
  QApplication::setApplicationName(QStringLiteral("latentstudio"));
  QApplication::setApplicationDisplayName(QStringLiteral("Latent Studio"));
  QApplication::setApplicationVersion(QStringLiteral(LATENT_VERSION));
  QApplication::setDesktopFileName(QStringLiteral("latentstudio"));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Stable Diffusion on your own computer"));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument(QStringLiteral("model"), QStringLiteral("A checkpoint or diffusers folder to open"),
                               QStringLiteral("[model]"));
  parser.process(app);

  // One compute thread per physical core, as the command line has by default: Debian's
  // LibTorch starts with one, and the generation worker's threads take the count set here.
  latent::util::set_thread_count(0);

  latent::ui::SettingsStore settings;
  latent::ui::MainWindow window(&settings);
  if (!parser.positionalArguments().isEmpty())
    window.modelPicker()->setModelPath(parser.positionalArguments().first());
  window.show();
  return app.exec();
}
