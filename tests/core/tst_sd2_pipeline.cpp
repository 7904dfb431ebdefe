// Stable Diffusion 2.x text to image against diffusers' StableDiffusionPipeline on the tiny
// SD 2.x model: v-prediction with each sampler diffusers' cases use, guidance rescale, zero
// terminal SNR with trailing spacing, clip skip, the default size and an epsilon "2.x base"
// case; the prompt embeddings, the initial noise, the timesteps, every step's latents and
// the decoded picture, from the folder and from the single file (its bundled-config-free
// load is in tst_sd2_loading).
#include <QtTest/QtTest>

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_to_image.h"
#include "tests/support/golden.h"
#include "tests/support/golden_set.h"

using namespace latent;

namespace {

const test::GoldenSet& sd2() {
  static const test::GoldenSet set("sd2");
  return set;
}

// The tiny model as the case's scheduler config has it: the folder's config predicts v; the
// "2.x base" case is an epsilon model, which is what LoadOptions::prediction says.
pipeline::ModelBundle& model_for(const QJsonObject& golden, bool single_file) {
  const std::string prediction =
      golden.value("scheduler_config").toObject().value("prediction_type").toString().toStdString();
  if (prediction == "v_prediction") return test::golden_model("sd2/tiny-sd2", single_file);
  static std::map<bool, std::unique_ptr<pipeline::ModelBundle>> epsilon;
  auto& slot = epsilon[single_file];
  if (!slot) {
    api::LoadOptions options;
    const QString folder = test::data_path("sd2/tiny-sd2");
    options.model_path = (single_file ? folder + ".safetensors" : folder).toStdString();
    if (single_file) options.config_dir = folder.toStdString();
    options.device = test::test_device();
    options.prediction = prediction;
    slot = pipeline::load_model_bundle(options);
  }
  return *slot;
}

}  // namespace

class TestSd2Pipeline : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void matchesDiffusers_data() {
    QTest::addColumn<QString>("id");
    QTest::addColumn<bool>("singleFile");
    for (const QString& id : sd2().ids("pipeline")) {
      QTest::newRow(qPrintable(id + " folder")) << id << false;
      QTest::newRow(qPrintable(id + " single-file")) << id << true;
    }
  }

  void matchesDiffusers() {
    QFETCH(QString, id);
    QFETCH(bool, singleFile);
    const QJsonObject golden = sd2().case_of(id);
    auto& model = model_for(golden, singleFile);
    QCOMPARE(model.family, io::ModelFamily::sd2);
    QCOMPARE(QString::fromStdString(model.prediction_type()),
             golden.value("scheduler_config").toObject().value("prediction_type").toString());
    const auto p = test::sd2_text_to_image_params(golden);

    std::vector<torch::Tensor> steps;
    const auto output = pipeline::text_to_image(
        model, p, [&](const pipeline::StepState& state) { steps.push_back(state.latents.cpu()); });
    LATENT_COMPARE_CLOSE(output.prompt_embeds, sd2().tensor(id + "/prompt_embeds.npy"),
                         (test::Tolerance{1e-4, 1e-4}));
    const QString mismatch = test::compare_text_to_image_run(sd2(), id, output, steps);
    QVERIFY2(mismatch.isEmpty(), qPrintable(mismatch));
  }
};

QTEST_GUILESS_MAIN(TestSd2Pipeline)
#include "tst_sd2_pipeline.moc"
