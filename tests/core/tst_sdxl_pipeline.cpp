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
    const QString mismatch = test::compare_text_to_image_run(sdxl(), id, output, steps);
    QVERIFY2(mismatch.isEmpty(), qPrintable(mismatch));
  }
};

QTEST_GUILESS_MAIN(TestSdxlPipeline)
#include "tst_sdxl_pipeline.moc"
