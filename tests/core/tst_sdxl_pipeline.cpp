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
    const auto p = test::sdxl_text_to_image_params(golden);

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
