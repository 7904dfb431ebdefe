// ControlNet pipelines against diffusers 0.38 (StableDiffusionControlNet{,Img2Img,Inpaint}
// Pipeline) on the tiny SD models: one and two ControlNets, scales, start/end windows, guess
// mode, guidance off, resized control pictures, several images per prompt, image to image,
// inpainting with an ordinary and a 9-channel UNet and the inpaint condition tensor. Checks
// the noise, the residuals the UNet receives, the latents after every step and the picture.
#include <QtTest/QtTest>

#include "core/image/image_prep.h"
#include "core/pipeline/control_image.h"
#include "core/pipeline/image_to_image.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_to_image.h"
#include "tests/support/controlnet_golden.h"
#include "tests/support/golden.h"

using namespace latent;

namespace {

const test::GoldenSet& set() { return test::controlnet_set(); }

// An output array of the case, by its name in "outputs".
torch::Tensor output(const QJsonObject& golden, const QString& name) {
  return set().tensor(
      golden.value("outputs").toObject().value(name).toObject().value("file").toString());
}

double per_net(const QJsonValue& value, int k) {
  return value.isArray() ? value.toArray()[k].toDouble() : value.toDouble();
}

// The case's nets with their prepared pictures, scales and windows.
pipeline::ControlParams control_of(const QJsonObject& golden, int width, int height) {
  const QJsonObject in = golden.value("inputs").toObject();
  pipeline::ControlParams control;
  control.guess_mode = in.value("guess_mode").toBool();
  const QJsonArray nets = in.value("controlnets").toArray();
  const QJsonArray pictures = in.value("control_images").toArray();
  for (int k = 0; k < nets.size(); ++k) {
    pipeline::ControlNetUnit unit;
    unit.net = test::golden_controlnet(nets[k].toString(), golden.value("model").toString()).model;
    const QJsonObject picture = pictures[k].toObject();
    if (picture.contains("png")) {
      const cv::Mat pixels = image::load_image_rgb(
          test::controlnet_file(picture.value("png").toString()).toStdString());
      unit.image = pipeline::control_image_tensor(pixels, width, height);
    } else {
      unit.image = set().tensor(picture.value("tensor").toObject().value("file").toString());
    }
    unit.scale = per_net(in.value("controlnet_conditioning_scale"), k);
    unit.start = per_net(in.value("control_guidance_start"), k);
    unit.end = per_net(in.value("control_guidance_end"), k);
    control.units.push_back(unit);
  }
  return control;
}

template <typename Params>
void fill_sampling(Params& p, const QJsonObject& golden) {
  const QJsonObject in = golden.value("inputs").toObject();
  const QJsonArray size = golden.value("processing_size_hw").toArray();
  p.prompts = test::json_strings(in.value("prompt"));
  if (!in.value("negative_prompt").isNull())
    p.negative_prompts = test::json_strings(in.value("negative_prompt"));
  p.images_per_prompt = in.value("num_images_per_prompt").toInt(1);
  p.height = size[0].toInt();
  p.width = size[1].toInt();
  p.steps = in.value("num_inference_steps").toInt();
  p.guidance_scale = in.value("guidance_scale").toDouble();
  p.seed = static_cast<uint64_t>(in.value("seed").toDouble());
  p.sampler = golden.value("scheduler").toString().toStdString();
  p.control = control_of(golden, p.width, p.height);
}

// What the UNet receives at the recorded step, from the ControlNet's recorded input.
void compare_residuals(const QJsonObject& golden, const pipeline::ControlParams& control,
                       int64_t batch, bool guided) {
  torch::InferenceMode inference;
  const QJsonObject c = golden.value("control").toObject();
  const int step = c.value("residuals_recorded_at_step").toInt();
  const int calls = c.value("keep_per_step").toArray().size();
  auto latents = output(golden, "res_controlnet_input");
  if (control.guess_mode && guided) latents = torch::cat({latents, latents});  // the guided batch
  const auto t = output(golden, "timesteps")[step];
  const auto r = pipeline::control_residuals(control, latents, t, output(golden, "prompt_embeds"),
                                             step, calls, guided, batch);
  const test::Tolerance tol{golden.value("tolerance").toObject().value("residuals_atol").toDouble(),
                            1e-4};
  QCOMPARE(r.down.size(), size_t{6});
  for (size_t k = 0; k < r.down.size(); ++k)
    LATENT_COMPARE_CLOSE(r.down[k], output(golden, QString("res_unet_down_%1").arg(k)), tol);
  LATENT_COMPARE_CLOSE(r.mid, output(golden, "res_unet_mid"), tol);
}

// The latents after every call, the final ones and the picture.
void compare_run(const QJsonObject& golden, const std::vector<torch::Tensor>& steps,
                 const torch::Tensor& latents, const torch::Tensor& images) {
  const QJsonObject tol = golden.value("tolerance").toObject();
  const test::Tolerance latents_tol{tol.value("latents_atol").toDouble(), 0.0};
  const auto trajectory = output(golden, "latents_trajectory");
  QCOMPARE(static_cast<int64_t>(steps.size()) + 1, trajectory.size(0));
  for (size_t i = 0; i < steps.size(); ++i) {
    QString report;
    QVERIFY2(
        test::all_close(steps[i], trajectory[static_cast<int64_t>(i) + 1], latents_tol, &report),
        qPrintable(QString("after call %1: %2").arg(i).arg(report)));
  }
  LATENT_COMPARE_CLOSE(latents, output(golden, "latents_final"), latents_tol);
  const double pixels = test::max_abs_difference(images, output(golden, "image_uint8"));
  QVERIFY2(pixels <= tol.value("uint8_max_abs_diff").toDouble(),
           qPrintable(QString("pixels differ by %1").arg(pixels)));
}

}  // namespace

class TestControlNetPipeline : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void textToImage_data() {
    QTest::addColumn<QString>("id");
    for (const QString& id : set().ids("controlnet_txt2img")) QTest::newRow(qPrintable(id)) << id;
  }

  void textToImage() {
    QFETCH(QString, id);
    const QJsonObject golden = set().case_of(id);
    auto& model = test::golden_model(golden.value("model").toString());
    pipeline::TextToImageParams p;
    fill_sampling(p, golden);
    compare_residuals(golden, p.control, p.batch(), p.guided());

    std::vector<torch::Tensor> steps;
    const auto out = pipeline::text_to_image(
        model, p, [&](const pipeline::StepState& state) { steps.push_back(state.latents.cpu()); });
    QVERIFY(torch::equal(out.init_noise, output(golden, "noise")));
    LATENT_COMPARE_CLOSE(out.prompt_embeds, output(golden, "prompt_embeds"),
                         (test::Tolerance{1e-4, 1e-4}));
    compare_run(golden, steps, out.latents, out.images);
  }

  void imageToImageAndInpainting_data() {
    QTest::addColumn<QString>("id");
    for (const QString& id : set().ids("controlnet_img2img") + set().ids("controlnet_inpaint"))
      QTest::newRow(qPrintable(id)) << id;
  }

  void imageToImageAndInpainting() {
    QFETCH(QString, id);
    const QJsonObject golden = set().case_of(id);
    const QJsonObject in = golden.value("inputs").toObject();
    auto& model = test::golden_model(golden.value("model").toString());
    pipeline::ImageToImageParams p;
    fill_sampling(p, golden);
    p.strength = in.value("strength").toDouble();
    p.init_image = image::load_image_rgb(
        test::controlnet_file(in.value("image_png").toString()).toStdString());
    if (in.contains("mask_png"))
      p.mask =
          image::load_mask(test::controlnet_file(in.value("mask_png").toString()).toStdString());
    compare_residuals(golden, p.control, p.batch(), p.guided());

    std::vector<torch::Tensor> steps;
    const auto out = pipeline::image_to_image(
        model, p, [&](const pipeline::StepState& state) { steps.push_back(state.latents.cpu()); });
    QVERIFY(torch::equal(out.noise, output(golden, "noise")));
    compare_run(golden, steps, out.latents, out.images);
  }
};

QTEST_GUILESS_MAIN(TestControlNetPipeline)
#include "tst_controlnet_pipeline.moc"
