#include <QtTest/QtTest>

#include "core/io/safetensors.h"
#include "core/util/error.h"
#include "tests/support/golden.h"

using latent::io::SafetensorsFile;

class TestSafetensors : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void readsDiffusersUnet();
  void roundTripsThroughWriter();
};

void TestSafetensors::readsDiffusersUnet() {
  SafetensorsFile file(latent::test::data_path("tiny-sd/unet/diffusion_pytorch_model.safetensors").toStdString());
  QVERIFY(file.contains("conv_in.weight"));
  const auto w = file.tensor("conv_in.weight");
  QCOMPARE(w.sizes().vec(), (std::vector<int64_t>{32, 4, 3, 3}));
  QVERIFY(torch::isfinite(w).all().item<bool>());
}

void TestSafetensors::roundTripsThroughWriter() {
  QTemporaryDir dir;
  const std::string path = (dir.path() + "/t.safetensors").toStdString();
  auto a = torch::arange(12, torch::kFloat32).reshape({3, 4});
  auto b = torch::tensor({1, 2, 3}, torch::kInt64);
  auto c = torch::randn({5}).to(torch::kBFloat16);
  latent::io::write_safetensors(path, {{"a", a}, {"b", b}, {"c", c}}, {{"format", "pt"}});
  SafetensorsFile file(path);
  QVERIFY(torch::equal(file.tensor("a"), a));
  QVERIFY(torch::equal(file.tensor("b"), b));
  QVERIFY(torch::equal(file.tensor("c"), c));
  QCOMPARE(QString::fromStdString(file.metadata().at("format")), QString("pt"));
  QVERIFY(file.unchanged_on_disk());
}

QTEST_GUILESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
