// LoRA on Stable Diffusion 2.x: kohya and diffusers/PEFT files reach the 2.x UNet's linear
// proj_in/proj_out (1×1 convolutions in SD 1.x) and the OpenCLIP text encoder stored in
// transformers' names, each delta exactly multiplier · alpha/rank · up·down; switching and
// clearing restore the base bit for bit; SD 1.x and SDXL LoRAs are refused on 2.x.
#include <QtTest/QtTest>

#include <QTemporaryDir>

#include "core/models/lora.h"
#include "core/pipeline/lora_set.h"
#include "core/pipeline/model_bundle.h"
#include "core/util/error.h"
#include "tests/support/golden.h"
#include "tests/support/model_weights.h"

using namespace latent;

namespace {

pipeline::ModelBundle& sd2_model() { return test::golden_model("sd2/tiny-sd2"); }

torch::Tensor factor(std::vector<int64_t> shape, uint64_t seed) {
  const auto generator = at::detail::createCPUGenerator(seed);
  return at::randn(shape, generator) * 0.05;
}

}  // namespace

class TestSd2Lora : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() {
    torch::set_num_threads(2);
    QVERIFY(tmp_.isValid());
  }

  void randomKohyaLoraFitsEveryModule() {
    auto& model = sd2_model();
    QCOMPARE(model.family, io::ModelFamily::sd2);
    pipeline::LoraSet set(model);
    const auto before = test::snapshot(model);
    const std::string path = test::write_lora(
        tmp_, "random-sd2.safetensors", models::random_kohya_lora(set.targets(), 2, 1.0, /*locon=*/true, 5));
    const auto applied = set.apply({{path, 0.7}}, /*allow_partial=*/false);  // refuses a misfit
    QCOMPARE(applied.size(), std::size_t(1));
    const auto touched = test::changed(model, before);
    const auto in = [&](const std::string& name) { return std::find(touched.begin(), touched.end(), name) != touched.end(); };
    QVERIFY(in("unet/down_blocks.0.attentions.0.proj_in.weight"));
    QVERIFY(in("unet/down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"));
    QVERIFY(in("text_encoder/text_model.encoder.layers.0.self_attn.q_proj.weight"));
    set.clear();
    QVERIFY(test::changed(model, before).empty());
  }

  // The 2.x UNet's proj_in is a linear layer: a kohya delta is up·down scaled by alpha/rank.
  void kohyaDeltaOnTheLinearProjectionAndTheTextEncoder() {
    auto& model = sd2_model();
    pipeline::LoraSet set(model);
    const auto before = test::snapshot(model);
    const auto& proj_in = before.at("unet/down_blocks.0.attentions.0.proj_in.weight");
    const auto& q_proj = before.at("text_encoder/text_model.encoder.layers.0.self_attn.q_proj.weight");
    QCOMPARE(proj_in.dim(), 2);  // use_linear_projection
    const int64_t rank = 2;
    const double alpha = 4.0, multiplier = 0.5;
    const auto unet_down = factor({rank, proj_in.size(1)}, 1), unet_up = factor({proj_in.size(0), rank}, 2);
    const auto te_down = factor({rank, q_proj.size(1)}, 3), te_up = factor({q_proj.size(0), rank}, 4);
    const std::string unet = "lora_unet_down_blocks_0_attentions_0_proj_in";
    const std::string te = "lora_te_text_model_encoder_layers_0_self_attn_q_proj";
    const std::string path = test::write_lora(tmp_, "kohya-sd2.safetensors",
                                              {{unet + ".lora_down.weight", unet_down},
                                               {unet + ".lora_up.weight", unet_up},
                                               {unet + ".alpha", torch::tensor(alpha)},
                                               {te + ".lora_down.weight", te_down},
                                               {te + ".lora_up.weight", te_up},
                                               {te + ".alpha", torch::tensor(alpha)}});
    set.apply({{path, multiplier}}, false);
    const auto after = test::snapshot(model);
    const test::Tolerance tight{1e-6, 1e-5};
    LATENT_COMPARE_CLOSE(after.at("unet/down_blocks.0.attentions.0.proj_in.weight"),
                         proj_in + multiplier * alpha / rank * torch::matmul(unet_up, unet_down), tight);
    LATENT_COMPARE_CLOSE(after.at("text_encoder/text_model.encoder.layers.0.self_attn.q_proj.weight"),
                         q_proj + multiplier * alpha / rank * torch::matmul(te_up, te_down), tight);
    QCOMPARE(test::changed(model, before).size(), std::size_t(2));
    set.clear();
    QVERIFY(test::changed(model, before).empty());
  }

  // diffusers/PEFT names (lora_A, lora_B, no alpha: scale 1) reach the same modules.
  void peftNamesReachTheSameModules() {
    auto& model = sd2_model();
    pipeline::LoraSet set(model);
    const auto before = test::snapshot(model);
    const auto& proj_out = before.at("unet/up_blocks.1.attentions.0.proj_out.weight");
    const auto& v_proj = before.at("text_encoder/text_model.encoder.layers.1.self_attn.v_proj.weight");
    const auto a = factor({2, proj_out.size(1)}, 5), b = factor({proj_out.size(0), 2}, 6);
    const auto te_a = factor({2, v_proj.size(1)}, 7), te_b = factor({v_proj.size(0), 2}, 8);
    const std::string path = test::write_lora(
        tmp_, "peft-sd2.safetensors",
        {{"unet.up_blocks.1.attentions.0.proj_out.lora_A.weight", a},
         {"unet.up_blocks.1.attentions.0.proj_out.lora_B.weight", b},
         {"text_encoder.text_model.encoder.layers.1.self_attn.v_proj.lora_A.weight", te_a},
         {"text_encoder.text_model.encoder.layers.1.self_attn.v_proj.lora_B.weight", te_b}});
    set.apply({{path, 1.0}}, false);
    const auto after = test::snapshot(model);
    const test::Tolerance tight{1e-6, 1e-5};
    LATENT_COMPARE_CLOSE(after.at("unet/up_blocks.1.attentions.0.proj_out.weight"), proj_out + torch::matmul(b, a), tight);
    LATENT_COMPARE_CLOSE(after.at("text_encoder/text_model.encoder.layers.1.self_attn.v_proj.weight"),
                         v_proj + torch::matmul(te_b, te_a), tight);
    set.clear();
    QVERIFY(test::changed(model, before).empty());
  }

  void loraOfAnotherFamilyIsRefused_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("family");
    QTest::newRow("SD 1.x") << "lora/tiny-sd-lora-kohya.safetensors" << "Stable Diffusion 1";
    QTest::newRow("SDXL") << "sdxl/lora/tiny-sdxl-lora-kohya.safetensors" << "SDXL";
  }
  void loraOfAnotherFamilyIsRefused() {
    QFETCH(QString, file);
    QFETCH(QString, family);
    auto& model = sd2_model();
    const auto before = test::snapshot(model);
    pipeline::LoraSet set(model);
    try {
      set.apply({{test::data_path(file).toStdString(), 1.0}}, /*allow_partial=*/true);
      QFAIL("a LoRA of another family was applied");
    } catch (const Error& error) {
      const QString message = QString::fromUtf8(error.what());
      QVERIFY2(message.contains(family), qPrintable(message));
      QVERIFY2(message.contains("Stable Diffusion 2.x"), qPrintable(message));
    }
    QVERIFY(test::changed(model, before).empty());
  }

 private:
  QTemporaryDir tmp_;
};

QTEST_GUILESS_MAIN(TestSd2Lora)
#include "tst_sd2_lora.moc"
