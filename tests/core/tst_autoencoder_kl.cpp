#include <ATen/CPUGeneratorImpl.h>

#include <QJsonArray>
#include <QRegularExpression>
#include <QtTest/QtTest>

#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/image/tensor_image.h"
#include "core/models/autoencoder_kl.h"
#include "core/util/error.h"
#include "tests/support/golden.h"

using latent::models::AutoencoderKL;
using latent::models::AutoencoderKLConfig;

namespace {

AutoencoderKL load_vae(const QString& model_folder) {
  const auto dir = latent::test::data_path(model_folder + "/vae/");
  auto vae = AutoencoderKL(AutoencoderKLConfig::from_file((dir + "config.json").toStdString()));
  const std::string weights = (dir + "diffusion_pytorch_model.safetensors").toStdString();
  latent::io::SafetensorsFile file(weights);
  const auto tensors = latent::io::read_tensors(file);
  latent::io::load_state_dict(*vae, tensors, weights, {}, /*allow_unexpected=*/false);
  vae->eval();
  return vae;
}

torch::Tensor input_of(const QJsonObject& golden, const char* name) {
  return latent::test::golden_tensor(
      golden.value("inputs").toObject().value(name).toObject().value("file").toString());
}

torch::Tensor output_of(const QJsonObject& golden, const char* name) {
  return latent::test::golden_tensor(
      golden.value("outputs").toObject().value(name).toObject().value("file").toString());
}

}  // namespace

class TestAutoencoderKL : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void readsConfig();
  void rejectsUnsupportedConfig();
  void namesParametersLikeDiffusers();
  void decodesLikeDiffusers_data();
  void decodesLikeDiffusers();
  void encodesLikeDiffusers_data();
  void encodesLikeDiffusers();
  void roundsHalfToEven();
  void runsInBFloat16();
  void rejectsBadInput();
};

void TestAutoencoderKL::initTestCase() { torch::set_num_threads(2); }

void TestAutoencoderKL::readsConfig() {
  const auto c = AutoencoderKLConfig::from_file(
      latent::test::data_path("tiny-sd-full/vae/config.json").toStdString());
  QCOMPARE(c.block_out_channels, (std::vector<int64_t>{32, 32, 32, 64}));
  QCOMPARE(c.layers_per_block, int64_t{2});
  QCOMPARE(c.latent_channels, int64_t{4});
  QCOMPARE(c.norm_num_groups, int64_t{32});
  QCOMPARE(c.scaling_factor, 0.18215);
  QCOMPARE(c.downscale_factor(), int64_t{8});
  QVERIFY(c.use_quant_conv && c.use_post_quant_conv && c.mid_block_add_attention);
}

void TestAutoencoderKL::rejectsUnsupportedConfig() {
  using latent::Error;
  QVERIFY_THROWS_EXCEPTION(Error, AutoencoderKLConfig::from_json(QJsonObject{{"act_fn", "gelu"}}));
  QVERIFY_THROWS_EXCEPTION(Error, AutoencoderKLConfig::from_json(QJsonObject{
                                      {"block_out_channels", QJsonArray{32, 32}},
                                      {"down_block_types", QJsonArray{"DownEncoderBlock2D"}}}));
  QVERIFY_THROWS_EXCEPTION(Error, AutoencoderKLConfig::from_json(
                                      QJsonObject{{"block_out_channels", QJsonArray{32}},
                                                  {"up_block_types", QJsonArray{"UpBlock2D"}}}));
  QVERIFY_THROWS_EXCEPTION(
      Error, AutoencoderKLConfig::from_json(QJsonObject{{"block_out_channels", QJsonArray{48}}}));
  QVERIFY_THROWS_EXCEPTION(Error,
                           AutoencoderKLConfig::from_json(QJsonObject{{"layers_per_block", 1.5}}));
}

void TestAutoencoderKL::namesParametersLikeDiffusers() {
  // Every key of the diffusers file and no other (load_state_dict refuses unexpected ones here).
  auto vae = load_vae("tiny-sd-full");
  const auto params = vae->named_parameters();
  QVERIFY(params.contains("encoder.down_blocks.3.resnets.0.conv_shortcut.weight"));
  QVERIFY(params.contains("decoder.up_blocks.0.resnets.2.conv1.weight"));
  QVERIFY(params.contains("decoder.up_blocks.2.upsamplers.0.conv.weight"));
  QVERIFY(!params.contains("decoder.up_blocks.3.upsamplers.0.conv.weight"));
  QVERIFY(params.contains("encoder.mid_block.attentions.0.to_out.0.bias"));
  latent::io::SafetensorsFile file(
      latent::test::data_path("tiny-sd-full/vae/diffusion_pytorch_model.safetensors")
          .toStdString());
  QCOMPARE(static_cast<size_t>(params.size()), file.tensors().size());
}

void TestAutoencoderKL::decodesLikeDiffusers_data() {
  QTest::addColumn<QString>("case_id");
  for (const char* id : {"vae_decode_tiny_sd", "vae_decode_tiny_sd_6x5", "vae_decode_tiny_sd_full",
                         "vae_decode_tiny_sd_full_batch2_16x12"})
    QTest::newRow(id) << id;
}

void TestAutoencoderKL::decodesLikeDiffusers() {
  QFETCH(QString, case_id);
  torch::InferenceMode guard;
  const QJsonObject golden = latent::test::golden_case(case_id);
  const auto tol = latent::test::tolerance_of(golden);
  auto vae = load_vae(golden.value("model").toString());
  const double scaling = golden.value("inputs").toObject().value("scaling_factor").toDouble();
  QCOMPARE(vae->scaling_factor(), scaling);

  const auto decoded = vae->decode(input_of(golden, "latents") / scaling);
  LATENT_COMPARE_CLOSE(decoded, output_of(golden, "decoded"), tol);
  LATENT_COMPARE_CLOSE(latent::image::decoded_to_unit_nhwc(decoded),
                       output_of(golden, "image_nhwc_01"), tol);

  const auto image = latent::image::decoded_to_uint8(decoded);
  const auto expected = output_of(golden, "image_uint8");
  QCOMPARE(image.scalar_type(), torch::kUInt8);
  QCOMPARE(image.sizes().vec(), expected.sizes().vec());
  const int max_diff = golden.value("tolerance").toObject().value("uint8_max_abs_diff").toInt(0);
  const int diff = (image.to(torch::kInt32) - expected.to(torch::kInt32)).abs().max().item<int>();
  QVERIFY2(diff <= max_diff,
           qPrintable(QString("uint8 differs by %1 (allowed %2)").arg(diff).arg(max_diff)));
}

void TestAutoencoderKL::encodesLikeDiffusers_data() {
  QTest::addColumn<QString>("case_id");
  for (const char* id :
       {"vae_encode_tiny_sd", "vae_encode_tiny_sd_full", "vae_encode_tiny_sd_full_48x40"})
    QTest::newRow(id) << id;
}

void TestAutoencoderKL::encodesLikeDiffusers() {
  QFETCH(QString, case_id);
  torch::InferenceMode guard;
  const QJsonObject golden = latent::test::golden_case(case_id);
  const auto tol = latent::test::tolerance_of(golden);
  auto vae = load_vae(golden.value("model").toString());

  const auto dist = vae->encode(input_of(golden, "image"));
  LATENT_COMPARE_CLOSE(dist.mean, output_of(golden, "mean"), tol);
  LATENT_COMPARE_CLOSE(dist.std, output_of(golden, "std"), tol);
  LATENT_COMPARE_CLOSE(dist.logvar, output_of(golden, "logvar"), tol);
  LATENT_COMPARE_CLOSE(torch::cat({dist.mean, dist.logvar}, 1), output_of(golden, "moments"), tol);

  // The seed is written in the case's call text: "... manual_seed(13)) = mean + std * randn".
  const auto seed_match =
      QRegularExpression("manual_seed\\((\\d+)\\)").match(golden.value("call").toString());
  QVERIFY(seed_match.hasMatch());
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed_match.captured(1).toULongLong());
  const auto sample = dist.sample(generator);
  LATENT_COMPARE_CLOSE(sample, output_of(golden, "sample"), tol);
  LATENT_COMPARE_CLOSE(sample * vae->scaling_factor(),
                       output_of(golden, "sample_times_scaling_factor"), tol);
}

void TestAutoencoderKL::roundsHalfToEven() {
  // (x/2 + 0.5)·255 lands exactly on .5 for these values: numpy rounds to even.
  const auto unit = torch::tensor({0.5f / 255, 1.5f / 255, 2.5f / 255, 254.5f / 255});
  const auto decoded = ((unit - 0.5) * 2).view({1, 1, 1, 4});
  const auto bytes = latent::image::decoded_to_uint8(decoded).flatten();
  const auto expected_unit = latent::image::decoded_to_unit_nhwc(decoded).flatten() * 255;
  for (int64_t i = 0; i < bytes.numel(); ++i)
    QCOMPARE(bytes[i].item<int>(),
             static_cast<int>(std::nearbyint(expected_unit[i].item<float>())));
  const auto clamped =
      latent::image::decoded_to_uint8(torch::tensor({-3.f, 3.f}).view({1, 1, 1, 2}));
  QCOMPARE(clamped.flatten()[0].item<int>(), 0);
  QCOMPARE(clamped.flatten()[1].item<int>(), 255);
}

void TestAutoencoderKL::runsInBFloat16() {
  torch::InferenceMode guard;
  auto vae = load_vae("tiny-sd-full");
  vae->to(torch::kBFloat16);
  const QJsonObject golden = latent::test::golden_case("vae_decode_tiny_sd_full");
  const auto decoded = vae->decode(input_of(golden, "latents") / vae->scaling_factor());
  QCOMPARE(decoded.scalar_type(), torch::kBFloat16);
  QVERIFY(torch::isfinite(decoded).all().item<bool>());
  const auto expected = output_of(golden, "decoded");
  const double err = (decoded.to(torch::kFloat32) - expected).abs().mean().item<double>();
  QVERIFY2(err < 0.05 * expected.abs().mean().item<double>(), qPrintable(QString::number(err)));

  const QJsonObject enc = latent::test::golden_case("vae_encode_tiny_sd_full");
  const auto dist = vae->encode(input_of(enc, "image"));
  QCOMPARE(dist.mean.scalar_type(), torch::kBFloat16);
  QVERIFY(torch::isfinite(dist.std).all().item<bool>());
}

void TestAutoencoderKL::rejectsBadInput() {
  torch::InferenceMode guard;
  auto vae = load_vae("tiny-sd");
  QVERIFY_THROWS_EXCEPTION(latent::Error, vae->decode(torch::zeros({1, 3, 8, 8})));
  QVERIFY_THROWS_EXCEPTION(latent::Error, vae->decode(torch::zeros({4, 8, 8})));
  QVERIFY_THROWS_EXCEPTION(latent::Error, vae->encode(torch::zeros({1, 4, 64, 64})));
  QVERIFY_THROWS_EXCEPTION(latent::Error, vae->encode(torch::Tensor()));
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           latent::image::decoded_to_uint8(torch::zeros({3, 8, 8})));
}

QTEST_GUILESS_MAIN(TestAutoencoderKL)
#include "tst_autoencoder_kl.moc"
