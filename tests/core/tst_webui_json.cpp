// The web UI's API JSON (core/api_server) without a server: requests read into a
// GenerationRequest with the web UI's defaults and names, and answers written in its shapes.
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>

#include "core/api_server/webui_request.h"
#include "core/api_server/webui_response.h"
#include "core/image/png_metadata.h"

using namespace latent;
using api_server::Endpoint;
using api_server::FieldError;
using api_server::parse_webui_request;

namespace {

// The field a body is refused for; "(accepted)" when it is not.
QString refused_field(const QByteArray& body, Endpoint endpoint = Endpoint::txt2img) {
  try {
    parse_webui_request(body, endpoint);
  } catch (const FieldError& e) {
    return QString::fromStdString(e.field());
  }
  return "(accepted)";
}

}  // namespace

class TstWebuiJson : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void defaultsAreTheWebUisAndNullKeepsThem() {
    const auto r = parse_webui_request(R"({"prompt": "a cat", "steps": null, "seed": null})", Endpoint::txt2img);
    QCOMPARE(r.request.prompt, std::string("a cat"));
    QCOMPARE(r.request.sampling.steps, 50);
    QCOMPARE(r.request.sampling.guidance_scale, 7.0);
    QVERIFY(r.random_seed);
    QVERIFY(!r.sampler_given);
    QVERIFY(!r.size_given);  // the model's size, as `generate` without --width
    QCOMPARE(r.n_iter, 1);
    QVERIFY(r.send_images);
  }

  void samplerNamesInEverySpelling() {
    const auto schedule = [](const char* body) {
      return parse_webui_request(body, Endpoint::txt2img).request.sampling.sampler;
    };
    QCOMPARE(schedule(R"({"sampler_name": "DPM++ 2M", "scheduler": "Karras"})"), std::string("dpmpp_2m_karras"));
    QCOMPARE(schedule(R"({"sampler_name": "DPM++ 2M Karras"})"), std::string("dpmpp_2m_karras"));
    QCOMPARE(schedule(R"({"sampler_index": "Euler a"})"), std::string("euler_a"));
    QCOMPARE(schedule(R"({"sampler_name": "euler_a", "scheduler": "automatic"})"), std::string("euler_a"));
    QCOMPARE(refused_field(R"({"sampler_name": "DDIM", "scheduler": "Karras"})"), QString("scheduler"));
    QCOMPARE(refused_field(R"({"sampler_name": "Nope"})"), QString("sampler_name"));
  }

  void overridesAndHiresFix() {
    const auto r = parse_webui_request(
        R"({"override_settings": {"sd_model_checkpoint": "other [abc]", "CLIP_stop_at_last_layers": 2},
            "enable_hr": true, "hr_scale": 1.5, "hr_upscaler": "Latent", "hr_second_pass_steps": 10,
            "denoising_strength": 0.4, "hr_sampler_name": "DPM++ 2M"})",
        Endpoint::txt2img);
    QCOMPARE(r.model_title, std::string("other [abc]"));
    QCOMPARE(r.request.sampling.clip_skip, 2);
    QVERIFY(r.request.second_pass.enabled);
    QCOMPARE(r.request.second_pass.scale, 1.5);
    QCOMPARE(r.request.second_pass.upscaler, std::string("latent"));
    QCOMPARE(r.request.second_pass.steps, 10);
    QCOMPARE(r.request.second_pass.denoising_strength, 0.4);
    QCOMPARE(r.request.second_pass.sampler, std::string("dpmpp_2m"));
  }

  void img2imgPicturesAndModes() {
    const auto r = parse_webui_request(
        R"({"init_images": ["data:image/png;base64,aGVsbG8="], "mask": "d29ybGQ=", "resize_mode": 1,
            "denoising_strength": 0.3, "inpainting_mask_invert": 1, "inpaint_full_res": true,
            "inpaint_full_res_padding": 16, "mask_blur": 2})",
        Endpoint::img2img);
    QCOMPARE(std::string(r.init_image.begin(), r.init_image.end()), std::string("hello"));
    QCOMPARE(std::string(r.mask.begin(), r.mask.end()), std::string("world"));
    QCOMPARE(r.request.init.resize_mode, std::string("crop"));
    QCOMPARE(r.request.init.strength, 0.3);
    QVERIFY(r.invert_mask);
    QVERIFY(r.request.mask.only_masked);
    QCOMPARE(r.request.mask.only_masked_padding, 16);
    QCOMPARE(r.request.mask.blur, 2);
    QVERIFY(r.parameters.value("init_images").isNull());  // the echo leaves the pictures out
    QCOMPARE(refused_field(R"({"init_images": ["aGVsbG8="], "resize_mode": 3})", Endpoint::img2img),
             QString("resize_mode"));
    QCOMPARE(refused_field(R"({"init_images": ["aGVsbG8=", "aGVsbG8="]})", Endpoint::img2img), QString("init_images"));
  }

  void malformedBodiesNameNoField() {
    QCOMPARE(refused_field("{"), QString(""));
    QCOMPARE(refused_field("\"text\""), QString(""));
    QCOMPARE(refused_field(R"({"width": 512})"), QString("height"));  // sizes come in pairs
    QCOMPARE(refused_field(R"({"n_iter": 0})"), QString("n_iter"));
  }

  void answersInTheWebUisShapes() {
    api::GenerationResult run;
    run.request.prompt = "a cat";
    run.request.sampling.sampler = "dpmpp_2m_karras";
    run.request.sampling.seed = 42;
    run.request.size = {8, 8, 2};
    run.images = {api::Image{8, 8, std::vector<uint8_t>(8 * 8 * 3, 100)}, api::Image{8, 8, std::vector<uint8_t>(8 * 8 * 3, 50)}};
    run.seeds = {42, 42};
    run.model_name = "tiny";
    api_server::GenerationAnswer answer;
    answer.runs = {run};
    answer.parameters = QJsonObject{{"prompt", "a cat"}};
    const QJsonObject o = api_server::generation_response(answer);
    QCOMPARE(o.value("images").toArray().size(), 2);
    QCOMPARE(o.value("parameters").toObject().value("prompt").toString(), QString("a cat"));
    const QJsonObject info = QJsonDocument::fromJson(o.value("info").toString().toUtf8()).object();
    QCOMPARE(info.value("all_seeds").toArray().size(), 2);
    QCOMPARE(info.value("sampler_name").toString(), QString("DPM++ 2M"));
    QCOMPARE(info.value("extra_generation_params").toObject().value("Schedule type").toString(), QString("Karras"));
    QCOMPARE(info.value("sd_model_name").toString(), QString("tiny"));

    // png-info reads back what the answer's pictures carry.
    const QByteArray png = QByteArray::fromBase64(o.value("images").toArray().at(0).toString().toLatin1());
    const QJsonObject read = api_server::png_info_response({png.begin(), png.end()});
    QVERIFY(read.value("info").toString().startsWith("a cat\nSteps: 25, Sampler: DPM++ 2M, Schedule type: Karras"));
    QCOMPARE(read.value("parameters").toObject().value("Size-2").toString(), QString("8"));
    QCOMPARE(read.value("parameters").toObject().value("Seed").toString(), QString("42"));

    const QJsonArray samplers = api_server::samplers_response({"euler", "euler_karras", "euler_a"});
    QCOMPARE(samplers.size(), 2);  // Euler with both schedules, then Euler a
    QCOMPARE(samplers.at(0).toObject().value("aliases").toArray().size(), 2);
    const QJsonObject error = QJsonDocument::fromJson(api_server::error_body("Unprocessable Entity", "steps: no", "steps")).object();
    QCOMPARE(error.value("field").toString(), QString("steps"));
  }
};

QTEST_GUILESS_MAIN(TstWebuiJson)
#include "tst_webui_json.moc"
