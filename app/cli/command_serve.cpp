// latentstudio-cli serve: the web UI's HTTP API (/sdapi/v1/...) over one engine and queue.
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QScopeGuard>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "app/server/webui_server.h"
#include "commands.h"
#include "common_options.h"
#include "core/util/error.h"
#include "core/util/threads.h"
#include "option_values.h"

using latent::Error;
namespace server = latent::server;

namespace {

std::string modelTitle(const QString& path) {
  const QFileInfo info(path);
  return (info.isDir() ? info.fileName() : info.completeBaseName()).toStdString();
}

// The start model first, then every checkpoint in --models-dir: .safetensors files and
// diffusers folders (those with a model_index.json).
std::vector<server::ModelEntry> modelList(const std::string& start, const QString& modelsDir) {
  std::vector<server::ModelEntry> models{{modelTitle(QString::fromStdString(start)), start}};
  if (modelsDir.isEmpty()) return models;
  const QDir dir(modelsDir);
  if (!dir.exists()) throw Error("--models-dir: the folder '" + modelsDir.toStdString() + "' does not exist");
  for (const QFileInfo& entry : dir.entryInfoList(QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
    const bool checkpoint = entry.isFile() && entry.suffix().compare("safetensors", Qt::CaseInsensitive) == 0;
    const bool folder = entry.isDir() && QFileInfo::exists(entry.filePath() + "/model_index.json");
    if (!checkpoint && !folder) continue;
    const std::string path = entry.absoluteFilePath().toStdString();
    if (QFileInfo(QString::fromStdString(start)).absoluteFilePath().toStdString() == path) continue;
    // A folder and a file of the same name ("sd15" and "sd15.safetensors") keep apart by the
    // file's full name: a title names one model.
    std::string title = modelTitle(entry.filePath());
    for (const server::ModelEntry& other : models)
      if (other.title == title) title = entry.fileName().toStdString();
    models.push_back({title, path});
  }
  return models;
}

}  // namespace

int runServe(const QStringList& arguments) {
  const ModelOptions model{WithoutModel::required};
  const ComputeDtypeOption dtype{"fp32"};
  const WeightsOption weights;
  const DeviceOption device;
  const ThreadsOption threads;
  const EmbeddingsOption embeddings;
  const server::ServerSettings defaults;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Serve the web UI's HTTP API (/sdapi/v1/txt2img, img2img, progress, ...) so that programs "
      "written for it draw with this model. Every request runs through one engine and queue.");
  parser.addHelpOption();
  parser.addOptions(model.options() + dtype.options() + weights.options() + device.options() + threads.options() +
                    embeddings.options());
  parser.addOptions({
      {"listen", "Address to listen on (default " + QString::fromStdString(defaults.host) +
                     ": this machine only). Any other address needs --api-auth.", "ADDR",
       QString::fromStdString(defaults.host)},
      {"port", "Port (default " + QString::number(defaults.port) + "; 0 picks a free one).", "N",
       QString::number(defaults.port)},
      {"api-auth", "Require HTTP basic authentication with these credentials (also read from the "
                   "LATENT_API_AUTH environment variable, which the process list does not show).",
       "USER:PASS"},
      {"queue-limit", "Requests that may wait behind the running one; more are answered 503 "
                      "(default " + QString::number(defaults.queueLimit) + ").", "N",
       QString::number(defaults.queueLimit)},
      {"models-dir", "Also offer the checkpoints in this folder (.safetensors files and diffusers "
                     "folders) for clients to switch to.", "DIR"},
      {"lora-dir", "Folder of LoRA files (.safetensors) that prompts name as <lora:NAME:WEIGHT>.", "DIR"},
      {"max-body-mb", "Largest request body in MiB; larger ones are answered 413 (default " +
                          QString::number(defaults.maxBodyBytes >> 20) + ").", "N",
       QString::number(defaults.maxBodyBytes >> 20)},
  });
  parser.process(arguments);
  if (!parser.positionalArguments().isEmpty())
    throw Error("unexpected argument '" + parser.positionalArguments().first().toStdString() + "'");

  server::ServerSettings settings;
  settings.model = model.read(parser).loadOptions();
  settings.model.dtype = dtype.read(parser);
  settings.model.weights = weights.read(parser);
  settings.model.device = device.read(parser);
  settings.host = parser.value("listen").toStdString();
  settings.port = intValue(parser, "port");
  if (settings.port < 0 || settings.port > 65535) throw Error("--port must be 0 to 65535");
  settings.credentials = parser.isSet("api-auth") ? parser.value("api-auth").toStdString()
                                                  : qEnvironmentVariable("LATENT_API_AUTH").toStdString();
  settings.queueLimit = intValue(parser, "queue-limit");
  const int maxBodyMb = intValue(parser, "max-body-mb");
  if (maxBodyMb < 1 || maxBodyMb > 1024) throw Error("--max-body-mb must be 1 to 1024");
  settings.maxBodyBytes = static_cast<std::size_t>(maxBodyMb) << 20;
  settings.models = modelList(settings.model.model_path, parser.value("models-dir"));
  if (parser.isSet("lora-dir")) {
    if (!QDir(parser.value("lora-dir")).exists())
      throw Error("--lora-dir: the folder '" + parser.value("lora-dir").toStdString() + "' does not exist");
    settings.loraDir = parser.value("lora-dir").toStdString();
  }
  settings.embeddingsDir = embeddings.read(parser);
  latent::util::set_thread_count(threads.read(parser));

  // SIGINT and SIGTERM are taken by one thread that stops the server: blocked here, before
  // any other thread starts, so that every thread inherits the mask.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  server::WebuiServer webui(settings);
  std::atomic<bool> ending{false};
  std::thread stopper([&] {
    int signal = 0;
    sigwait(&stopSignals, &signal);
    if (ending) return;  // woken by this function on its way out
    std::fprintf(stderr, "stopping: cancelling the running job and answering the waiting ones\n");
    webui.stop();
  });
  // However this function ends (a model that does not load throws), the thread is woken and joined.
  const auto joinStopper = qScopeGuard([&] {
    ending = true;
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
  });
  std::fprintf(stderr, "loading %s ...\n", settings.model.model_path.c_str());
  webui.loadModel();
  const int port = webui.bind();
  if (!server::isLoopback(settings.host))
    std::fprintf(stderr, "note: HTTP is not encrypted: the password and the pictures travel as they "
                         "are; across networks you do not trust, put a TLS proxy or an SSH tunnel in front\n");
  std::printf("listening on http://%s:%d (model %s)\n", settings.host.c_str(), port,
              settings.models.front().title.c_str());
  std::fflush(stdout);
  const bool served = webui.serve();
  webui.stop();
  std::fprintf(stderr, "stopped\n");
  return served ? 0 : 1;
}
