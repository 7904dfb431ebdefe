// ControlNetModel against diffusers 0.38 on the tiny ControlNets: the hint encoder, every
// residual (plain and guess-mode scaling, an odd latent size) and the UNet's prediction with
// and without them; both file layouts and an fp16 folder load the same numbers; a ControlNet
// of another family, a model file and a broken file are refused with the reason; the keep
// window and the control picture's preparation match the pipeline's.
#include <QtTest/QtTest>

#include "core/image/image_prep.h"
#include "core/io/safetensors.h"
#include "core/pipeline/control_guidance.h"
#include "core/pipeline/control_image.h"
#include "core/util/error.h"
#include "tests/support/controlnet_golden.h"
#include "tests/support/error_message.h"
#include "tests/support/golden.h"

using namespace latent;

namespace {

const test::GoldenSet& set() { return test::controlnet_set(); }

}  // namespace

class TestControlNetForward : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void residualsMatchDiffusers_data() {
    QTest::addColumn<QString>("id");
    QTest::addColumn<bool>("singleFile");
    for (const QString& id : set().ids("controlnet_forward")) {
      QTest::newRow(qPrintable(id + " folder")) << id << false;
      if (set().case_of(id).value("controlnet").toString() == "tiny-controlnet-a")
        QTest::newRow(qPrintable(id + " single-file")) << id << true;
    }
  }

  void residualsMatchDiffusers() {
    QFETCH(QString, id);
    QFETCH(bool, singleFile);
    torch::InferenceMode inference;
    const QJsonObject golden = set().case_of(id);
    const QJsonObject in = golden.value("inputs").toObject();
    const QJsonObject tol = golden.value("tolerance").toObject();
    const test::Tolerance residual{tol.value("residual_atol").toDouble(),
                                   tol.value("rtol").toDouble()};
    auto& cn =
        test::golden_controlnet(golden.value("controlnet").toString(), "tiny-sd", singleFile);
    auto& model = test::golden_model("tiny-sd");

    const auto sample = set().tensor(id + "/sample.npy");
    const auto context = set().tensor(id + "/encoder_hidden_states.npy");
    const auto t = torch::tensor(static_cast<float>(in.value("timestep").toDouble()));
    const auto cond = set()
                          .tensor(in.value("controlnet_cond").toObject().value("file").toString())
                          .repeat_interleave(in.value("controlnet_cond_batch").toInt(), 0);

    LATENT_COMPARE_CLOSE(cn.model->hint_embedding(cond), set().tensor(id + "/hint_embedding.npy"),
                         residual);
    const auto r =
        cn.model->forward(sample, t, context, cond, in.value("conditioning_scale").toDouble(),
                          in.value("guess_mode").toBool());
    QCOMPARE(r.down.size(), size_t{6});
    for (size_t k = 0; k < r.down.size(); ++k)
      LATENT_COMPARE_CLOSE(r.down[k], set().tensor(id + QString("/down_residual_%1.npy").arg(k)),
                           residual);
    LATENT_COMPARE_CLOSE(r.mid, set().tensor(id + "/mid_residual.npy"), residual);

    const test::Tolerance pred{tol.value("noise_pred_atol").toDouble(),
                               tol.value("rtol").toDouble()};
    LATENT_COMPARE_CLOSE(model.unet->forward(sample, t, context, &r),
                         set().tensor(id + "/unet_noise_pred_with_residuals.npy"), pred);
    LATENT_COMPARE_CLOSE(model.unet->forward(sample, t, context),
                         set().tensor(id + "/unet_noise_pred_without_residuals.npy"), pred);
  }

  // The fp16 single file and the fp32 folder hold the same (fp16-representable) numbers.
  void singleFileLoadsTheFolderWeights() {
    auto folder = test::golden_controlnet("tiny-controlnet-a").model->named_parameters();
    auto file =
        test::golden_controlnet("tiny-controlnet-a", "tiny-sd", true).model->named_parameters();
    QCOMPARE(file.size(), folder.size());
    QCOMPARE(folder.size(), size_t{178});
    for (const auto& item : folder) {
      const auto* other = file.find(item.key());
      QVERIFY2(other, item.key().c_str());
      QVERIFY2(torch::equal(*other, item.value()), item.key().c_str());
    }
  }

  void configFollowsDiffusers() {
    const auto config = models::ControlNetConfig::from_file(
        set().data_file("controlnet/models/tiny-controlnet-a/config.json").toStdString());
    QCOMPARE(config.num_down_residuals(), int64_t{6});
    QCOMPARE(config.conditioning_embedding_out_channels, (std::vector<int64_t>{16, 32, 96, 256}));
    QVERIFY(!config.bgr);
    // diffusers' from_unet: the UNet's blocks, four hint stages, RGB, the latents' channels.
    const auto derived =
        models::ControlNetConfig::from_unet(test::golden_model("tiny-sd-inpaint").unet->config);
    QCOMPARE(derived.unet.in_channels, int64_t{4});
    QCOMPARE(derived.unet.block_out_channels, config.unet.block_out_channels);
  }

  void refusesWhatIsNotAControlNetForTheModel() {
    auto& sd2 = test::golden_model("sd2/tiny-sd2");
    const auto folder = set().data_file("controlnet/models/tiny-controlnet-a").toStdString();
    const auto file = folder + ".safetensors";
    for (const auto& path : {folder, file}) {
      const QString message = test::error_message([&] {
        pipeline::load_controlnet(path, sd2.unet->config, sd2.family, sd2.device, torch::kFloat32);
      });
      QVERIFY2(message.contains("is for") && message.contains("Stable Diffusion 2.x"),
               qPrintable(message));
      QVERIFY2(message.contains(QString::fromStdString(path)), qPrintable(message));
    }
    auto& sd = test::golden_model("tiny-sd");
    const auto not_a_controlnet = test::error_message([&] {
      pipeline::load_controlnet(test::data_path("tiny-sd.safetensors").toStdString(),
                                sd.unet->config, sd.family, sd.device, torch::kFloat32);
    });
    QVERIFY2(not_a_controlnet.contains("is not a ControlNet"), qPrintable(not_a_controlnet));
    const auto missing = test::error_message([&] {
      pipeline::load_controlnet("/nonexistent/net", sd.unet->config, sd.family, sd.device,
                                torch::kFloat32);
    });
    QVERIFY2(missing.contains("does not exist"), qPrintable(missing));
    // A config that is not a ControlNet's.
    const auto unet_folder = test::error_message([&] {
      models::ControlNetConfig::from_file(
          test::data_path("tiny-sd/unet/config.json").toStdString());
    });
    QVERIFY2(unet_folder.contains("not a ControlNet"), qPrintable(unet_folder));
  }

  // A file with one tensor too many (or too few) is refused, naming it.
  void refusesIncompleteFiles() {
    auto& sd = test::golden_model("tiny-sd");
    const io::SafetensorsFile source(
        set().data_file("controlnet/models/tiny-controlnet-a.safetensors").toStdString());
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& info : source.tensors())
      if (info.name != "control_model.zero_convs.3.0.bias")
        tensors.emplace_back(info.name, source.tensor(info.name));
    QTemporaryDir dir;
    const std::string path = dir.filePath("partial.safetensors").toStdString();
    io::write_safetensors(path, tensors);
    const auto message = test::error_message([&] {
      pipeline::load_controlnet(path, sd.unet->config, sd.family, sd.device, torch::kFloat32);
    });
    QVERIFY2(message.contains("controlnet_down_blocks.3.bias"), qPrintable(message));
  }

  void keepWindowIsDiffusers() {
    // 0.2/0.8 over 10 steps: the boundary steps compare equal in double precision and stay.
    QCOMPARE(pipeline::control_keep(10, 0.2, 0.8),
             (std::vector<double>{0, 0, 1, 1, 1, 1, 1, 1, 0, 0}));
    for (const QString& id : set().ids()) {
      const QJsonObject golden = set().case_of(id);
      if (!golden.contains("control")) continue;
      const QJsonObject in = golden.value("inputs").toObject();
      const QJsonArray keep = golden.value("control").toObject().value("keep_per_step").toArray();
      const int nets = in.value("controlnets").toArray().size();
      for (int k = 0; k < nets; ++k) {
        const auto value = [&](const char* key) {
          const QJsonValue v = in.value(key);
          return v.isArray() ? v.toArray()[k].toDouble() : v.toDouble();
        };
        const auto ours = pipeline::control_keep(keep.size(), value("control_guidance_start"),
                                                 value("control_guidance_end"));
        for (int i = 0; i < keep.size(); ++i)
          QVERIFY2(ours[static_cast<size_t>(i)] == keep[i].toArray()[k].toDouble(), qPrintable(id));
      }
    }
  }

  // Pictures become [1,3,H,W] in [0,1]: exact at the size, Pillow's Lanczos when resized.
  void controlPicturesAsThePipelinePreparesThem() {
    for (const QString& id : set().ids()) {
      const QJsonObject golden = set().case_of(id);
      if (!golden.contains("control")) continue;
      const QJsonArray size = golden.value("processing_size_hw").toArray();
      const QJsonArray pictures =
          golden.value("inputs").toObject().value("control_images").toArray();
      for (int k = 0; k < pictures.size(); ++k) {
        const QJsonObject picture = pictures[k].toObject();
        if (!picture.contains("png")) continue;  // a tensor: passed as it is
        const cv::Mat pixels = image::load_image_rgb(
            test::controlnet_file(picture.value("png").toString()).toStdString());
        const auto ours = pipeline::control_image_tensor(pixels, size[1].toInt(), size[0].toInt());
        const auto expected =
            set().tensor(golden.value("outputs")
                             .toObject()
                             .value(QString("control_image_preprocessed_%1").arg(k))
                             .toObject()
                             .value("file")
                             .toString());
        QVERIFY2(torch::equal(ours, expected), qPrintable(id));
      }
    }
  }
};

QTEST_GUILESS_MAIN(TestControlNetForward)
#include "tst_controlnet_forward.moc"
