// `latentstudio-cli serve` over HTTP, as clients written for the web UI's API talk to it:
// txt2img and img2img give the pixels `generate` gives, progress shows a preview, interrupt
// and skip stop what they should, options switch the model, the lists and png-info answer
// in the web UI's shapes, and every bad request is a 4xx JSON error naming its field.
#include <QtTest/QtTest>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/server/server_process.h"
#include "tests/support/cli_process.h"

using namespace latent;
using test::Answer;
using test::BackgroundPost;
using test::get;
using test::info_of;
using test::json_object;
using test::json_text;
using test::post;

namespace {

QByteArray base64_of_file(const QString& path) {
  QFile file(path);
  return file.open(QIODevice::ReadOnly) ? file.readAll().toBase64() : QByteArray();
}

QByteArray decode_image(const QJsonValue& base64) { return QByteArray::fromBase64(base64.toString().toLatin1()); }

cv::Mat pixels(const QByteArray& png) {
  const std::vector<unsigned char> bytes(png.begin(), png.end());
  return cv::imdecode(bytes, cv::IMREAD_COLOR);
}

bool same_pixels(const cv::Mat& a, const cv::Mat& b) {
  return !a.empty() && a.size() == b.size() && a.type() == b.type() && cv::countNonZero(a.reshape(1) != b.reshape(1)) == 0;
}

// A long request (many steps) that the tests stop with /interrupt.
const char* kLong = R"({"prompt": "a long one", "steps": 150, "width": 64, "height": 64, "seed": 3})";

// Polls /progress until `ready` says so; false after two minutes (a loaded machine is slow).
template <typename Ready>
bool wait_for_progress(httplib::Client& client, Ready ready) {
  for (int i = 0; i < 1200; ++i) {
    const Answer p = get(client, "/sdapi/v1/progress");
    if (p.status == 200 && ready(p.body)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace

class TstServerApi : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir m_dir;
  std::unique_ptr<test::ServerProcess> m_server;
  std::unique_ptr<httplib::Client> m_client;
  QString m_txt2imgPng;  // written by txt2imgMatchesGenerate, the next tests read it

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    // A second model to switch to: the tiny model under another name.
    QVERIFY(QDir().mkpath(m_dir.filePath("models")));
    QVERIFY(QFile::link(test::tiny_model(), m_dir.filePath("models/second")));
    m_server = std::make_unique<test::ServerProcess>(
        QStringList{"--queue-limit", "1", "--models-dir", m_dir.filePath("models"), "--lora-dir",
                    LATENT_TEST_DATA "/lora", "--max-body-mb", "1"});
    QVERIFY2(m_server->port() > 0, qPrintable(m_server->error()));
    m_client = m_server->client();
  }

  void txt2imgMatchesGenerate() {
    const Answer a = post(*m_client, "/sdapi/v1/txt2img",
                          R"({"prompt": "a red cube", "negative_prompt": "blurry", "steps": 4, "width": 64,
                              "height": 64, "seed": 11, "sampler_name": "Euler a", "cfg_scale": 7.5})");
    QCOMPARE(a.status, 200);
    const QJsonArray images = a.body.value("images").toArray();
    QCOMPARE(images.size(), 1);
    const QJsonObject info = info_of(a.body);
    QCOMPARE(info.value("seed").toInteger(), 11);
    QCOMPARE(info.value("all_seeds").toArray().size(), 1);
    QCOMPARE(info.value("sampler_name").toString(), QString("Euler a"));
    QCOMPARE(info.value("sd_model_name").toString(), QString("tiny-sd"));
    QVERIFY(info.value("infotexts").toArray().at(0).toString().contains("Seed: 11"));
    QCOMPARE(a.body.value("parameters").toObject().value("prompt").toString(), QString("a red cube"));

    m_txt2imgPng = m_dir.filePath("generate.png");
    const test::CliRun run = test::run_cli({"generate", "--model", test::tiny_model(), "--prompt", "a red cube",
                                            "--negative", "blurry", "--steps", "4", "--width", "64", "--height",
                                            "64", "--seed", "11", "--sampler", "euler_a", "--guidance", "7.5",
                                            "--out", m_txt2imgPng});
    QVERIFY2(run.exit_code == 0, qPrintable(run.err));
    QFile file(m_txt2imgPng);
    QVERIFY(file.open(QIODevice::ReadOnly));
    // The same file, metadata included, byte for byte.
    QCOMPARE(decode_image(images.at(0)), file.readAll());
  }

  void batchesCountSeedsOn() {
    const Answer a = post(*m_client, "/sdapi/v1/txt2img",
                          R"({"prompt": "x", "steps": 1, "width": 64, "height": 64, "seed": 20, "batch_size": 2,
                              "n_iter": 2, "send_images": true})");
    QCOMPARE(a.status, 200);
    QCOMPARE(a.body.value("images").toArray().size(), 4);
    const QJsonArray seeds = info_of(a.body).value("all_seeds").toArray();
    QCOMPARE(seeds.size(), 4);
    QCOMPARE(seeds.at(0).toInteger(), 20);
    QCOMPARE(seeds.at(2).toInteger(), 22);  // the second batch from seed + batch_size
    const Answer random = post(*m_client, "/sdapi/v1/txt2img",
                               R"({"prompt": "x", "steps": 1, "width": 64, "height": 64, "seed": -1,
                                   "send_images": false})");
    QCOMPARE(random.status, 200);
    QVERIFY(random.body.value("images").toArray().isEmpty());
    QVERIFY(info_of(random.body).value("seed").toInteger() >= 0);
  }

  void img2imgWithMaskMatchesGenerate() {
    QVERIFY(!m_txt2imgPng.isEmpty());
    cv::Mat mask(64, 64, CV_8UC1, cv::Scalar(0));
    cv::rectangle(mask, cv::Rect(16, 16, 32, 32), cv::Scalar(255), cv::FILLED);
    const QString maskPath = m_dir.filePath("mask.png");
    QVERIFY(cv::imwrite(maskPath.toStdString(), mask));
    QJsonObject request{{"prompt", "a blue cube"},  {"steps", 4},         {"seed", 5},
                        {"sampler_name", "Euler"},  {"cfg_scale", 7.5},  {"denoising_strength", 0.6},
                        {"mask_blur", 4},           {"width", 64},        {"height", 64},
                        {"init_images", QJsonArray{QString::fromLatin1(base64_of_file(m_txt2imgPng))}},
                        {"mask", "data:image/png;base64," + QString::fromLatin1(base64_of_file(maskPath))}};
    const Answer a = post(*m_client, "/sdapi/v1/img2img", json_text(request));
    QVERIFY2(a.status == 200, a.raw.c_str());
    QCOMPARE(a.body.value("parameters").toObject().value("init_images"), QJsonValue(QJsonValue::Null));
    QCOMPARE(info_of(a.body).value("denoising_strength").toDouble(), 0.6);

    const QString out = m_dir.filePath("inpaint.png");
    const test::CliRun run = test::run_cli({"generate", "--model", test::tiny_model(), "--prompt", "a blue cube",
                                            "--steps", "4", "--seed", "5", "--sampler", "euler", "--guidance",
                                            "7.5", "--init-image", m_txt2imgPng, "--strength", "0.6", "--mask",
                                            maskPath, "--mask-blur", "4", "--width", "64", "--height", "64",
                                            "--out", out});
    QVERIFY2(run.exit_code == 0, qPrintable(run.err));
    QFile file(out);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QVERIFY(same_pixels(pixels(decode_image(a.body.value("images").toArray().at(0))), pixels(file.readAll())));
  }

  void progressShowsPreviewAndInterruptStops() {
    BackgroundPost longRun(*m_server, "/sdapi/v1/txt2img", kLong);
    QJsonObject seen;
    const bool previewing = wait_for_progress(*m_client, [&](const QJsonObject& p) {
      seen = p;
      return p.value("state").toObject().value("sampling_step").toInt() >= 2 && p.value("current_image").isString();
    });
    QVERIFY(previewing);
    QVERIFY(seen.value("progress").toDouble() > 0 && seen.value("progress").toDouble() < 1);
    QCOMPARE(seen.value("state").toObject().value("sampling_steps").toInt(), 150);
    QVERIFY(!pixels(decode_image(seen.value("current_image"))).empty());
    const Answer skipped = get(*m_client, "/sdapi/v1/progress?skip_current_image=true");
    QVERIFY(skipped.body.value("current_image").isNull());

    // As curl -X POST sends it: no body, no Content-Length.
    httplib::Request bare;
    bare.method = "POST";
    bare.path = "/sdapi/v1/interrupt";
    auto interrupted = m_client->send(bare);
    QVERIFY(interrupted && interrupted->status == 200);
    const Answer& stopped = longRun.answer();
    QCOMPARE(stopped.status, 200);
    QVERIFY(stopped.body.value("images").toArray().isEmpty());
    QCOMPARE(info_of(stopped.body).value("interrupted").toBool(), true);
    QVERIFY(wait_for_progress(*m_client, [](const QJsonObject& p) { return p.value("progress").toDouble() == 0; }));
  }

  void skipGoesOnWithTheNextRun() {
    BackgroundPost twoRuns(*m_server, "/sdapi/v1/txt2img",
                           R"({"prompt": "x", "steps": 150, "width": 64, "height": 64, "seed": 30, "n_iter": 2})");
    QVERIFY(wait_for_progress(*m_client, [](const QJsonObject& p) {
      return p.value("state").toObject().value("sampling_step").toInt() >= 1;
    }));
    QCOMPARE(post(*m_client, "/sdapi/v1/skip", "").status, 200);
    QVERIFY(wait_for_progress(*m_client, [](const QJsonObject& p) {
      return p.value("state").toObject().value("job_no").toInt() == 1 &&
             p.value("state").toObject().value("sampling_step").toInt() >= 1;
    }));
    QCOMPARE(post(*m_client, "/sdapi/v1/interrupt", "").status, 200);
    QCOMPARE(twoRuns.answer().status, 200);
    QCOMPARE(info_of(twoRuns.answer().body).value("interrupted").toBool(), true);
  }

  void fullQueueAnswers503() {
    BackgroundPost first(*m_server, "/sdapi/v1/txt2img", kLong);
    QVERIFY(wait_for_progress(*m_client, [](const QJsonObject& p) {  // running, the queue empty
      const QJsonObject state = p.value("state").toObject();
      return state.value("sampling_step").toInt() >= 1 && state.value("queued").toInt() == 0;
    }));
    BackgroundPost second(*m_server, "/sdapi/v1/txt2img",
                          R"({"prompt": "y", "steps": 1, "width": 64, "height": 64, "seed": 1})");
    QVERIFY(wait_for_progress(*m_client, [](const QJsonObject& p) {
      return p.value("state").toObject().value("queued").toInt() == 1;
    }));
    // The queue holds one (--queue-limit 1): the third is refused at once.
    const Answer third = post(*m_client, "/sdapi/v1/txt2img", R"({"prompt": "z", "steps": 1, "width": 64, "height": 64})");
    QCOMPARE(third.status, 503);
    QVERIFY(!third.retry_after.empty());
    QVERIFY(third.body.value("detail").toString().contains("queue"));
    QCOMPARE(post(*m_client, "/sdapi/v1/interrupt", "").status, 200);
    QCOMPARE(first.answer().status, 200);
    QCOMPARE(second.answer().status, 200);
    QCOMPARE(second.answer().body.value("images").toArray().size(), 1);
  }

  void optionsSwitchTheModel() {
    const QJsonArray models = test::json_array(get(*m_client, "/sdapi/v1/sd-models").raw);
    QCOMPARE(models.size(), 2);
    QCOMPARE(models.at(0).toObject().value("title").toString(), QString("tiny-sd"));
    QCOMPARE(models.at(1).toObject().value("model_name").toString(), QString("second"));
    QCOMPARE(get(*m_client, "/sdapi/v1/options").body.value("sd_model_checkpoint").toString(), QString("tiny-sd"));

    QCOMPARE(post(*m_client, "/sdapi/v1/options", R"({"sd_model_checkpoint": "second"})").status, 200);
    QCOMPARE(get(*m_client, "/sdapi/v1/options").body.value("sd_model_checkpoint").toString(), QString("second"));
    const Answer a = post(*m_client, "/sdapi/v1/txt2img", R"({"prompt": "x", "steps": 1, "width": 64, "height": 64})");
    QCOMPARE(info_of(a.body).value("sd_model_name").toString(), QString("second"));
    // One request on another model, by override_settings, leaves the current one as it is.
    const Answer other = post(*m_client, "/sdapi/v1/txt2img",
                              R"({"prompt": "x", "steps": 1, "width": 64, "height": 64,
                                  "override_settings": {"sd_model_checkpoint": "tiny-sd"}})");
    QCOMPARE(info_of(other.body).value("sd_model_name").toString(), QString("tiny-sd"));
    QCOMPARE(get(*m_client, "/sdapi/v1/options").body.value("sd_model_checkpoint").toString(), QString("second"));

    const Answer unknown = post(*m_client, "/sdapi/v1/options", R"({"sd_model_checkpoint": "nope"})");
    QCOMPARE(unknown.status, 422);
    QCOMPARE(unknown.body.value("field").toString(), QString("sd_model_checkpoint"));
    QCOMPARE(post(*m_client, "/sdapi/v1/options", R"({"sd_model_checkpoint": "tiny-sd"})").status, 200);
  }

  void listsAndPngInfo() {
    const QJsonArray samplers = test::json_array(get(*m_client, "/sdapi/v1/samplers").raw);
    bool eulerA = false;
    for (const QJsonValue& s : samplers)
      eulerA |= s.toObject().value("name") == "Euler a" && s.toObject().value("aliases").toArray().contains("euler_a");
    QVERIFY(eulerA);
    const QJsonArray schedulers = test::json_array(get(*m_client, "/sdapi/v1/schedulers").raw);
    QCOMPARE(schedulers.at(1).toObject().value("label").toString(), QString("Karras"));
    const QJsonArray loras = test::json_array(get(*m_client, "/sdapi/v1/loras").raw);
    QCOMPARE(loras.size(), 3);
    QCOMPARE(loras.at(0).toObject().value("name").toString(), QString("tiny-sd-lora-diffusers"));

    const QJsonObject request{{"image", QString::fromLatin1(base64_of_file(m_txt2imgPng))}};
    const Answer info = post(*m_client, "/sdapi/v1/png-info", json_text(request));
    QCOMPARE(info.status, 200);
    QVERIFY(info.body.value("info").toString().startsWith("a red cube\nNegative prompt: blurry\nSteps: 4"));
    const QJsonObject fields = info.body.value("parameters").toObject();
    QCOMPARE(fields.value("Steps").toString(), QString("4"));
    QCOMPARE(fields.value("Size-1").toString(), QString("64"));
    QCOMPARE(fields.value("Negative prompt").toString(), QString("blurry"));
    QVERIFY(info.body.value("items").toObject().contains("latentstudio"));

    const Answer memory = get(*m_client, "/sdapi/v1/memory");
    QVERIFY(memory.body.value("ram").toObject().value("total").toDouble() > 0);
    QVERIFY(memory.body.value("cuda").isObject());
  }

  void badRequestsAre4xxNamingTheField_data() {
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("body");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("field");
    const QString t = "/sdapi/v1/txt2img";
    const QString i = "/sdapi/v1/img2img";
    QTest::newRow("not JSON") << t << "{\"prompt\": " << 400 << "";
    QTest::newRow("not an object") << t << "[1, 2]" << 400 << "";
    QTest::newRow("steps not a number") << t << R"({"steps": "many"})" << 422 << "steps";
    QTest::newRow("steps 0") << t << R"({"steps": 0})" << 422 << "steps";
    QTest::newRow("steps fraction") << t << R"({"steps": 2.5})" << 422 << "steps";
    QTest::newRow("width not a multiple of 8") << t << R"({"width": 65, "height": 64})" << 422 << "width";
    QTest::newRow("height too large") << t << R"({"width": 64, "height": 100000})" << 422 << "height";
    QTest::newRow("unknown sampler") << t << R"({"sampler_name": "Nope"})" << 422 << "sampler_name";
    QTest::newRow("unknown sampler_index") << t << R"({"sampler_index": "Nope"})" << 422 << "sampler_index";
    QTest::newRow("unknown schedule") << t << R"({"sampler_name": "Euler", "scheduler": "Weird"})" << 422 << "scheduler";
    QTest::newRow("schedule the sampler lacks") << t << R"({"sampler_name": "DDIM", "scheduler": "Karras"})" << 422 << "scheduler";
    QTest::newRow("cfg huge") << t << R"({"cfg_scale": 1e300})" << 422 << "cfg_scale";
    QTest::newRow("seed below -1") << t << R"({"seed": -5})" << 422 << "seed";
    QTest::newRow("prompt not text") << t << R"({"prompt": 5})" << 422 << "prompt";
    QTest::newRow("too many images") << t << R"({"batch_size": 16, "n_iter": 16})" << 422 << "n_iter";
    QTest::newRow("face restoration") << t << R"({"restore_faces": true})" << 422 << "restore_faces";
    QTest::newRow("a script") << t << R"({"alwayson_scripts": {"controlnet": {}}})" << 422 << "alwayson_scripts";
    QTest::newRow("unknown model") << t << R"({"override_settings": {"sd_model_checkpoint": "x"}})" << 422
                                   << "override_settings.sd_model_checkpoint";
    QTest::newRow("clip skip 0") << t << R"({"override_settings": {"CLIP_stop_at_last_layers": 0}})" << 422
                                 << "override_settings.CLIP_stop_at_last_layers";
    QTest::newRow("no init image") << i << R"({"prompt": "x"})" << 422 << "init_images";
    QTest::newRow("init image not base64") << i << R"({"init_images": ["@@@"]})" << 422 << "init_images[0]";
    QTest::newRow("init image not a picture") << i << R"({"init_images": ["aGVsbG8="]})" << 422 << "init_images[0]";
    // A PNG whose header says 5000x5000: refused from the header, never decoded.
    QTest::newRow("init image too large") << i << R"({"init_images": ["iVBORw0KGgoAAAANSUhEUgAAE4gAABOICAIAAAA="]})"
                                          << 422 << "init_images[0]";
    QTest::newRow("strength over 1") << i << R"({"init_images": ["aGVsbG8="], "denoising_strength": 2})" << 422
                                     << "denoising_strength";
    QTest::newRow("mask not base64") << i << R"({"init_images": ["aGVsbG8="], "mask": 5})" << 422 << "mask";
    QTest::newRow("png-info without image") << "/sdapi/v1/png-info" << "{}" << 422 << "image";
  }

  void badRequestsAre4xxNamingTheField() {
    QFETCH(QString, path);
    QFETCH(QString, body);
    QFETCH(int, status);
    QFETCH(QString, field);
    const Answer a = post(*m_client, path.toStdString(), body.toStdString());
    QVERIFY2(a.status == status, a.raw.c_str());
    QVERIFY(!a.body.value("detail").toString().isEmpty());
    QCOMPARE(a.body.value("field").toString(), field);
  }

  void limitsOfTheProtocol() {
    const Answer big = post(*m_client, "/sdapi/v1/txt2img", std::string(2 << 20, ' '));  // --max-body-mb 1
    QCOMPARE(big.status, 413);
    QVERIFY(big.body.value("detail").toString().contains("limit"));
    const Answer missing = get(*m_client, "/sdapi/v1/nothing");
    QCOMPARE(missing.status, 404);
    QVERIFY(missing.body.value("detail").toString().contains("/sdapi/v1/nothing"));
    QCOMPARE(get(*m_client, "/sdapi/v1/progress").status, 200);  // still up
  }

  void authenticationAndAddresses() {
    test::ServerProcess secured({"--api-auth", "painter:s3cret"});
    QVERIFY2(secured.port() > 0, qPrintable(secured.error()));
    auto client = secured.client();
    auto res = client->Get("/sdapi/v1/options");
    QVERIFY(res);
    QCOMPARE(res->status, 401);
    QVERIFY(res->get_header_value("WWW-Authenticate").find("Basic") != std::string::npos);
    client->set_basic_auth("painter", "wrong");
    QCOMPARE(client->Get("/sdapi/v1/options")->status, 401);
    client->set_basic_auth("painter", "s3cret");
    QCOMPARE(client->Get("/sdapi/v1/options")->status, 200);

    // Reachable from other machines only with credentials.
    const test::CliRun open = test::run_cli({"serve", "--model", test::tiny_model(), "--listen", "0.0.0.0", "--port", "0"});
    QCOMPARE(open.exit_code, 1);
    QVERIFY2(open.err.contains("--api-auth"), qPrintable(open.err));
  }

  void stoppingMidGenerationAnswersAndExits() {
    test::ServerProcess server;
    QVERIFY2(server.port() > 0, qPrintable(server.error()));
    auto client = server.client();
    BackgroundPost longRun(server, "/sdapi/v1/txt2img", kLong);
    QVERIFY(wait_for_progress(*client, [](const QJsonObject& p) {
      return p.value("state").toObject().value("sampling_step").toInt() >= 1;
    }));
    QCOMPARE(server.stop(), 0);
    QCOMPARE(longRun.answer().status, 503);
    QVERIFY(longRun.answer().body.value("detail").toString().contains("shut down"));
  }

  void cleanupTestCase() {
    m_client.reset();
    if (m_server) QCOMPARE(m_server->stop(), 0);
  }
};

QTEST_GUILESS_MAIN(TstServerApi)
#include "tst_server_api.moc"
