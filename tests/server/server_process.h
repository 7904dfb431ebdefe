#pragma once

// The real server for the tests/server suites: `latentstudio-cli serve` started as a user
// starts it (on a free loopback port), with an HTTP client for it. LATENT_CLI_PATH is the
// binary's path, defined for these suites in tests/CMakeLists.txt.

#include <httplib.h>

#include <QByteArray>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QString>
#include <QStringList>

#include <signal.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace latent::test {

inline QString tiny_model() { return QStringLiteral(LATENT_TEST_DATA "/tiny-sd"); }

// The server's environment. In a sanitized build AddressSanitizer keeps up to 256 MB of
// freed memory in quarantine, to catch use after free, which the memory checks would count
// as growth; a quarantine of 16 MB still catches a use soon after the free and lets the
// resident memory show what the server itself keeps. (No effect without the sanitizer.)
inline QProcessEnvironment server_environment() {
  QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
  const QString asan = environment.value("ASAN_OPTIONS");
  if (!asan.isEmpty() && !asan.contains("quarantine_size_mb"))
    environment.insert("ASAN_OPTIONS", asan + ":quarantine_size_mb=16");
  return environment;
}

class ServerProcess {
 public:
  // Starts the server on the tiny model with `arguments` added, and waits (up to a minute)
  // until it says where it listens.
  explicit ServerProcess(const QStringList& arguments = {}) {
    m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);  // its messages in the test's log
    m_process.setProcessEnvironment(server_environment());
    m_process.start(QStringLiteral(LATENT_CLI_PATH),
                    QStringList{"serve", "--model", tiny_model(), "--port", "0"} + arguments);
    const QRegularExpression listening("listening on http://[^:]+:(\\d+)");
    QByteArray out;
    while (m_process.waitForReadyRead(60000)) {
      out += m_process.readAllStandardOutput();
      const auto match = listening.match(QString::fromUtf8(out));
      if (match.hasMatch()) {
        m_port = match.captured(1).toInt();
        return;
      }
    }
    m_error = "the server did not say where it listens (its messages are above)";
  }
  ~ServerProcess() {
    if (m_process.state() != QProcess::NotRunning) stop();
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return m_port; }
  QString error() const { return m_error; }
  qint64 pid() const { return m_process.processId(); }

  // Resident memory of the server process, from /proc.
  int64_t rss_bytes() const {
    QFile status(QString("/proc/%1/status").arg(pid()));
    if (!status.open(QIODevice::ReadOnly)) return -1;
    for (const QByteArray& line : status.readAll().split('\n'))
      if (line.startsWith("VmRSS:")) return line.mid(6).trimmed().split(' ').first().toLongLong() * 1024;
    return -1;
  }

  bool running() const { return m_process.state() == QProcess::Running; }

  // SIGTERM, as a service manager or Ctrl+C stops it; the exit code, or -1 when it did not
  // stop within `timeout_ms`.
  int stop(int timeout_ms = 60000) {
    ::kill(static_cast<pid_t>(m_process.processId()), SIGTERM);
    if (!m_process.waitForFinished(timeout_ms)) {
      m_process.kill();
      m_process.waitForFinished();
      return -1;
    }
    return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
  }

  std::unique_ptr<httplib::Client> client(int read_timeout_s = 120) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", m_port);
    c->set_read_timeout(read_timeout_s, 0);
    c->set_connection_timeout(10, 0);
    return c;
  }

 private:
  QProcess m_process;
  int m_port = 0;
  QString m_error;
};

inline QJsonObject json_object(const std::string& body) {
  return QJsonDocument::fromJson(QByteArray::fromStdString(body)).object();
}

inline QJsonArray json_array(const std::string& body) {
  return QJsonDocument::fromJson(QByteArray::fromStdString(body)).array();
}

inline std::string json_text(const QJsonObject& object) {
  return QJsonDocument(object).toJson(QJsonDocument::Compact).toStdString();
}

// The "info" of a txt2img or img2img answer (a JSON text inside the JSON).
inline QJsonObject info_of(const QJsonObject& answer) {
  return QJsonDocument::fromJson(answer.value("info").toString().toUtf8()).object();
}

struct Answer {
  int status = -1;  // -1: no answer at all
  QJsonObject body;
  std::string raw;
  std::string retry_after;
};

inline Answer answer_of(const httplib::Result& res) {
  Answer a;
  if (res) {
    a.status = res->status;
    a.raw = res->body;
    a.body = json_object(res->body);
    a.retry_after = res->get_header_value("Retry-After");
  }
  return a;
}

inline Answer post(httplib::Client& client, const std::string& path, const std::string& body) {
  return answer_of(client.Post(path.c_str(), body, "application/json"));
}

inline Answer get(httplib::Client& client, const std::string& path) { return answer_of(client.Get(path.c_str())); }

// A request sent from a thread of its own, for the tests that act while it waits. When a
// test ends early (a failed check returns), the server is told to interrupt and the thread
// is joined, so that no thread outlives its test.
class BackgroundPost {
 public:
  BackgroundPost(const ServerProcess& server, std::string path, std::string body) : m_server(server) {
    m_thread = std::thread([this, path = std::move(path), body = std::move(body)] {
      auto client = m_server.client(600);
      m_answer = post(*client, path, body);
    });
  }
  ~BackgroundPost() {
    if (!m_thread.joinable()) return;
    auto client = m_server.client();
    post(*client, "/sdapi/v1/interrupt", "");
    m_thread.join();
  }
  BackgroundPost(const BackgroundPost&) = delete;
  BackgroundPost& operator=(const BackgroundPost&) = delete;

  // Waits for the answer.
  const Answer& answer() {
    if (m_thread.joinable()) m_thread.join();
    return m_answer;
  }

 private:
  const ServerProcess& m_server;
  std::thread m_thread;
  Answer m_answer;
};

}  // namespace latent::test
