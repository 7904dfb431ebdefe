#include "webui_server.h"

// The HTTP library is cpp-httplib (Debian's libcpp-httplib-dev), picked over Qt HttpServer
// 6.4 (qt6-httpserver-dev) by a loopback measurement on a 2-core machine, 32 clients sending
// 3,200 small GET requests while a 2-second handler ran:
//   - Qt HttpServer answered faster (15,700 requests/s with a connection per request against
//     cpp-httplib's 1,400), but 6.4 has no body size limit: a 64 MiB body was read whole
//     and answered (the process grew to 216 MB), and a handler that blocks (a generation)
//     stalls its single event loop unless it is moved to a QFuture.
//   - cpp-httplib refuses a body over the limit from its Content-Length with 413 before
//     reading it (the process stayed at 9 MB), has read and write timeouts against clients
//     that stall, and runs blocking handlers on a thread pool, which suits a request that
//     waits for its picture. 1,400 requests/s is far beyond what a diffusion server sees.
// Debian builds the library with OpenSSL, zlib and Brotli; its compile definitions come
// from pkg-config with it (app/server/CMakeLists.txt), and must, as they change its classes.
#include <httplib.h>

#include <QCryptographicHash>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <random>

#include "core/api_server/webui_response.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/image_request_validation.h"
#include "core/pipeline/request_validation.h"
#include "core/util/error.h"
#include "core/util/memory_usage.h"
#include "core/util/system_memory.h"
#include "generation_service.h"
#include "request_pictures.h"

namespace latent::server {
namespace {

using api_server::FieldError;

constexpr const char* kJson = "application/json";

// Debian builds cpp-httplib with a listen backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG): a burst of
// clients connecting at once overflowed it (the kernel's ListenOverflows counter rose) and some
// of them lost their answer. The backlog is widened on the bound socket.
class HttpServer : public httplib::Server {
 public:
  void widenBacklog() { ::listen(svr_sock_, SOMAXCONN); }
};

// interrupt and skip carry no body, and clients post them without a Content-Length (curl -X
// POST): the library would wait for one until its read timeout. A content-reader handler reads
// (and drops) a body only when the request announces one.
using BodylessHandler = std::function<void(httplib::Response&)>;
httplib::Server::HandlerWithContentReader bodyless(BodylessHandler handler) {
  return [handler](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    if (req.has_header("Content-Length") || req.get_header_value("Transfer-Encoding") == "chunked")
      read([](const char*, size_t) { return true; });
    handler(res);
  };
}

QString qs(const std::string& text) { return QString::fromStdString(text); }

void sendJson(httplib::Response& res, const QJsonValue& value, int status = 200) {
  const QByteArray body = value.isArray() ? QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact)
                                          : QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact);
  res.status = status;
  res.set_content(body.toStdString(), kJson);
}

void sendError(httplib::Response& res, int status, const std::string& kind, const std::string& detail,
               const std::string& field = "") {
  res.status = status;
  res.set_content(api_server::error_body(kind, detail, field).toStdString(), kJson);
}

// The credentials compared in time that depends on neither their content nor their length:
// both sides are hashed first, then every byte of the digests is compared.
bool sameSecret(const QByteArray& given, const QByteArray& expected) {
  const QByteArray a = QCryptographicHash::hash(given, QCryptographicHash::Sha256);
  const QByteArray b = QCryptographicHash::hash(expected, QCryptographicHash::Sha256);
  unsigned char difference = 0;
  for (qsizetype i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

bool authorized(const httplib::Request& req, const std::string& credentials) {
  const std::string header = req.get_header_value("Authorization");
  const std::string scheme = "Basic ";
  if (header.compare(0, scheme.size(), scheme) != 0) return false;
  const auto decoded = QByteArray::fromBase64Encoding(QByteArray::fromStdString(header.substr(scheme.size())),
                                                      QByteArray::AbortOnBase64DecodingErrors);
  return decoded && sameSecret(decoded.decoded, QByteArray::fromStdString(credentials));
}

const char* reasonFor(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 422: return "Unprocessable Entity";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

std::string loraName(const QFileInfo& file) { return file.completeBaseName().toStdString(); }

}  // namespace

bool isLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

struct WebuiServer::Impl {
  ServerSettings settings;
  GenerationService service;
  HttpServer http;
  std::mutex modelMutex;
  ModelEntry current;  // under modelMutex
  std::once_flag stopOnce;

  explicit Impl(ServerSettings s) : settings(std::move(s)), service(settings.queueLimit) {}

  api::LoadOptions loadOptionsFor(const ModelEntry& entry) {
    api::LoadOptions options = settings.model;
    options.model_path = entry.path;
    return options;
  }

  // A model by the names clients use: its title, "title [hash]", its file name or path.
  const ModelEntry* findModel(const std::string& name) const {
    std::string bare = name;
    const auto bracket = bare.rfind(" [");
    if (bracket != std::string::npos && !bare.empty() && bare.back() == ']') bare.resize(bracket);
    for (const ModelEntry& entry : settings.models)
      if (entry.title == bare || entry.path == name || QFileInfo(qs(entry.path)).fileName().toStdString() == bare)
        return &entry;
    return nullptr;
  }

  ModelEntry currentModel() {
    std::lock_guard lock(modelMutex);
    return current;
  }

  void routes();
  void generation(const httplib::Request& req, httplib::Response& res, api_server::Endpoint endpoint);
  void progress(const httplib::Request& req, httplib::Response& res);
  void setOptions(const httplib::Request& req, httplib::Response& res);
  QJsonObject options();
  QJsonArray loras() const;
  QJsonObject memory() const;
  void answerOutcome(httplib::Response& res, const std::optional<JobOutcome>& outcome);
};

void WebuiServer::Impl::routes() {
  const std::string api = "/sdapi/v1/";
  http.Post(api + "txt2img", [this](const httplib::Request& req, httplib::Response& res) {
    generation(req, res, api_server::Endpoint::txt2img);
  });
  http.Post(api + "img2img", [this](const httplib::Request& req, httplib::Response& res) {
    generation(req, res, api_server::Endpoint::img2img);
  });
  http.Get(api + "progress", [this](const httplib::Request& req, httplib::Response& res) { progress(req, res); });
  http.Post(api + "interrupt", bodyless([this](httplib::Response& res) {
    service.interrupt();
    sendJson(res, QJsonObject());
  }));
  http.Post(api + "skip", bodyless([this](httplib::Response& res) {
    service.skip();
    sendJson(res, QJsonObject());
  }));
  http.Get(api + "options", [this](const httplib::Request&, httplib::Response& res) { sendJson(res, options()); });
  http.Post(api + "options", [this](const httplib::Request& req, httplib::Response& res) { setOptions(req, res); });
  http.Get(api + "sd-models", [this](const httplib::Request&, httplib::Response& res) {
    QJsonArray list;
    for (const ModelEntry& entry : settings.models)
      list.append(QJsonObject{{"title", qs(entry.title)}, {"model_name", qs(entry.title)}, {"hash", QJsonValue::Null},
                              {"sha256", QJsonValue::Null}, {"filename", qs(entry.path)}, {"config", QJsonValue::Null}});
    sendJson(res, list);
  });
  http.Post(api + "refresh-checkpoints", [](const httplib::Request&, httplib::Response& res) { sendJson(res, QJsonObject()); });
  http.Get(api + "samplers", [](const httplib::Request&, httplib::Response& res) {
    sendJson(res, api_server::samplers_response(pipeline::sampler_names()));
  });
  http.Get(api + "schedulers", [](const httplib::Request&, httplib::Response& res) {
    sendJson(res, api_server::schedulers_response());
  });
  http.Get(api + "loras", [this](const httplib::Request&, httplib::Response& res) { sendJson(res, loras()); });
  http.Post(api + "refresh-loras", [](const httplib::Request&, httplib::Response& res) { sendJson(res, QJsonObject()); });
  http.Post(api + "png-info", [this](const httplib::Request& req, httplib::Response& res) {
    try {
      const QJsonObject body = api_server::parse_json_object(QByteArray::fromStdString(req.body));
      if (!body.contains("image")) throw FieldError("image", "send the picture as base64");
      const auto png = api_server::decode_base64_field(body.value("image"), "image", settings.limits.max_image_bytes);
      sendJson(res, api_server::png_info_response(png));
    } catch (const FieldError& e) {
      sendError(res, e.field().empty() ? 400 : 422, reasonFor(e.field().empty() ? 400 : 422), e.what(), e.field());
    }
  });
  http.Get(api + "memory", [this](const httplib::Request&, httplib::Response& res) { sendJson(res, memory()); });
}

void WebuiServer::Impl::generation(const httplib::Request& req, httplib::Response& res,
                                   api_server::Endpoint endpoint) {
  ServerJob job;
  api_server::GenerationAnswer answer;
  try {
    api_server::WebuiRequest parsed =
        api_server::parse_webui_request(QByteArray::fromStdString(req.body), endpoint, settings.limits);
    ModelEntry model = currentModel();
    if (!parsed.model_title.empty()) {
      const ModelEntry* entry = findModel(parsed.model_title);
      if (!entry)
        throw FieldError("override_settings.sd_model_checkpoint",
                         "no model '" + parsed.model_title + "' (GET /sdapi/v1/sd-models lists them)");
      model = *entry;
    }
    if (endpoint == api_server::Endpoint::img2img) job.keepAlive = attachPictures(parsed, settings.maxPictureSide);
    api::GenerationRequest& request = parsed.request;
    request.loras.folder = settings.loraDir;
    request.embeddings_dir = settings.embeddingsDir;
    // Cheap previews every step for /progress; they read the denoised estimate and leave
    // the result untouched.
    request.preview.approximate = true;
    request.preview.vae_every = 0;
    if (parsed.random_seed) request.sampling.seed = std::random_device{}() & 0xFFFFFFFFu;
    if (!parsed.sampler_given) request.sampling.sampler.clear();  // the model's own, else Euler
    // What needs no model is checked before queueing; the rest once the model is loaded.
    try {
      pipeline::validate_image_request(request);
      api::GenerationRequest check = request;
      if (check.size.width == 0) check.size.width = check.size.height = 512;
      if (check.sampling.sampler.empty()) check.sampling.sampler = "euler";
      pipeline::validate_request(check);
    } catch (const FieldError&) {
      throw;
    } catch (const Error& e) {
      throw FieldError("request", e.what());
    }
    job.model = loadOptionsFor(model);
    for (int k = 0; k < parsed.n_iter; ++k) {
      api::GenerationRequest run = request;
      // Each batch from the next seed, as the web UI counts seeds on per image.
      run.sampling.seed = request.sampling.seed + static_cast<uint64_t>(k) * request.size.batch_size;
      job.runs.push_back(std::move(run));
    }
    answer.model = job.model;
    answer.parameters = parsed.parameters;
    answer.send_images = parsed.send_images;
  } catch (const FieldError& e) {
    // A body that is not a JSON object is malformed (400); a field that cannot be honoured
    // is unprocessable (422), as the web UI's validation answers.
    const bool malformed = e.field().empty();
    sendError(res, malformed ? 400 : 422, reasonFor(malformed ? 400 : 422), e.what(), e.field());
    return;
  } catch (const Error& e) {
    sendError(res, 500, reasonFor(500), e.what());
    return;
  }
  const std::optional<JobOutcome> outcome = service.run(std::move(job));
  // An interrupted job answers 200 with the runs that finished before it, as the web UI does.
  const bool answered = outcome && (outcome->status == JobOutcome::Status::finished ||
                                    outcome->status == JobOutcome::Status::interrupted);
  if (!answered) return answerOutcome(res, outcome);
  answer.runs = outcome->results;
  answer.interrupted = outcome->status == JobOutcome::Status::interrupted;
  answer.job_timestamp = outcome->jobTimestamp;
  // The pictures were temporary files: the metadata names where they came from instead.
  for (api::GenerationResult& run : answer.runs) {
    if (!run.request.init.path.empty()) run.request.init.path = "init_images[0]";
    if (!run.request.mask.path.empty()) run.request.mask.path = "mask";
  }
  sendJson(res, api_server::generation_response(answer));
}

void WebuiServer::Impl::answerOutcome(httplib::Response& res, const std::optional<JobOutcome>& outcome) {
  if (!outcome) {
    res.set_header("Retry-After", "5");
    return sendError(res, 503, reasonFor(503),
                     "the queue is full (" + std::to_string(settings.queueLimit) + " jobs waiting); try again later");
  }
  switch (outcome->status) {
    case JobOutcome::Status::refused: return sendError(res, 422, reasonFor(422), outcome->message);
    case JobOutcome::Status::shutDown: return sendError(res, 503, reasonFor(503), outcome->message);
    case JobOutcome::Status::failed: return sendError(res, 500, reasonFor(500), outcome->message);
    default: return sendJson(res, QJsonObject());
  }
}

void WebuiServer::Impl::progress(const httplib::Request& req, httplib::Response& res) {
  const ProgressSnapshot p = service.progress();
  const double runs = std::max(1, p.runs);
  const double withinRun = p.totalSteps > 0 ? static_cast<double>(p.step) / p.totalSteps : 0.0;
  const double fraction = p.busy ? std::min(1.0, (p.run + withinRun) / runs) : 0.0;
  const QJsonObject state{{"skipped", p.skipped},
                          {"interrupted", p.interrupted},
                          {"stopping_generation", false},
                          {"job", p.busy ? QString("job") : QString()},
                          {"job_count", (p.busy ? 1 : 0) + p.waiting},
                          {"job_timestamp", qs(p.jobTimestamp)},
                          {"job_no", p.run},
                          {"sampling_step", p.step},
                          {"sampling_steps", p.totalSteps},
                          {"queued", p.waiting}};
  const bool skipImage = req.get_param_value("skip_current_image") == "true";
  QJsonValue image;
  if (p.busy && p.preview && !skipImage) image = QString::fromLatin1(api_server::preview_base64(*p.preview));
  sendJson(res, QJsonObject{{"progress", fraction},
                            {"eta_relative", p.busy ? p.secondsLeft : 0.0},
                            {"state", state},
                            {"current_image", image},
                            {"textinfo", QJsonValue::Null},
                            {"current_task", QJsonValue::Null}});
}

QJsonObject WebuiServer::Impl::options() {
  const ModelEntry model = currentModel();
  return {{"sd_model_checkpoint", qs(model.title)},
          {"sd_checkpoint_hash", QJsonValue::Null},
          {"CLIP_stop_at_last_layers", 1},
          {"samples_format", "png"},
          {"live_previews_enable", true},
          {"show_progress_every_n_steps", 1}};
}

void WebuiServer::Impl::setOptions(const httplib::Request& req, httplib::Response& res) {
  QJsonObject body;
  try {
    body = api_server::parse_json_object(QByteArray::fromStdString(req.body));
  } catch (const FieldError& e) {
    return sendError(res, 400, reasonFor(400), e.what());
  }
  // Options the engine has no use for are accepted and ignored, as the web UI keeps them.
  if (!body.contains("sd_model_checkpoint")) return sendJson(res, QJsonObject());
  const QJsonValue value = body.value("sd_model_checkpoint");
  const ModelEntry* entry = value.isString() ? findModel(value.toString().toStdString()) : nullptr;
  if (!entry)
    return sendError(res, 422, reasonFor(422),
                     "sd_model_checkpoint: no model " +
                         QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact).toStdString() +
                         " (GET /sdapi/v1/sd-models lists them)",
                     "sd_model_checkpoint");
  // The switch waits its turn in the queue, so that it never changes a running job's model.
  ServerJob job;
  job.model = loadOptionsFor(*entry);
  const std::optional<JobOutcome> outcome = service.run(std::move(job));
  if (!outcome || outcome->status != JobOutcome::Status::finished) return answerOutcome(res, outcome);
  {
    std::lock_guard lock(modelMutex);
    current = *entry;
  }
  sendJson(res, QJsonObject());
}

QJsonArray WebuiServer::Impl::loras() const {
  QJsonArray list;
  if (settings.loraDir.empty()) return list;
  const QDir dir(qs(settings.loraDir));
  for (const QFileInfo& file : dir.entryInfoList({"*.safetensors"}, QDir::Files, QDir::Name))
    list.append(QJsonObject{{"name", qs(loraName(file))},
                            {"alias", qs(loraName(file))},
                            {"path", file.absoluteFilePath()},
                            {"metadata", QJsonObject()}});
  return list;
}

QJsonObject WebuiServer::Impl::memory() const {
  const double pageSize = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double total = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * pageSize;
  const double used = static_cast<double>(util::resident_bytes());
  const util::AvailableMemory available = util::available_memory();
  const QJsonObject ram{{"free", available.bytes >= 0 ? static_cast<double>(available.bytes) : total - used},
                        {"used", used},
                        {"total", total}};
  QJsonObject cuda{{"error", "the server runs on the CPU"}};
  if (settings.model.device == "cuda") cuda = QJsonObject{{"error", "figures for CUDA memory are not reported yet"}};
  return {{"ram", ram}, {"cuda", cuda}};
}

WebuiServer::WebuiServer(ServerSettings settings) : m_impl(std::make_unique<Impl>(std::move(settings))) {
  const ServerSettings& s = m_impl->settings;
  if (!isLoopback(s.host) && s.credentials.empty())
    throw Error("--listen " + s.host + " is reachable from other machines: give --api-auth USER:PASS with it");
  if (!s.credentials.empty() && s.credentials.find(':') == std::string::npos)
    throw Error("--api-auth must be USER:PASS");
  // Each waiting job holds a thread of the pool (below): the queue stays short.
  if (s.queueLimit < 1 || s.queueLimit > 256) throw Error("--queue-limit must be 1 to 256");
  if (s.models.empty()) throw Error("the server needs a model");
  m_impl->current = s.models.front();
  httplib::Server& http = m_impl->http;
  // Threads: every waiting job holds one (its client waits for its picture), and every
  // open connection holds one while it is kept alive; the rest answer progress and lists.
  const std::size_t threads = static_cast<std::size_t>(s.queueLimit) + 1 + 32;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(s.maxBodyBytes);
  http.set_read_timeout(10);
  http.set_write_timeout(30);
  http.set_keep_alive_timeout(2);
  http.set_keep_alive_max_count(100);
  const std::string credentials = s.credentials;
  http.set_pre_routing_handler([credentials](const httplib::Request& req, httplib::Response& res) {
    if (credentials.empty() || authorized(req, credentials)) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Basic realm=\"Latent Studio\"");
    sendError(res, 401, reasonFor(401), "this server needs a user name and password (HTTP basic authentication)");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Every error answer is JSON, also those the library makes (404, 413, 400).
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string detail = res.status == 404   ? "no endpoint " + req.method + " " + req.path
                               : res.status == 413 ? "the request body is larger than the server's limit"
                                                   : reasonFor(res.status);
    sendError(res, res.status, reasonFor(res.status), detail);
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
    std::string detail = "internal error";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      detail = e.what();
    } catch (...) {
    }
    sendError(res, 500, reasonFor(500), detail);
  });
  m_impl->routes();
}

WebuiServer::~WebuiServer() { stop(); }

void WebuiServer::loadModel() {
  ServerJob job;
  job.model = m_impl->loadOptionsFor(m_impl->settings.models.front());
  const std::optional<JobOutcome> outcome = m_impl->service.run(std::move(job));
  if (outcome && outcome->status != JobOutcome::Status::finished) throw Error(outcome->message);
}

int WebuiServer::bind() {
  const ServerSettings& s = m_impl->settings;
  const int port = s.port == 0 ? m_impl->http.bind_to_any_port(s.host)
                               : (m_impl->http.bind_to_port(s.host, s.port) ? s.port : -1);
  if (port <= 0)
    throw Error("cannot listen on " + s.host + " port " + std::to_string(s.port) +
                ": the address is not this machine's or the port is taken");
  m_impl->http.widenBacklog();
  return port;
}

bool WebuiServer::serve() { return m_impl->http.listen_after_bind(); }

void WebuiServer::stop() {
  std::call_once(m_impl->stopOnce, [this] {
    // The jobs first: their handlers then answer (503) and the pool's threads come free.
    m_impl->service.shutDown();
    m_impl->http.stop();
  });
}

}  // namespace latent::server
