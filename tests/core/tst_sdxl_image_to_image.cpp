// SDXL image to image and inpainting against diffusers' StableDiffusionXLImg2ImgPipeline
// (base and refiner, with the refiner's aesthetic-score time ids) and
// StableDiffusionXLInpaintPipeline (its default strength 0.9999 skips the first timestep).
#include <QtTest/QtTest>

#include <QJsonArray>

#include "core/image/image_prep.h"
#include "core/pipeline/image_to_image.h"
#include "core/pipeline/model_bundle.h"
#include "tests/support/golden.h"
#include "tests/support/golden_set.h"

using namespace latent;

namespace {

const test::GoldenSet& sdxl() {
  static const test::GoldenSet set("sdxl");
  return set;
}

torch::Tensor output_of(const QJsonObject& golden, const QString& name) {
  return sdxl().tensor(golden.value("outputs").toObject().value(name).toObject().value("file").toString());
}

std::string input_file(const QString& relative) {
  return test::data_path("sdxl/golden/" + relative).toStdString();
}

pipeline::ImageToImageParams params_of(const QJsonObject& golden) {
  const QJsonObject in = golden.value("inputs").toObject();
  const QJsonArray size = golden.value("processing_size_hw").toArray();
  pipeline::ImageToImageParams p;
  p.prompts = test::json_strings(in.value("prompt"));
  p.images_per_prompt = in.value("num_images_per_prompt").toInt(1);
  p.height = size.at(0).toInt();
  p.width = size.at(1).toInt();
  p.steps = in.value("num_inference_steps").toInt();
  p.guidance_scale = in.value("guidance_scale").toDouble();
  p.seed = static_cast<uint64_t>(in.value("seed").toDouble());
  p.sampler = golden.value("scheduler").toString().toStdString();
  p.strength = golden.value("strength_schedule").toObject().value("strength").toDouble();
  p.aesthetic_score = in.value("aesthetic_score").toDouble(6.0);
  p.negative_aesthetic_score = in.value("negative_aesthetic_score").toDouble(2.5);
  p.init_image = image::load_image_rgb(input_file(in.value("image_png").toString()));
  if (in.contains("mask_png")) p.mask = image::load_mask(input_file(in.value("mask_png").toString()));
  return p;
}

}  // namespace

class TestSdxlImageToImage : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void matchesDiffusers_data() {
    QTest::addColumn<QString>("id");
    for (const QString& id : sdxl().ids("img2img_sdxl") + sdxl().ids("inpaint_sdxl"))
      QTest::newRow(qPrintable(id)) << id;
  }

  void matchesDiffusers() {
    QFETCH(QString, id);
    const QJsonObject golden = sdxl().case_of(id);
    const QJsonObject tol = golden.value("tolerance").toObject();
    auto& model = test::golden_model("sdxl/" + golden.value("model").toString());
    QCOMPARE(model.requires_aesthetics_score, golden.value("requires_aesthetics_score").toBool());
    QCOMPARE(model.force_zeros_for_empty_prompt, golden.value("force_zeros_for_empty_prompt").toBool());

    const auto out = pipeline::image_to_image(model, params_of(golden));
    LATENT_COMPARE_CLOSE(out.prompt_embeds, output_of(golden, "prompt_embeds"), (test::Tolerance{1e-4, 1e-4}));
    const test::Tolerance latents{tol.value("latents_atol").toDouble(), 0.0};
    LATENT_COMPARE_CLOSE(out.latents_init, output_of(golden, "latents_init"), latents);
    const auto timesteps = output_of(golden, "timesteps").to(torch::kFloat64);
    QCOMPARE(static_cast<int64_t>(out.timesteps.size()), timesteps.numel());
    for (int64_t i = 0; i < timesteps.numel(); ++i)
      QCOMPARE(static_cast<float>(out.timesteps[i]), static_cast<float>(timesteps[i].item<double>()));
    LATENT_COMPARE_CLOSE(out.latents, output_of(golden, "latents_final"), latents);
    const double pixels = test::max_abs_difference(out.images, output_of(golden, "image_uint8"));
    QVERIFY2(pixels <= tol.value("uint8_max_abs_diff").toDouble(),
             qPrintable(QString("pixels differ by %1").arg(pixels)));
  }
};

QTEST_GUILESS_MAIN(TestSdxlImageToImage)
#include "tst_sdxl_image_to_image.moc"
