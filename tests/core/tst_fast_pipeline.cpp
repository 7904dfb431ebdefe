// Few-step text to image against diffusers (fast/golden) on the tiny SD 1.x model: LCM
// (LCM-LoRA style, guidance on and off), TCD, trailing DDIM/Euler/Euler a, the LCM-LoRA
// itself, the LCM-distilled UNet with its guidance embedding, and decoding with the tiny
// autoencoder (TAESD). Every step's latents, the final latents and the picture, within the
// index's tolerances.
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QTemporaryDir>

#include "core/pipeline/autoencoder_files.h"
#include "core/pipeline/lora_set.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_conditioning.h"
#include "core/pipeline/text_to_image.h"
#include "tests/support/golden.h"
#include "tests/support/fast_golden.h"
#include "tests/support/golden_set.h"
#include "tests/support/image_compare.h"
#include "tests/support/tiny_lcm_model.h"

using namespace latent;

namespace {

const test::GoldenSet& fast() { return test::fast_golden(); }

// tiny-sd, or the LCM-distilled UNet with tiny-sd's other parts, loaded once.
pipeline::ModelBundle& model_of(const QString& name) {
  if (name == "tiny-sd") return test::golden_model("tiny-sd");
  static QTemporaryDir dir;
  static std::unique_ptr<pipeline::ModelBundle> lcm;
  if (!lcm) {
    api::LoadOptions options;
    options.model_path = test::make_tiny_lcm_model(dir.path()).toStdString();
    options.device = test::test_device();
    lcm = pipeline::load_model_bundle(options);
  }
  return *lcm;
}

// A case's parameters, with its scheduler config in the model while it runs.
struct CaseRun {
  pipeline::TextToImageParams params;
  QJsonObject saved_config;
  pipeline::ModelBundle* model = nullptr;

  CaseRun(pipeline::ModelBundle& m, const QJsonObject& golden) : model(&m) {
    params = test::text_to_image_params(golden);
    params.sampler = test::sampler_of_class(golden.value("scheduler_class").toString());
    params.tcd_gamma = params.eta;  // TCD's gamma is the pipeline's eta
    const QJsonValue original = golden.value("inputs").toObject().value("original_inference_steps");
    if (original.isDouble()) params.lcm_original_steps = original.toInt();
    saved_config = m.scheduler_config;
    m.scheduler_config = golden.value("scheduler_config").toObject();
  }
  ~CaseRun() {
    model->scheduler_config = saved_config;
    model->tiny_vae = nullptr;
  }
};

}  // namespace

class TestFastPipeline : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void matchesDiffusers_data() {
    QTest::addColumn<QString>("id");
    for (const char* kind : {"pipeline", "lcm_pipeline"})
      for (const QString& id : fast().ids(kind)) QTest::newRow(qPrintable(id)) << id;
  }

  void matchesDiffusers() {
    QFETCH(QString, id);
    const QJsonObject golden = fast().case_of(id);
    const QJsonObject tol = golden.value("tolerance").toObject();
    auto& model = model_of(golden.value("model").toString());
    const CaseRun run(model, golden);

    const QJsonObject info = golden.value("model_info").toObject();
    const QString vae = info.value("vae").toString();
    std::unique_ptr<pipeline::LoadedAutoencoder> tiny;
    if (info.value("vae_class").toString() == "AutoencoderTiny") {
      tiny = pipeline::load_autoencoder(test::data_path(vae).toStdString(), model.vae->config(), model.device,
                                        model.dtype);
      QVERIFY(tiny->is_tiny());
      model.tiny_vae = tiny->tiny;
    }
    std::unique_ptr<pipeline::LoraSet> loras;
    const QJsonObject lora = golden.value("model_info").toObject().value("lora").toObject();
    if (!lora.isEmpty()) {
      loras = std::make_unique<pipeline::LoraSet>(model);
      loras->apply({{test::data_path(lora.value("file").toString()).toStdString(),
                     lora.value("multiplier").toDouble()}},
                   false);
    }

    const auto conditioning = pipeline::encode_text_conditioning(model, run.params);
    QCOMPARE(conditioning.guided(), golden.value("classifier_free_guidance").toBool());
    if (golden.value("outputs").toObject().contains("timestep_cond"))
      LATENT_COMPARE_CLOSE(conditioning.cond.timestep_cond.cpu(), fast().tensor(id + "/timestep_cond.npy"),
                           (test::Tolerance{1e-6, 1e-6}));

    const test::Tolerance latents_tol{tol.value("latents_atol").toDouble(), 0};
    const auto trajectory = fast().tensor(id + "/latents_trajectory.npy");
    int step = 0;
    const auto output = pipeline::text_to_image(model, run.params, [&](const pipeline::StepState& state) {
      ++step;
      LATENT_COMPARE_CLOSE(state.latents.cpu(), trajectory[step], latents_tol);
    });
    QCOMPARE(step, golden.value("num_loop_iterations").toInt());
    QVERIFY2(torch::equal(output.init_noise, fast().tensor(id + "/init_noise.npy")),
             "the initial noise differs from torch's CPU generator");
    const auto timesteps = fast().tensor(id + "/timesteps.npy").to(torch::kFloat64);
    QCOMPARE(static_cast<int64_t>(output.timesteps.size()), timesteps.numel());
    for (int64_t i = 0; i < timesteps.numel(); ++i)
      QCOMPARE(static_cast<float>(output.timesteps[i]), static_cast<float>(timesteps[i].item<double>()));
    LATENT_COMPARE_CLOSE(output.prompt_embeds, fast().tensor(id + "/prompt_embeds.npy"), (test::Tolerance{1e-4, 1e-4}));
    LATENT_COMPARE_CLOSE(output.latents, fast().tensor(id + "/latents_final.npy"), latents_tol);
    LATENT_COMPARE_IMAGES(output.images, fast().tensor(id + "/image_uint8.npy"), tol.value("uint8_max_abs_diff").toInt(1));
  }

  // The LCM-LoRA on the UNet alone, at a high and a low timestep.
  void loraUNetMatchesDiffusers_data() {
    QTest::addColumn<QString>("id");
    for (const QString& id : fast().ids("lora_unet")) QTest::newRow(qPrintable(id)) << id;
  }

  void loraUNetMatchesDiffusers() {
    QFETCH(QString, id);
    torch::InferenceMode inference_mode;
    const QJsonObject golden = fast().case_of(id);
    const QJsonObject tol = golden.value("tolerance").toObject();
    const QJsonObject in = golden.value("inputs").toObject();
    auto& model = model_of("tiny-sd");
    const auto sample = fast().tensor(id + "/sample.npy").to(model.device);
    const auto context = fast().tensor(id + "/encoder_hidden_states.npy").to(model.device);
    const auto timestep = torch::tensor(static_cast<int64_t>(in.value("timestep").toInt()));
    const test::Tolerance t{tol.value("atol").toDouble(), tol.value("rtol").toDouble()};
    LATENT_COMPARE_CLOSE(model.unet->forward(sample, timestep, context).cpu(),
                         fast().tensor(id + "/noise_pred_no_lora.npy"), t);
    pipeline::LoraSet loras(model);
    loras.apply({{test::data_path(golden.value("lora_file").toString()).toStdString(),
                  golden.value("multiplier").toDouble()}},
                false);
    LATENT_COMPARE_CLOSE(model.unet->forward(sample, timestep, context).cpu(),
                         fast().tensor(id + "/noise_pred.npy"), t);
  }

  // The request's overrides reach the scheduler: original steps and spacing.
  void requestOverridesTheSchedulerConfig() {
    auto& model = model_of("tiny-sd");
    pipeline::TextToImageParams p;
    p.prompts = {"a red circle"};
    p.width = p.height = 64;
    p.steps = 4;
    p.guidance_scale = 1.0;
    p.sampler = "lcm";
    p.lcm_original_steps = 100;
    std::vector<double> seen;
    pipeline::text_to_image(model, p, [&](const pipeline::StepState& s) { seen.push_back(s.timestep); });
    QCOMPARE(seen, (std::vector<double>{999, 749, 499, 249}));
    seen.clear();
    p.sampler = "ddim";
    p.timestep_spacing = "trailing";
    p.steps = 6;
    pipeline::text_to_image(model, p, [&](const pipeline::StepState& s) { seen.push_back(s.timestep); });
    QCOMPARE(seen, (std::vector<double>{999, 832, 666, 499, 332, 166}));
  }
};

QTEST_GUILESS_MAIN(TestFastPipeline)
#include "tst_fast_pipeline.moc"
