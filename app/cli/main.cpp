// latentstudio-cli: everything the engine can do, without a display.
#include <QCoreApplication>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  QCoreApplication app(argc, argv);
  if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("latentstudio-cli %s\n", LATENT_VERSION);
    return 0;
  }
  std::fprintf(stderr, "usage: latentstudio-cli --version\n");
  return 2;
}
