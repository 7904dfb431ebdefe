// The seams of the diffusion core: the Conditioning value, guidance in one place, the
// pluggable model call of the denoise loop, the UNet's residual inputs and the model
// family read from the configs.
#include <QtTest/QtTest>

#include <ATen/CPUGeneratorImpl.h>

#include "core/io/model_family.h"
#include "core/models/config_json.h"
#include "core/pipeline/conditioning.h"
#include "core/pipeline/denoise_loop.h"
#include "core/pipeline/latents.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/noise_predictor.h"
#include "core/pipeline/text_conditioning.h"
#include "core/pipeline/text_to_image.h"
#include "core/util/error.h"
#include "tests/support/golden.h"

using namespace latent;
using pipeline::Conditioning;

namespace {

QJsonObject config_of(const QString& relative) {
  return models::config_json::read_file(test::data_path(relative).toStdString());
}

// A text-to-image run on the tiny model, small and guided.
pipeline::TextToImageParams small_params() {
  pipeline::TextToImageParams p;
  p.prompts = {"a red circle"};
  p.negative_prompts = {"blurry"};
  p.width = 64;
  p.height = 64;
  p.steps = 3;
  p.guidance_scale = 6.0;
  p.seed = 11;
  p.sampler = "euler";
  return p;
}

// The UNet's skip connections for a square latent of `side`, in diffusers' order: conv_in's
// output, then each down block's resnet outputs and (all but the last block) its
// downsampler's output.
std::vector<std::vector<int64_t>> skip_shapes(const models::UNet2DConditionConfig& c, int64_t side) {
  std::vector<std::vector<int64_t>> shapes{{1, c.block_out_channels[0], side, side}};
  for (size_t i = 0; i < c.block_out_channels.size(); ++i) {
    for (int64_t r = 0; r < c.layers_per_block[i]; ++r) shapes.push_back({1, c.block_out_channels[i], side, side});
    if (i + 1 < c.block_out_channels.size()) {
      side /= 2;
      shapes.push_back({1, c.block_out_channels[i], side, side});
    }
  }
  return shapes;
}

}  // namespace

class TestDiffusionCore : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void stackPutsUncondFirst() {
    Conditioning uncond, cond;
    uncond.context = torch::zeros({1, 3, 2});
    cond.context = torch::ones({1, 3, 2});
    uncond.concat = cond.concat = torch::full({1, 5, 4, 4}, 2.0);
    pipeline::GuidedConditioning guided{cond, uncond, {7.0, 0.0}};
    QVERIFY(guided.guided());
    const auto batched = guided.batched();
    QCOMPARE(batched.context.size(0), 2);
    QCOMPARE(batched.context[0].sum().item<double>(), 0.0);
    QCOMPARE(batched.context[1].sum().item<double>(), 6.0);
    QCOMPARE(batched.concat.size(0), 2);
    QVERIFY(!batched.pooled.defined());
    // Without an unconditional half the batch is the prompt's alone.
    const pipeline::GuidedConditioning plain{cond, Conditioning{}, {1.0, 0.0}};
    QVERIFY(!plain.guided());
    QVERIFY(torch::equal(plain.batched().context, cond.context));
  }

  void stackRefusesHalfSetParts() {
    Conditioning uncond, cond;
    uncond.context = torch::zeros({1, 3, 2});
    cond.context = torch::ones({1, 3, 2});
    cond.pooled = torch::ones({1, 4});
    QVERIFY_THROWS_EXCEPTION(Error, Conditioning::stack(uncond, cond));
  }

  // Guidance combines one doubled call as uncond + s·(cond − uncond); without guidance the
  // unconditional half is never computed.
  void guidanceIsOneCallOrHalfTheWork() {
    std::vector<int64_t> batches;
    const pipeline::NoisePredictor fake = [&](const torch::Tensor& x, const torch::Tensor&, const Conditioning& c) {
      batches.push_back(x.size(0));
      return x * c.context.view({-1, 1, 1, 1});  // the "prediction" scales by the context
    };
    const auto x = torch::full({1, 4, 2, 2}, 2.0);
    Conditioning batched;
    batched.context = torch::tensor({1.0f, 3.0f});  // uncond 1, cond 3
    const auto guided = pipeline::guided_prediction(fake, x, torch::tensor(10), batched, {4.0, 0.0}, true);
    QCOMPARE(batches, std::vector<int64_t>{2});
    // uncond 2, cond 6: 2 + 4·(6 − 2) = 18
    QVERIFY(torch::allclose(guided, torch::full({1, 4, 2, 2}, 18.0)));

    batches.clear();
    Conditioning cond_only;
    cond_only.context = torch::tensor({3.0f});
    const auto unguided = pipeline::guided_prediction(fake, x, torch::tensor(10), cond_only, {1.0, 0.0}, false);
    QCOMPARE(batches, std::vector<int64_t>{1});
    QVERIFY(torch::allclose(unguided, torch::full({1, 4, 2, 2}, 6.0)));
  }

  // Guidance rescale (diffusers' rescale_noise_cfg): at 1 the guided prediction takes the
  // conditional prediction's spread per sample; in between it mixes linearly.
  void guidanceRescalePullsTheSpreadBack() {
    torch::manual_seed(3);
    const auto both = torch::randn({2, 4, 3, 3});
    const pipeline::NoisePredictor fixed = [&](const torch::Tensor&, const torch::Tensor&, const Conditioning&) {
      return both;
    };
    const auto x = torch::zeros({1, 4, 3, 3});
    const Conditioning batched;
    const auto plain = pipeline::guided_prediction(fixed, x, torch::tensor(1), batched, {7.0, 0.0}, true);
    const auto full = pipeline::guided_prediction(fixed, x, torch::tensor(1), batched, {7.0, 1.0}, true);
    const auto cond = both[1];
    QVERIFY(std::abs(full.std().item<double>() - cond.std().item<double>()) < 1e-5);
    QVERIFY(std::abs(plain.std().item<double>() - cond.std().item<double>()) > 0.1);
    const auto half = pipeline::guided_prediction(fixed, x, torch::tensor(1), batched, {7.0, 0.5}, true);
    QVERIFY(torch::allclose(half, 0.5 * full + 0.5 * plain, 1e-5, 1e-6));
  }

  // Text conditioning at guidance ≤ 1 encodes no negative prompt.
  void unguidedRunsEncodeNoNegative() {
    auto& model = test::golden_model("tiny-sd");
    auto p = small_params();
    p.guidance_scale = 1.0;
    const auto c = pipeline::encode_text_conditioning(model, p);
    QVERIFY(!c.guided());
    QCOMPARE(c.cond.context.size(0), 1);
    p.guidance_scale = 1.01;
    QVERIFY(pipeline::encode_text_conditioning(model, p).guided());
  }

  // A replaced model call is what the loop uses: a hook that forwards to the UNet gives
  // the default's latents bit for bit, and one that predicts zero noise gives others.
  void denoiseUsesThePluggedPredictor() {
    torch::InferenceMode inference_mode;
    auto& model = test::golden_model("tiny-sd");
    const auto p = small_params();
    auto run = [&](const pipeline::NoisePredictor& predict) {
      auto scheduler = pipeline::make_params_scheduler(model, p);
      auto generator = at::detail::createCPUGenerator(p.seed);
      pipeline::DenoiseSpec spec;
      spec.conditioning = pipeline::encode_text_conditioning(model, p);
      spec.predict = predict;
      const auto start = pipeline::noise_latents(model, p, *scheduler, generator);
      return pipeline::denoise(model, *scheduler, start.latents, spec, generator, {}, nullptr);
    };
    const auto unet = pipeline::unet_noise_predictor(model);
    int calls = 0;
    const auto counted = run([&](const torch::Tensor& x, const torch::Tensor& t, const Conditioning& c) {
      ++calls;
      return unet(x, t, c);
    });
    QCOMPARE(calls, p.steps);
    QVERIFY(torch::equal(counted, run({})));
    QVERIFY(torch::equal(counted, pipeline::text_to_image(model, p).latents));
    const auto zero = run([](const torch::Tensor& x, const torch::Tensor&, const Conditioning&) {
      return torch::zeros_like(x);
    });
    QVERIFY(!torch::equal(zero, counted));
  }

  // Residuals enter where diffusers adds a ControlNet's: zeros change nothing, a middle
  // residual changes the prediction, a wrong count is refused by name.
  void unetTakesResiduals() {
    torch::InferenceMode inference_mode;
    auto& model = test::golden_model("tiny-sd");
    auto& unet = model.unet;
    const auto x = torch::randn({1, unet->config.in_channels, 8, 8}).to(model.dtype);
    const auto t = torch::tensor(500);
    const auto context = torch::randn({1, 77, unet->config.cross_attention_dim[0]}).to(model.dtype);
    const auto plain = unet->forward(x, t, context);

    models::UNetResiduals wrong{{torch::zeros({1})}, {}};
    try {
      (void)unet->forward(x, t, context, &wrong);
      QFAIL("a residual list of the wrong length was accepted");
    } catch (const Error& e) {
      QVERIFY2(QString(e.what()).contains("down residuals"), e.what());
    }

    // Zero residuals for every skip and the middle: the same prediction bit for bit.
    models::UNetResiduals zeros;
    for (const auto& shape : skip_shapes(unet->config, 8)) zeros.down.push_back(torch::zeros(shape, model.dtype));
    const int64_t last = static_cast<int64_t>(unet->config.block_out_channels.size()) - 1;
    const int64_t side = 8 >> last;
    zeros.mid = torch::zeros({1, unet->config.block_out_channels.back(), side, side}, model.dtype);
    QVERIFY(torch::equal(unet->forward(x, t, context, &zeros), plain));

    auto shifted = zeros;
    shifted.down.back() = torch::full_like(shifted.down.back(), 0.5);
    QVERIFY(!torch::equal(unet->forward(x, t, context, &shifted), plain));
    shifted = zeros;
    shifted.mid = torch::full_like(zeros.mid, 0.5);
    QVERIFY(!torch::equal(unet->forward(x, t, context, &shifted), plain));
  }

  void familyComesFromTheConfigs() {
    QCOMPARE(io::detect_family(config_of("tiny-sd/unet/config.json"), config_of("tiny-sd/text_encoder/config.json")),
             io::ModelFamily::sd1);
    QCOMPARE(io::detect_family(config_of("families/sd2/unet/config.json"),
                               config_of("families/sd2/text_encoder/config.json")),
             io::ModelFamily::sd2);
    QCOMPARE(io::detect_family(config_of("families/sdxl/unet/config.json"),
                               config_of("families/sdxl/text_encoder/config.json")),
             io::ModelFamily::sdxl_base);
    QCOMPARE(io::detect_family(config_of("families/sdxl-refiner/unet/config.json"), QJsonObject()),
             io::ModelFamily::sdxl_refiner);
    QCOMPARE(io::family_name(io::ModelFamily::sdxl_refiner), std::string("SDXL refiner"));
  }

  void loadedBundleKnowsItsFamilyAndEncoders() {
    auto& model = test::golden_model("tiny-sd");
    QCOMPARE(model.family, io::ModelFamily::sd1);
    QCOMPARE(model.text_encoders.size(), size_t{1});
    QCOMPARE(model.text_encoders.front().name, std::string("text_encoder"));
  }
};

QTEST_GUILESS_MAIN(TestDiffusionCore)
#include "tst_diffusion_core.moc"
