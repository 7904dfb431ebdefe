// The Latent Studio desktop application.
#include <QApplication>
#include <QLabel>

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("Latent Studio");
  QLabel window("Latent Studio");
  window.setMinimumSize(640, 480);
  window.setAlignment(Qt::AlignCenter);
  window.show();
  return app.exec();
}
