// SDXL text to image against diffusers' StableDiffusionXLPipeline on the tiny SDXL base:
// the conditioning the UNet saw (prompt embeddings, pooled embeddings, time ids), the
// initial noise, every step's latents and the decoded picture, from the folder and from
// the single file.
#include <QtTest/QtTest>

#include <QJsonArray>

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_conditioning.h"
#include "core/pipeline/text_to_image.h"
#include "tests/support/golden.h"
#include "tests/support/golden_set.h"

using namespace latent;

namespace {

const test::GoldenSet& sdxl() {
  static const test::GoldenSet set("sdxl");
  return set;
}

std::vector<std::string> strings_or_empty(const QJsonValue& value) {
  return value.isNull() || value.isUndefined() ? std::vector<std::string>{} : test::json_strings(value);
}

// A [h, w] pair of the inputs, or 0 × 0 when absent.
std::pair<int, int> size_of(const QJsonValue& value) {
  const QJsonArray pair = value.toArray();
  return pair.size() == 2 ? std::pair{pair[0].toInt(), pair[1].toInt()} : std::pair{0, 0};
}

pipeline::TextToImageParams sdxl_params(const QJsonObject& golden) {
  const QJsonObject in = golden.value("inputs").toObject();
  const QJsonObject effective = golden.value("effective").toObject();
  pipeline::TextToImageParams p;
  p.prompts = test::json_strings(in.value("prompt"));
  p.prompts_2 = strings_or_empty(in.value("prompt_2"));
  p.negative_prompts = strings_or_empty(in.value("negative_prompt"));
  p.negative_prompts_2 = strings_or_empty(in.value("negative_prompt_2"));
  p.images_per_prompt = in.value("num_images_per_prompt").toInt(1);
  p.width = effective.value("width").toInt();
  p.height = effective.value("height").toInt();
  p.steps = in.value("num_inference_steps").toInt();
  p.guidance_scale = in.value("guidance_scale").toDouble();
  p.guidance_rescale = in.value("guidance_rescale").toDouble();
  p.seed = static_cast<uint64_t>(in.value("seed").toDouble());
  p.sampler = golden.value("scheduler").toString().toStdString();
  p.clip_skip = in.value("clip_skip").isNull() ? 0 : in.value("clip_skip").toInt();
  p.eta = in.value("eta").toDouble();
  std::tie(p.original_height, p.original_width) = size_of(in.value("original_size"));
  std::tie(p.target_height, p.target_width) = size_of(in.value("target_size"));
  std::tie(p.crop_top, p.crop_left) = size_of(in.value("crops_coords_top_left"));
  std::tie(p.negative_original_height, p.negative_original_width) = size_of(in.value("negative_original_size"));
  std::tie(p.negative_target_height, p.negative_target_width) = size_of(in.value("negative_target_size"));
  std::tie(p.negative_crop_top, p.negative_crop_left) = size_of(in.value("negative_crops_coords_top_left"));
  return p;
}

}  // namespace

class TestSdxlPipeline : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void matchesDiffusers_data() {
    QTest::addColumn<QString>("id");
    QTest::addColumn<bool>("singleFile");
    for (const QString& id : sdxl().ids("pipeline_sdxl")) {
      if (sdxl().case_of(id).contains("lora")) continue;  // LoRA cases: tst_sdxl_lora
      QTest::newRow(qPrintable(id + " folder")) << id << false;
      QTest::newRow(qPrintable(id + " single-file")) << id << true;
    }
  }

  void matchesDiffusers() {
    QFETCH(QString, id);
    QFETCH(bool, singleFile);
    const QJsonObject golden = sdxl().case_of(id);
    const QJsonObject tol = golden.value("tolerance").toObject();
    auto& model = test::golden_model("sdxl/tiny-sdxl", singleFile);
    QCOMPARE(model.family, io::ModelFamily::sdxl_base);
    const auto p = sdxl_params(golden);

    const auto conditioning = pipeline::encode_text_conditioning(model, p).batched();
    const test::Tolerance embeds{1e-4, 1e-4};
    LATENT_COMPARE_CLOSE(conditioning.context, sdxl().tensor(id + "/prompt_embeds.npy"), embeds);
    LATENT_COMPARE_CLOSE(conditioning.pooled, sdxl().tensor(id + "/add_text_embeds.npy"), embeds);
    QVERIFY(torch::equal(conditioning.time_ids.cpu(), sdxl().tensor(id + "/add_time_ids.npy")));

    std::vector<torch::Tensor> steps;
    const auto output = pipeline::text_to_image(
        model, p, [&](const pipeline::StepState& state) { steps.push_back(state.latents.cpu()); });
    QVERIFY2(torch::equal(output.init_noise, sdxl().tensor(id + "/init_noise.npy")),
             "the initial noise differs from torch's CPU generator");
    const auto timesteps = sdxl().tensor(id + "/timesteps.npy").to(torch::kFloat64);
    QCOMPARE(static_cast<int64_t>(output.timesteps.size()), timesteps.numel());
    for (int64_t i = 0; i < timesteps.numel(); ++i)
      QCOMPARE(static_cast<float>(output.timesteps[i]), static_cast<float>(timesteps[i].item<double>()));

    const test::Tolerance latents{tol.value("latents_atol").toDouble(), 0.0};
    const auto trajectory = sdxl().tensor(id + "/latents_trajectory.npy");  // [steps + 1, B, 4, h, w]
    QCOMPARE(static_cast<int64_t>(steps.size()) + 1, trajectory.size(0));
    for (size_t i = 0; i < steps.size(); ++i) LATENT_COMPARE_CLOSE(steps[i], trajectory[i + 1], latents);
    LATENT_COMPARE_CLOSE(output.latents, sdxl().tensor(id + "/latents_final.npy"), latents);
    const double pixels = test::max_abs_difference(output.images, sdxl().tensor(id + "/image_uint8.npy"));
    QVERIFY2(pixels <= tol.value("uint8_max_abs_diff").toDouble(),
             qPrintable(QString("pixels differ by %1").arg(pixels)));
  }
};

QTEST_GUILESS_MAIN(TestSdxlPipeline)
#include "tst_sdxl_pipeline.moc"
