// The server under load on loopback, as issue 23 sets it: 32 clients send 200 small requests
// in all while one generation runs, and every one is answered (200, or 503 from a full
// queue) once, none lost or mixed up; then 1,000 malformed bodies are each answered 4xx and
// the server is still up, its resident memory back within 50 MB of where it started.
#include <QtTest/QtTest>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "tests/server/server_process.h"

using namespace latent;

namespace {

constexpr int kClients = 32;
constexpr int kRequests = 200;
constexpr int kMalformed = 1000;

// A small txt2img whose seed names it, so that its answer can be told from the others'.
std::string small_generation(int id) {
  return R"({"prompt": "load", "steps": 1, "width": 64, "height": 64, "seed": )" + std::to_string(100000 + id) + "}";
}

// Bodies no request may be built from: broken JSON, wrong types, values out of range,
// pictures that are not pictures, a few random bytes.
std::string malformed_body(int i, std::mt19937& random) {
  switch (i % 8) {
    case 0: return "{\"prompt\": \"x\", \"steps\": ";
    case 1: return "[]";
    case 2: return R"({"steps": -1})";
    case 3: return R"({"width": 3, "height": 3})";
    case 4: return R"({"sampler_name": {"a": 1}})";
    case 5: return R"({"seed": "x", "cfg_scale": null})";
    case 6: return "\xff\xfe{\"prompt\"";
    default: {
      std::string bytes(1 + random() % 512, '\0');
      for (char& c : bytes) c = static_cast<char>(random());
      return bytes;
    }
  }
}

}  // namespace

class TstServerLoad : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void manyClientsWhileOneGenerationRuns() {
    test::ServerProcess server({"--queue-limit", "4"});
    QVERIFY2(server.port() > 0, qPrintable(server.error()));
    auto control = server.client();
    // Warm: the model loads with the first job; memory is measured from here.
    auto warm = control->Post("/sdapi/v1/txt2img", small_generation(-1), "application/json");
    QVERIFY(warm && warm->status == 200);
    const int64_t rssStart = server.rss_bytes();
    QVERIFY(rssStart > 0);

    test::BackgroundPost generation(server, "/sdapi/v1/txt2img",
                                    R"({"prompt": "the long one", "steps": 150, "width": 128, "height": 128, "seed": 1})");
    for (int i = 0; i < 1200; ++i) {  // until it runs (two minutes at most)
      auto p = control->Get("/sdapi/v1/progress");
      const QJsonObject state = p ? test::json_object(p->body).value("state").toObject() : QJsonObject();
      if (state.value("job_count").toInt() == 1 && state.value("sampling_step").toInt() >= 1) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }

    // 200 requests from 32 clients: every fourth a small generation, the rest progress and lists.
    std::atomic<int> next{0};
    std::atomic<int> done{0};
    std::mutex mutex;
    std::vector<int> statuses(kRequests, 0);
    std::vector<std::string> errors(kRequests);  // why a request got no answer
    std::multiset<qint64> answeredSeeds;
    std::set<qint64> acceptedSeeds;
    const char* reads[] = {"/sdapi/v1/progress", "/sdapi/v1/samplers", "/sdapi/v1/options", "/sdapi/v1/sd-models"};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&] {
        auto client = server.client(300);
        for (int id = next++; id < kRequests; id = next++) {
          const auto t0 = std::chrono::steady_clock::now();
          httplib::Result res = id % 4 == 0 ? client->Post("/sdapi/v1/txt2img", small_generation(id), "application/json")
                                            : client->Get(reads[id % 4]);
          std::lock_guard lock(mutex);
          ++done;
          statuses[id] = res ? res->status : -1;
          if (!res) errors[id] = httplib::to_string(res.error()) + " after " + std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          if (res && res->status == 200 && id % 4 == 0) {
            const QJsonObject info = test::info_of(test::json_object(res->body));
            answeredSeeds.insert(info.value("seed").toInteger());
            acceptedSeeds.insert(100000 + id);
          }
        }
      });
    }
    // Generations queue behind the long one: once every other request is answered, the long
    // one is interrupted, and those that waited run.
    for (int i = 0; i < 3000 && done < kRequests; ++i) {
      auto p = control->Get("/sdapi/v1/progress");
      const int queued = p ? test::json_object(p->body).value("state").toObject().value("queued").toInt() : 0;
      if (next >= kRequests && done + queued >= kRequests) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    control->Post("/sdapi/v1/interrupt", "", "application/json");
    for (std::thread& t : clients) t.join();
    QCOMPARE(generation.answer().status, 200);

    int ok = 0, busy = 0;
    for (int id = 0; id < kRequests; ++id) {
      if (statuses[id] == 200) ++ok;
      else if (statuses[id] == 503 && id % 4 == 0) ++busy;  // only generations may find the queue full
      else QFAIL(qPrintable(QString("request %1 was answered %2 %3").arg(id).arg(statuses[id]).arg(errors[id].c_str())));
    }
    QCOMPARE(ok + busy, kRequests);
    // Each accepted generation came back once, with its own seed.
    QCOMPARE(std::set<qint64>(answeredSeeds.begin(), answeredSeeds.end()), acceptedSeeds);
    QCOMPARE(answeredSeeds.size(), acceptedSeeds.size());
    qInfo("%d answered 200, %d generations answered 503 (queue full)", ok, busy);

    // 1,000 malformed bodies from 8 clients, each answered 4xx.
    std::atomic<int> bad{0}, wrong{0};
    std::vector<std::thread> senders;
    for (int c = 0; c < 8; ++c) {
      senders.emplace_back([&, c] {
        auto client = server.client();
        std::mt19937 random(c);
        for (int i = bad++; i < kMalformed; i = bad++) {
          const char* path = i % 2 ? "/sdapi/v1/img2img" : "/sdapi/v1/txt2img";
          auto res = client->Post(path, malformed_body(i, random), "application/json");
          if (!res || res->status < 400 || res->status >= 500) ++wrong;
        }
      });
    }
    for (std::thread& t : senders) t.join();
    QCOMPARE(wrong.load(), 0);
    auto alive = control->Get("/sdapi/v1/progress");
    QVERIFY(alive && alive->status == 200);
    QVERIFY(server.running());

    const int64_t rssEnd = server.rss_bytes();
    qInfo("resident memory: %lld MB at the start, %lld MB after", static_cast<long long>(rssStart >> 20),
          static_cast<long long>(rssEnd >> 20));
    QVERIFY2(rssEnd - rssStart < (50LL << 20), "the server's memory grew by more than 50 MB");
    QCOMPARE(server.stop(), 0);
  }
};

QTEST_GUILESS_MAIN(TstServerLoad)
#include "tst_server_load.moc"
