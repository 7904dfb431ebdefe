// The client's side of the web UI's API (core/api_server/webui_client): a request written as
// a txt2img / img2img body comes back, through the server's own reader, as the same request,
// field by field (one mapping, two directions); what the API cannot carry is refused with
// the setting's name; the server's answers, as its writer makes them, are read back.
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>

#include "core/api_server/webui_client.h"
#include "core/api_server/webui_request.h"
#include "core/api_server/webui_response.h"
#include "core/image/png_metadata.h"

using namespace latent;
using api_server::Endpoint;

namespace {

api_server::WebuiRequest round_trip(const api::GenerationRequest& r, const std::string& model = "tiny-sd",
                                    const std::vector<unsigned char>& init = {},
                                    const std::vector<unsigned char>& mask = {}) {
  const auto client = api_server::webui_client_request(r, model, init, mask);
  return api_server::parse_webui_request(QJsonDocument(client.body).toJson(), client.endpoint);
}

api::GenerationRequest text_request() {
  api::GenerationRequest r;
  r.prompt = "a lighthouse at dusk";
  r.negative_prompt = "blurry";
  r.sampling.sampler = "dpmpp_2m_karras";
  r.sampling.steps = 17;
  r.sampling.guidance_scale = 6.5;
  r.sampling.seed = 4294967295u;
  r.sampling.clip_skip = 2;
  r.size.width = 640;
  r.size.height = 384;
  r.size.batch_size = 3;
  return r;
}

QString refusal(const api::GenerationRequest& r) {
  try {
    api_server::webui_client_request(r, "");
  } catch (const Error& e) {
    return QString::fromUtf8(e.what());
  }
  return "(accepted)";
}

std::vector<unsigned char> png_of(int width, int height, unsigned char value, const image::TextChunks& texts = {}) {
  api::Image image;
  image.width = width;
  image.height = height;
  image.rgb.assign(static_cast<size_t>(width * height * 3), value);
  return image::encode_png(image, texts);
}

}  // namespace

class TstWebuiClient : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void textToImageComesBackAsTheSameRequest() {
    const api::GenerationRequest r = text_request();
    const auto parsed = round_trip(r);
    const api::GenerationRequest& b = parsed.request;
    QCOMPARE(b.prompt, r.prompt);
    QCOMPARE(b.negative_prompt, r.negative_prompt);
    QCOMPARE(b.sampling.sampler, r.sampling.sampler);
    QCOMPARE(b.sampling.steps, r.sampling.steps);
    QCOMPARE(b.sampling.guidance_scale, r.sampling.guidance_scale);
    QCOMPARE(b.sampling.seed, r.sampling.seed);
    QCOMPARE(b.sampling.clip_skip, 2);
    QCOMPARE(b.size.width, 640);
    QCOMPARE(b.size.height, 384);
    QCOMPARE(b.size.batch_size, 3);
    QVERIFY(parsed.sampler_given);
    QVERIFY(parsed.size_given);
    QVERIFY(!parsed.random_seed);
    QCOMPARE(parsed.n_iter, 1);
    QCOMPARE(parsed.model_title, std::string("tiny-sd"));
    QVERIFY(!b.second_pass.enabled);
    // No model title: the server's current one.
    QVERIFY(round_trip(r, "").model_title.empty());
  }

  void secondPassComesBackWhole() {
    api::GenerationRequest r = text_request();
    r.second_pass.enabled = true;
    r.second_pass.upscaler = "latent-bicubic-antialiased";
    r.second_pass.scale = 1.5;
    r.second_pass.steps = 9;
    r.second_pass.denoising_strength = 0.45;
    r.second_pass.sampler = "euler_a";
    r.second_pass.prompt = "a lighthouse, detailed";
    r.second_pass.negative_prompt = "noise";
    const api::SecondPass b = round_trip(r).request.second_pass;
    QVERIFY(b.enabled);
    QCOMPARE(b.upscaler, r.second_pass.upscaler);
    QCOMPARE(b.scale, 1.5);
    QCOMPARE(b.width, 0);
    QCOMPARE(b.steps, 9);
    QCOMPARE(b.denoising_strength, 0.45);
    QCOMPARE(b.sampler, std::string("euler_a"));
    QCOMPARE(b.prompt, r.second_pass.prompt);
    QCOMPARE(b.negative_prompt, r.second_pass.negative_prompt);
    // To a size, with the first pass's sampler ("Use same sampler").
    r.second_pass.width = 1024;
    r.second_pass.height = 640;
    r.second_pass.sampler.clear();
    const api::SecondPass sized = round_trip(r).request.second_pass;
    QCOMPARE(sized.width, 1024);
    QCOMPARE(sized.height, 640);
    QVERIFY(sized.sampler.empty());
  }

  void imageToImageCarriesThePicturesAndTheirSettings() {
    api::GenerationRequest r = text_request();
    r.init.path = "/somewhere/start.png";
    r.init.strength = 0.35;
    r.init.resize_mode = "pad";
    r.mask.path = "/somewhere/mask.png";
    r.mask.blur = 7;
    r.mask.only_masked = true;
    r.mask.only_masked_padding = 40;
    const auto init = png_of(8, 8, 200);
    const auto mask = png_of(8, 8, 255);
    const auto client = api_server::webui_client_request(r, "", init, mask);
    QVERIFY(client.endpoint == Endpoint::img2img);
    const auto parsed = api_server::parse_webui_request(QJsonDocument(client.body).toJson(), Endpoint::img2img);
    QVERIFY(parsed.init_image == init);
    QVERIFY(parsed.mask == mask);
    QCOMPARE(parsed.request.init.strength, 0.35);
    QCOMPARE(parsed.request.init.resize_mode, std::string("pad"));
    QCOMPARE(parsed.request.mask.blur, 7);
    QVERIFY(parsed.request.mask.only_masked);
    QCOMPARE(parsed.request.mask.only_masked_padding, 40);
    QVERIFY(!parsed.invert_mask);
  }

  void lorasBecomePromptTagsByFileName() {
    api::GenerationRequest r = text_request();
    r.loras.adapters = {{"/home/me/loras/ink-style.safetensors", 0.8}, {"watercolor", -0.25}};
    QCOMPARE(round_trip(r).request.prompt,
             std::string("a lighthouse at dusk <lora:ink-style:0.8> <lora:watercolor:-0.25>"));
  }

  void whatTheApiCannotCarryIsRefusedByName() {
    api::GenerationRequest r = text_request();
    r.control_units.push_back({});
    QVERIFY2(refusal(r).contains("ControlNet"), qPrintable(refusal(r)));
    r.control_units.front().enabled = false;  // a unit that is off asks for nothing
    QCOMPARE(refusal(r), QString("(accepted)"));

    api::GenerationRequest refined = text_request();
    refined.refiner.path = "/models/refiner";
    QVERIFY(refusal(refined).contains("refiner"));
    api::GenerationRequest vae = text_request();
    vae.vae = "/models/vae.safetensors";
    QVERIFY(refusal(vae).contains("/models/vae.safetensors"));
    api::GenerationRequest outpaint = text_request();
    outpaint.outpaint.left = 64;
    QVERIFY(refusal(outpaint).contains("Outpainting"));
    api::GenerationRequest rescale = text_request();
    rescale.sampling.guidance_rescale = 0.7;
    QVERIFY(refusal(rescale).contains("Guidance rescale"));
    api::GenerationRequest network = text_request();
    network.second_pass.enabled = true;
    network.second_pass.upscaler = "/models/4x-UltraSharp.safetensors";
    QVERIFY2(refusal(network).contains("4x-UltraSharp"), qPrintable(refusal(network)));
    QVERIFY(refusal(network).contains("not on the server"));
    api::GenerationRequest seed = text_request();
    seed.sampling.seed = (uint64_t(1) << 53) + 1;
    QVERIFY(refusal(seed).contains("seed"));
  }

  void generationAnswersAreReadBack() {
    // An answer as the server writes it, with two pictures of one batch.
    api::GenerationResult run;
    run.request = text_request();
    run.request.size.width = run.request.size.height = 8;
    run.model_name = "tiny-sd";
    run.seeds = {77, 77};
    run.warnings = {"a LoRA applied in part"};
    for (unsigned char value : {10, 250}) {
      api::Image image;
      image.width = image.height = 8;
      image.rgb.assign(8 * 8 * 3, value);
      run.images.push_back(image);
    }
    api_server::GenerationAnswer answer;
    answer.runs = {run};
    const QByteArray body = QJsonDocument(api_server::generation_response(answer)).toJson();
    const api_server::GenerationReply reply = api_server::parse_generation_reply(body);
    QCOMPARE(reply.pngs.size(), size_t(2));
    QCOMPARE(reply.seeds, (std::vector<uint64_t>{77, 77}));
    QCOMPARE(reply.model_name, std::string("tiny-sd"));
    QCOMPARE(reply.warnings, std::vector<std::string>{"a LoRA applied in part"});
    QVERIFY(!reply.interrupted);
    // The pictures carry the parameters the server wrote into them.
    bool parameters = false;
    for (const auto& [key, text] : image::read_png_text(reply.pngs[1]))
      parameters = parameters || (key == "parameters" && text.find("Seed: 77") != std::string::npos);
    QVERIFY(parameters);

    QVERIFY_THROWS_EXCEPTION(Error, api_server::parse_generation_reply("<html>502 Bad Gateway</html>"));
    QVERIFY_THROWS_EXCEPTION(Error, api_server::parse_generation_reply(R"({"images": ["%%%"]})"));
  }

  void progressAndErrorsAndListsAreReadBack() {
    api::Image preview;
    preview.width = preview.height = 4;
    preview.rgb.assign(4 * 4 * 3, 99);
    const QJsonObject progress{{"progress", 0.5},
                               {"eta_relative", 2.5},
                               {"state", QJsonObject{{"job", "job"}, {"sampling_step", 3}, {"sampling_steps", 6}}},
                               {"current_image", QString::fromLatin1(api_server::preview_base64(preview))}};
    const auto p = api_server::parse_progress_reply(QJsonDocument(progress).toJson());
    QVERIFY(p.busy);
    QCOMPARE(p.step, 3);
    QCOMPARE(p.steps, 6);
    QCOMPARE(p.eta_seconds, 2.5);
    QVERIFY(!p.preview.empty());
    const auto idle = api_server::parse_progress_reply(R"({"progress": 0, "state": {"job": ""}, "current_image": null})");
    QVERIFY(!idle.busy);
    QVERIFY(idle.preview.empty());

    QCOMPARE(api_server::error_detail(api_server::error_body("Unprocessable Entity", "steps: 0 is out of range", "steps"), 422),
             std::string("steps: 0 is out of range"));
    QCOMPARE(api_server::error_detail("Bad Gateway\nmore", 502), std::string("Bad Gateway"));
    QCOMPARE(api_server::error_detail("", 500), std::string("HTTP 500"));

    QCOMPARE(api_server::parse_lora_names(R"([{"name": "ink", "path": "/l/ink.safetensors"}, {"name": "wash"}])"),
             (std::vector<std::string>{"ink", "wash"}));
    QCOMPARE(api_server::parse_model_titles(R"([{"title": "tiny-sd", "model_name": "tiny-sd"}])"),
             std::vector<std::string>{"tiny-sd"});
    QVERIFY_THROWS_EXCEPTION(Error, api_server::parse_lora_names(R"({"detail": "Not Found"})"));
  }
};

QTEST_GUILESS_MAIN(TstWebuiClient)
#include "tst_webui_client.moc"
