#include "ui/remote_worker.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>
#include <QUrl>

#include <exception>

#include "core/api_server/webui_client.h"
#include "core/image/png_metadata.h"
#include "core/util/error.h"
#include "ui/image_saver.h"
#include "ui/remote_server.h"

namespace latent::ui {
namespace {

// The bytes of a picture the request names: its file as it is, or its pixels as PNG.
std::vector<unsigned char> pictureBytes(const std::string& path, const std::shared_ptr<const api::Image>& pixels,
                                        const char* what) {
  if (!path.empty()) {
    QFile file(QString::fromStdString(path));
    if (!file.open(QIODevice::ReadOnly)) throw Error(std::string("cannot read the ") + what + " '" + path + "'");
    const QByteArray bytes = file.readAll();
    return {bytes.begin(), bytes.end()};
  }
  if (pixels && !pixels->empty()) return image::encode_png(*pixels, {});
  return {};
}

QString detailOf(const QByteArray& body, int status) {
  return QString::fromStdString(api_server::error_detail(body, status));
}

}  // namespace

RemoteWorker::RemoteWorker(QObject* parent) : QObject(parent) {}

RemoteWorker::~RemoteWorker() = default;

void RemoteWorker::cancel(quint64 jobId) {
  quint64 through = m_cancelThrough.load();
  while (through < jobId && !m_cancelThrough.compare_exchange_weak(through, jobId)) {
  }
  QMetaObject::invokeMethod(this, [this] { sendInterrupt(); }, Qt::QueuedConnection);
}

QNetworkRequest RemoteWorker::requestFor(const QString& path) const {
  QNetworkRequest request(serverUrl(m_job.server, path));
  request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
  setCredentials(request, m_job.server);
  return request;
}

void RemoteWorker::run(const GenerationJob& job) {
  if (!m_network) {
    m_network = new QNetworkAccessManager(this);
    m_pollTimer = new QTimer(this);
    m_pollTimer->setInterval(kPollMs);
    connect(m_pollTimer, &QTimer::timeout, this, &RemoteWorker::poll);
  }
  m_job = job;
  m_running = true;
  m_interruptSent = false;
  m_failedPolls = 0;
  m_pollError.clear();
  m_clock.start();
  Q_EMIT started(job.id);
  if (m_cancelThrough.load() >= job.id) {  // cancelled before it began
    end();
    return Q_EMIT cancelled(job.id);
  }
  QByteArray body;
  QString path;
  try {
    const QString problem = serverProblem(job.server);
    if (!problem.isEmpty()) throw Error(problem.toStdString());
    const api::GenerationRequest& r = job.request;
    const auto init = pictureBytes(r.init.path, r.init.pixels, "starting picture");
    const auto mask = pictureBytes(r.mask.path, r.mask.pixels, "mask");
    const api_server::ClientRequest request =
        api_server::webui_client_request(r, job.server.model.toStdString(), init, mask);
    body = QJsonDocument(request.body).toJson(QJsonDocument::Compact);
    path = request.endpoint == api_server::Endpoint::txt2img ? QStringLiteral("/sdapi/v1/txt2img")
                                                             : QStringLiteral("/sdapi/v1/img2img");
  } catch (const std::exception& error) {
    end();
    return Q_EMIT failed(job.id, QString::fromUtf8(error.what()));
  }
  QNetworkReply* reply = m_network->post(requestFor(path), body);
  m_generation = reply;
  connect(reply, &QNetworkReply::finished, this, [this, reply] { generationDone(reply); });
  m_pollTimer->start();
}

void RemoteWorker::sendInterrupt() {
  if (!m_running || m_interruptSent || m_job.id > m_cancelThrough.load()) return;
  m_interruptSent = true;
  QNetworkReply* reply = m_network->post(requestFor(QStringLiteral("/sdapi/v1/interrupt")), QByteArray());
  connect(reply, &QNetworkReply::finished, reply, &QObject::deleteLater);
  // The server answers an interrupted job at once; one that does not is not waited for.
  QTimer::singleShot(10000, this, [this, generation = m_generation] {
    if (generation && generation == m_generation) generation->abort();
  });
}

void RemoteWorker::poll() {
  if (!m_running || m_poll) return;  // the last poll is still out
  QNetworkRequest request = requestFor(QStringLiteral("/sdapi/v1/progress"));
  request.setTransferTimeout(5000);
  QNetworkReply* reply = m_network->get(request);
  m_poll = reply;
  connect(reply, &QNetworkReply::finished, this, [this, reply] { pollDone(reply); });
}

void RemoteWorker::pollDone(QNetworkReply* reply) {
  reply->deleteLater();
  if (reply != m_poll) return;
  m_poll = nullptr;
  if (!m_running) return;
  if (reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() != 200) {
    m_pollError = reply->errorString();
    if (++m_failedPolls >= kFailedPollsAllowed && m_generation) m_generation->abort();  // → generationDone
    return;
  }
  m_failedPolls = 0;
  try {
    const api_server::ProgressReply p = api_server::parse_progress_reply(reply->readAll());
    if (!p.busy || p.steps <= 0) return;  // still waiting in the server's queue
    GenerationProgress out;
    out.step = p.step;
    out.totalSteps = p.steps;
    out.secondsElapsed = m_clock.elapsed() / 1000.0;
    out.secondsPerStep = p.step > 0 ? out.secondsElapsed / p.step : 0;
    out.secondsLeft = p.eta_seconds;
    if (!p.preview.empty()) {
      const QImage preview = QImage::fromData(p.preview.data(), static_cast<int>(p.preview.size()));
      if (!preview.isNull()) out.previews.append(preview.convertToFormat(QImage::Format_RGB888));
    }
    Q_EMIT progress(m_job.id, out);
  } catch (const std::exception&) {
    // A progress answer that cannot be read costs a preview, not the job.
  }
}

void RemoteWorker::generationDone(QNetworkReply* reply) {
  reply->deleteLater();
  if (reply != m_generation || !m_running) return;
  const quint64 id = m_job.id;
  const QString server = m_job.server.url;
  const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
  const QByteArray body = reply->readAll();
  if (m_interruptSent) {
    end();
    return Q_EMIT cancelled(id);
  }
  if (status == 0) {  // no answer at all
    const QString reason = m_failedPolls >= kFailedPollsAllowed ? m_pollError : reply->errorString();
    end();
    return Q_EMIT connectionLost(id, tr("Lost the connection to %1: %2").arg(server, reason));
  }
  if (status == 503) {
    end();
    return Q_EMIT connectionLost(id, tr("The server %1 cannot take the job now: %2").arg(server, detailOf(body, status)));
  }
  if (status != 200) {
    end();
    return Q_EMIT failed(id, tr("The server %1 refused the request: %2").arg(server, detailOf(body, status)));
  }
  try {
    saveResult(body);
  } catch (const std::exception& error) {
    end();
    Q_EMIT failed(id, tr("The server's answer cannot be used: %1").arg(QString::fromUtf8(error.what())));
  }
}

void RemoteWorker::saveResult(const QByteArray& body) {
  const api_server::GenerationReply reply = api_server::parse_generation_reply(body);
  GenerationOutput output;
  output.request = m_job.request;
  output.modelName = QString::fromStdString(reply.model_name);
  for (const std::string& warning : reply.warnings) output.warnings.append(QString::fromStdString(warning));
  for (std::size_t i = 0; i < reply.pngs.size(); ++i) {
    const auto& png = reply.pngs[i];
    const QImage image = QImage::fromData(png.data(), static_cast<int>(png.size()), "PNG");
    if (image.isNull()) throw Error("picture " + std::to_string(i + 1) + " is not a PNG");
    output.images.append(image.convertToFormat(QImage::Format_RGB888));
  }
  if (!m_job.outputDir.isEmpty()) {
    // The server's files as they came: their parameters and settings chunks are the ones
    // `latentstudio-cli generate` writes.
    try {
      if (!QDir().mkpath(m_job.outputDir))
        throw Error("cannot create the output folder '" + m_job.outputDir.toStdString() + "'");
      for (std::size_t i = 0; i < reply.pngs.size(); ++i) {
        const uint64_t seed = i < reply.seeds.size() ? reply.seeds[i] : m_job.request.sampling.seed;
        const QString path = uniqueImagePath(m_job.outputDir, seed);
        image::write_file_atomically(path.toStdString(), reply.pngs[i]);
        output.savedPaths.append(path);
      }
    } catch (const std::exception& error) {
      output.saveError = QString::fromUtf8(error.what());
      for (const auto& png : reply.pngs)
        output.unsavedPng.append(QByteArray(reinterpret_cast<const char*>(png.data()), static_cast<qsizetype>(png.size())));
    }
  }
  output.secondsTotal = m_clock.elapsed() / 1000.0;
  const quint64 id = m_job.id;
  end();
  Q_EMIT finished(id, output);
}

void RemoteWorker::end() {
  m_running = false;
  if (m_pollTimer) m_pollTimer->stop();
  if (m_poll) m_poll->abort();
  m_generation = nullptr;
}

}  // namespace latent::ui
