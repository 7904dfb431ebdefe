// SDXL base + refiner as diffusers' ensemble of experts against the golden case
// ensemble_sdxl_euler_0.8 (the base's StableDiffusionXLPipeline with denoising_end, the
// refiner's StableDiffusionXLImg2ImgPipeline with denoising_start): where the schedule is
// split, each model's conditioning, both trajectories, the handover and final latents and
// the picture. Then the engine's run of it (one progress count over both passes, cancel in
// either, the refiner's name and hash, the refusals) and the VAE's force_upcast.
#include <QtTest/QtTest>

#include <QJsonArray>

#include <atomic>

#include "core/pipeline/decode.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/ensemble.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/vae_decode.h"
#include "core/schedulers/scheduler.h"
#include "core/util/error.h"
#include "tests/support/golden.h"
#include "tests/support/golden_set.h"

using namespace latent;

namespace {

const QString kCase = "ensemble_sdxl_euler_0.8";

const test::GoldenSet& sdxl() {
  static const test::GoldenSet set("sdxl");
  return set;
}

pipeline::ModelBundle& base() { return test::golden_model("sdxl/tiny-sdxl"); }
pipeline::ModelBundle& refiner() { return test::golden_model("sdxl/tiny-sdxl-refiner"); }

QJsonObject golden() { return sdxl().case_of(kCase); }
double switch_at() { return golden().value("inputs").toObject().value("switch").toDouble(); }

pipeline::SamplingParams ensemble_params() {
  const QJsonObject in = golden().value("inputs").toObject();
  pipeline::SamplingParams p;
  p.prompts = test::json_strings(in.value("prompt"));  // no negative prompt
  p.width = in.value("width").toInt();
  p.height = in.value("height").toInt();
  p.steps = in.value("num_inference_steps").toInt();
  p.guidance_scale = in.value("guidance_scale").toDouble();
  p.seed = static_cast<uint64_t>(in.value("seed").toDouble());
  p.sampler = golden().value("scheduler").toString().toStdString();
  p.aesthetic_score = in.value("aesthetic_score").toDouble();
  p.negative_aesthetic_score = in.value("negative_aesthetic_score").toDouble();
  return p;
}

void compare_timesteps(const std::vector<double>& actual, const QJsonArray& expected) {
  QCOMPARE(static_cast<int>(actual.size()), expected.size());
  for (int i = 0; i < expected.size(); ++i) QCOMPARE(actual[i], expected[i].toDouble());
}

// The generation request of the golden case, for the engine.
api::GenerationRequest ensemble_request() {
  const auto p = ensemble_params();
  api::GenerationRequest r;
  r.prompt = p.prompts.front();
  r.size.width = p.width;
  r.size.height = p.height;
  r.sampling.steps = p.steps;
  r.sampling.guidance_scale = p.guidance_scale;
  r.sampling.seed = p.seed;
  r.sampling.sampler = p.sampler;
  r.preview.approximate = false;
  r.preview.vae_every = 0;
  r.refiner.path = test::data_path("sdxl/tiny-sdxl-refiner").toStdString();
  r.refiner.switch_at = switch_at();
  return r;
}

api::LoadOptions load_options(const QString& model) {
  api::LoadOptions options;
  options.model_path = test::data_path(model).toStdString();
  options.device = test::test_device();
  return options;
}

// The message of the latent::Error `run` throws; empty when it throws none.
template <typename Run>
QString error_of(Run run) {
  try {
    run();
  } catch (const Error& error) {
    return QString::fromUtf8(error.what());
  }
  return {};
}

}  // namespace

class TestSdxlRefiner : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  // diffusers' cutoff int(round(1000 − f·1000)): the base keeps t ≥ 200, the refiner begins
  // at the first t < 200; a second-order scheduler's refiner never starts mid-step.
  void splitsTheSchedule() {
    const QJsonObject split = golden().value("split").toObject();
    auto config = schedulers::SchedulerConfig::from_json(base().scheduler_config);
    auto euler = schedulers::make_scheduler("euler", config);
    euler->set_timesteps(ensemble_params().steps);
    QCOMPARE(pipeline::switch_timestep(*euler, switch_at()), split.value("base_cutoff_timestep").toInt());
    QCOMPARE(pipeline::denoising_end_calls(*euler, switch_at()), split.value("base_timesteps").toArray().size());
    QCOMPARE(pipeline::denoising_start_call(*euler, switch_at()), split.value("refiner_t_start_index").toInt());
    QCOMPARE(pipeline::switch_timestep(*euler, 0.5), 500);
    QCOMPARE(pipeline::switch_timestep(*euler, 0.9995), 0);  // round(0.5) = 0: halves to even

    auto heun = schedulers::make_scheduler("heun", config);
    QCOMPARE(heun->order(), 2);
    heun->set_timesteps(10);  // 901, 801, 801, ..., 1, 1: (t < 200) counts 4, so 5 calls run
    const int begin = pipeline::denoising_start_call(*heun, 0.8);
    QCOMPARE(heun->num_calls() - begin, 5);
    QVERIFY(heun->timestep(begin) >= 200 && heun->timestep(begin + 1) < 200);
  }

  void matchesDiffusers() {
    const QJsonObject case_ = golden();
    const QJsonObject tol = case_.value("tolerance").toObject();
    const QJsonObject split = case_.value("split").toObject();
    QCOMPARE(base().family, io::ModelFamily::sdxl_base);
    QCOMPARE(refiner().family, io::ModelFamily::sdxl_refiner);

    std::vector<pipeline::StepState> steps;
    const auto out = pipeline::ensemble_text_to_image(base(), refiner(), ensemble_params(), switch_at(),
                                                      [&](const pipeline::StepState& state) {
                                                        auto kept = state;
                                                        kept.latents = state.latents.cpu();
                                                        steps.push_back(kept);
                                                      });
    const test::Tolerance embeds{1e-4, 1e-4};
    LATENT_COMPARE_CLOSE(out.base_conditioning.context, sdxl().tensor(kCase + "/base_prompt_embeds.npy"), embeds);
    LATENT_COMPARE_CLOSE(out.base_conditioning.pooled, sdxl().tensor(kCase + "/base_add_text_embeds.npy"), embeds);
    QVERIFY(torch::equal(out.base_conditioning.time_ids.cpu(), sdxl().tensor(kCase + "/base_add_time_ids.npy")));
    LATENT_COMPARE_CLOSE(out.refiner_conditioning.context, sdxl().tensor(kCase + "/refiner_prompt_embeds.npy"),
                         embeds);
    LATENT_COMPARE_CLOSE(out.refiner_conditioning.pooled, sdxl().tensor(kCase + "/refiner_add_text_embeds.npy"),
                         embeds);
    QVERIFY(torch::equal(out.refiner_conditioning.time_ids.cpu(),
                         sdxl().tensor(kCase + "/refiner_add_time_ids.npy")));

    QVERIFY2(torch::equal(out.init_noise, sdxl().tensor(kCase + "/init_noise.npy")),
             "the initial noise differs from torch's CPU generator");
    compare_timesteps(out.base_timesteps, split.value("base_timesteps").toArray());
    compare_timesteps(out.refiner_timesteps, split.value("refiner_timesteps").toArray());

    // One run to the observer: 8 base calls, then the refiner's 2, counted on.
    const auto base_trajectory = sdxl().tensor(kCase + "/base_latents_trajectory.npy");        // [9, ...]
    const auto refiner_trajectory = sdxl().tensor(kCase + "/refiner_latents_trajectory.npy");  // [3, ...]
    const int base_calls = static_cast<int>(base_trajectory.size(0)) - 1;
    const int total = base_calls + static_cast<int>(refiner_trajectory.size(0)) - 1;
    QCOMPARE(static_cast<int>(steps.size()), total);
    const test::Tolerance latents{tol.value("latents_atol").toDouble(), 0.0};
    for (int i = 0; i < total; ++i) {
      QCOMPARE(steps[i].index, i);
      QCOMPARE(steps[i].total, total);
      const auto expected = i < base_calls ? base_trajectory[i + 1] : refiner_trajectory[i - base_calls + 1];
      LATENT_COMPARE_CLOSE(steps[i].latents, expected, latents);
    }
    LATENT_COMPARE_CLOSE(out.handover_latents.cpu(), sdxl().tensor(kCase + "/handover_latents.npy"), latents);
    LATENT_COMPARE_CLOSE(out.handover_latents.cpu(), refiner_trajectory[0], latents);
    LATENT_COMPARE_CLOSE(out.latents.cpu(), sdxl().tensor(kCase + "/latents_final.npy"), latents);

    // The refiner's VAE decodes: diffusers' float picture in [0, 1], then the 8-bit one.
    torch::InferenceMode inference_mode;
    const auto decoded = pipeline::vae_decode(refiner().vae, out.latents / refiner().vae->scaling_factor());
    const auto image_float = (decoded / 2 + 0.5).clamp(0, 1).permute({0, 2, 3, 1}).cpu();
    LATENT_COMPARE_CLOSE(image_float, sdxl().tensor(kCase + "/image_float.npy"),
                         (test::Tolerance{tol.value("image_float_atol").toDouble(), 0.0}));
    const double pixels = test::max_abs_difference(out.images, sdxl().tensor(kCase + "/image_uint8.npy"));
    QVERIFY2(pixels <= tol.value("uint8_max_abs_diff").toDouble(), qPrintable(QString("pixels differ by %1").arg(pixels)));
  }

  void cancelsInEitherPass_data() {
    QTest::addColumn<int>("cancelAfter");
    QTest::newRow("in the base") << 2;
    QTest::newRow("at the handover") << 7;
    QTest::newRow("in the refiner") << 8;
  }

  void cancelsInEitherPass() {
    QFETCH(int, cancelAfter);
    std::atomic<bool> cancel{false};
    int last = -1;
    bool cancelled = false;
    try {
      pipeline::ensemble_text_to_image(base(), refiner(), ensemble_params(), switch_at(),
                                       [&](const pipeline::StepState& state) {
                                         last = state.index;
                                         if (state.index == cancelAfter) cancel = true;
                                       },
                                       &cancel);
    } catch (const Cancelled&) {
      cancelled = true;
    }
    QVERIFY(cancelled);
    QCOMPARE(last, cancelAfter);
  }

  void engineRunsTheEnsemble() {
    pipeline::Engine engine;
    engine.load(load_options("sdxl/tiny-sdxl"));
    std::vector<api::StepProgress> progress;
    const auto result = engine.generate(ensemble_request(), [&](const api::StepProgress& p) { progress.push_back(p); });
    QCOMPARE(static_cast<int>(progress.size()), 10);
    for (int i = 0; i < 10; ++i) {
      QCOMPARE(progress[i].step, i + 1);
      QCOMPARE(progress[i].total_steps, 10);
    }
    QCOMPARE(progress[8].timestep, 101.0);  // the refiner's first
    QCOMPARE(result.refiner_name, std::string("tiny-sdxl-refiner"));
    QCOMPARE(result.refiner_hash.size(), size_t{10});
    QVERIFY(result.refiner_hash != result.model_hash);
    QCOMPARE(result.images.size(), size_t{1});
    const auto& image = result.images.front();
    const auto pixels = torch::from_blob(const_cast<uint8_t*>(image.rgb.data()),
                                         {1, image.height, image.width, 3}, torch::kUInt8);
    const double difference = test::max_abs_difference(pixels, sdxl().tensor(kCase + "/image_uint8.npy"));
    QVERIFY2(difference <= golden().value("tolerance").toObject().value("uint8_max_abs_diff").toDouble(),
             qPrintable(QString("pixels differ by %1").arg(difference)));

    // A request without a refiner names none.
    auto plain = ensemble_request();
    plain.refiner = {};
    plain.sampling.steps = 2;
    const auto without = engine.generate(plain);
    QVERIFY(without.refiner_name.empty());
    QVERIFY(without.refiner_hash.empty());
  }

  void engineRefusesWrongModels() {
    pipeline::Engine engine;
    engine.load(load_options("sdxl/tiny-sdxl"));
    auto request = ensemble_request();
    // A base given as the refiner: refused by its family, naming the file.
    request.refiner.path = test::data_path("sdxl/tiny-sdxl").toStdString();
    QString message = error_of([&] { engine.generate(request); });
    QVERIFY2(message.contains("not an SDXL refiner") && message.contains("tiny-sdxl"), qPrintable(message));

    // A refiner after a Stable Diffusion 1.x model.
    engine.load(load_options("tiny-sd"));
    request = ensemble_request();
    request.size.width = request.size.height = 64;
    message = error_of([&] { engine.generate(request); });
    QVERIFY2(message.contains("SDXL base") && message.contains("tiny-sd"), qPrintable(message));
  }

  // force_upcast: an fp16 SDXL model's VAE runs in fp32, as diffusers' SDXL pipelines run it;
  // bf16, fp32 and SD 1.x keep the model's precision. (fp16 computes on CUDA only, so the
  // loaded fp16 bundle is checked by the GPU machine's run of the golden suites.)
  void forceUpcast() {
    using io::ModelFamily;
    QCOMPARE(pipeline::vae_compute_dtype(ModelFamily::sdxl_base, torch::kFloat16, true), torch::kFloat32);
    QCOMPARE(pipeline::vae_compute_dtype(ModelFamily::sdxl_refiner, torch::kFloat16, true), torch::kFloat32);
    QCOMPARE(pipeline::vae_compute_dtype(ModelFamily::sdxl_base, torch::kFloat16, false), torch::kFloat16);
    QCOMPARE(pipeline::vae_compute_dtype(ModelFamily::sdxl_base, torch::kBFloat16, true), torch::kBFloat16);
    QCOMPARE(pipeline::vae_compute_dtype(ModelFamily::sd1, torch::kFloat16, true), torch::kFloat16);
    auto options = load_options("sdxl/tiny-sdxl");
    options.dtype = "bf16";
    const auto bf16 = pipeline::load_model_bundle(options);
    QVERIFY(bf16->vae->config().force_upcast);
    QCOMPARE(bf16->vae_dtype(), torch::kBFloat16);
    if (test::test_device() != "cuda") return;
    options.dtype = "fp16";
    const auto fp16 = pipeline::load_model_bundle(options);
    QCOMPARE(fp16->vae_dtype(), torch::kFloat32);
    QCOMPARE(fp16->unet->parameters().front().scalar_type(), torch::kFloat16);
    const auto images = pipeline::decode_latents(*fp16, torch::randn({1, 4, 16, 16}));  // through the fp32 VAE
    QCOMPARE(images.scalar_type(), torch::kUInt8);
  }
};

QTEST_GUILESS_MAIN(TestSdxlRefiner)
#include "tst_sdxl_refiner.moc"
