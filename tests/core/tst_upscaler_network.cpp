// Upscaler networks (RRDBNet in BasicSR's and the original ESRGAN's key names, compact
// SRVGGNetCompact) from .safetensors files written here with small random weights, and
// the tiled run that keeps large pictures within memory.
#include <QtTest/QtTest>

#include <QFile>
#include <QTemporaryDir>

#include <regex>

#include "core/io/safetensors.h"
#include "core/models/rrdbnet.h"
#include "core/models/srvgg.h"
#include "core/pipeline/tiled_upscale.h"
#include "core/pipeline/upscaler_network.h"
#include "core/util/error.h"

using namespace latent;

namespace {

using Named = std::vector<std::pair<std::string, torch::Tensor>>;

Named weights_of(torch::nn::Module& module, const std::string& prefix = "") {
  Named out;
  for (const auto& item : module.named_parameters()) out.emplace_back(prefix + item.key(), item.value());
  return out;
}

std::string write(const QTemporaryDir& dir, const QString& name, const Named& tensors) {
  const std::string path = dir.filePath(name).toStdString();
  io::write_safetensors(path, tensors);
  return path;
}

// Small random networks, reproducible.
models::RRDBNet small_rrdbnet(int64_t scale) {
  torch::manual_seed(11 + scale);
  models::RRDBNetConfig c;
  c.features = 8;
  c.growth = 4;
  c.blocks = 2;
  c.scale = scale;
  return models::RRDBNet(c);
}

models::SRVGGNetCompact small_srvgg() {
  torch::manual_seed(21);
  models::SRVGGConfig c;
  c.features = 8;
  c.convs = 3;
  c.scale = 4;
  return models::SRVGGNetCompact(c);
}

torch::Tensor picture(int64_t h, int64_t w) {
  torch::manual_seed(5);
  return torch::rand({1, 3, h, w});
}

// What loading `path` refuses it with; empty when it loads.
QString load_error(const std::string& path) {
  try {
    pipeline::load_upscaler_network(path);
  } catch (const Error& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

class TestUpscalerNetwork : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void rrdbnetSizesFromTheWeights_data();
  void rrdbnetSizesFromTheWeights();
  void tiledEqualsWhole_data();
  void tiledEqualsWhole();
  void originalEsrganNames();
  void realEsrganWrapper();
  void compactNetwork();
  void picturesReachTheirSize();
  void refusals();
 private:
  QTemporaryDir dir_;
};

void TestUpscalerNetwork::rrdbnetSizesFromTheWeights_data() {
  QTest::addColumn<int>("scale");
  QTest::newRow("x4") << 4;
  QTest::newRow("x2") << 2;
  QTest::newRow("x1") << 1;
}

void TestUpscalerNetwork::rrdbnetSizesFromTheWeights() {
  QFETCH(int, scale);
  auto module = small_rrdbnet(scale);
  const auto path = write(dir_, QString("rrdb-x%1.safetensors").arg(scale), weights_of(*module));
  const auto net = pipeline::load_upscaler_network(path);
  QCOMPARE(net->architecture, std::string("RRDBNet"));
  QCOMPARE(net->scale, int64_t(scale));
  QCOMPARE(net->name, QString("rrdb-x%1").arg(scale).toStdString());
  const auto* loaded = net->module->as<models::RRDBNetImpl>();
  QVERIFY(loaded);
  QCOMPARE(loaded->config.features, int64_t(8));
  QCOMPARE(loaded->config.growth, int64_t(4));
  QCOMPARE(loaded->config.blocks, int64_t(2));
  torch::NoGradGuard no_grad;
  const auto x = picture(16, 12);
  const auto y = net->forward(x);
  QCOMPARE(y.sizes().vec(), (std::vector<int64_t>{1, 3, 16 * scale, 12 * scale}));
  QCOMPARE(max_diff(y, module->forward(x)), 0.0);
}

void TestUpscalerNetwork::tiledEqualsWhole_data() {
  QTest::addColumn<QString>("kind");
  QTest::addColumn<int>("height");
  QTest::addColumn<int>("width");
  QTest::newRow("rrdb x4, 37x30") << "rrdb4" << 37 << 30;
  QTest::newRow("rrdb x2, odd sizes") << "rrdb2" << 33 << 29;
  QTest::newRow("rrdb x1") << "rrdb1" << 36 << 40;
  QTest::newRow("compact x4") << "srvgg" << 35 << 41;
}

void TestUpscalerNetwork::tiledEqualsWhole() {
  QFETCH(QString, kind);
  QFETCH(int, height);
  QFETCH(int, width);
  Named weights;
  if (kind == "srvgg") {
    auto m = small_srvgg();
    weights = weights_of(*m);
  } else {
    auto m = small_rrdbnet(kind.back().digitValue());
    weights = weights_of(*m);
  }
  const auto net = pipeline::load_upscaler_network(write(dir_, kind + ".safetensors", weights));
  const auto x = picture(height, width);
  const auto whole = pipeline::upscale_tiled(*net, x, {0, 0});
  QCOMPARE(whole.sizes().vec(), (std::vector<int64_t>{1, 3, height * net->scale, width * net->scale}));
  // Context as wide as the receptive radius: the tiles' centres are the whole picture's.
  const auto tiled = pipeline::upscale_tiled(*net, x, {12, net->receptive_radius});
  QVERIFY2(max_diff(tiled, whole) < 1e-5, qPrintable(QString::number(max_diff(tiled, whole))));
  // Without context the seams show: the check above is not vacuous.
  QVERIFY(max_diff(pipeline::upscale_tiled(*net, x, {12, 0}), whole) > 1e-3);
}

void TestUpscalerNetwork::originalEsrganNames() {
  // The same weights under the original ESRGAN's names: model.0, model.1.sub.N.RDBk.convj.0,
  // model.1.sub.<blocks>, then 3, 6, 8, 10 (upsampling, hr, last in its flattened Sequential).
  auto module = small_rrdbnet(4);
  Named renamed;
  const std::regex dense(R"(body\.(\d+)\.rdb(\d)\.conv(\d)\.(\w+))");
  const std::map<std::string, std::string> tail = {
      {"conv_first", "model.0"}, {"conv_body", "model.1.sub.2"}, {"conv_up1", "model.3"},
      {"conv_up2", "model.6"},   {"conv_hr", "model.8"},         {"conv_last", "model.10"}};
  for (const auto& [name, tensor] : weights_of(*module)) {
    std::smatch m;
    if (std::regex_match(name, m, dense))
      renamed.emplace_back("model.1.sub." + m[1].str() + ".RDB" + m[2].str() + ".conv" + m[3].str() + ".0." + m[4].str(),
                           tensor);
    else {
      const auto dot = name.find('.');
      renamed.emplace_back(tail.at(name.substr(0, dot)) + name.substr(dot), tensor);
    }
  }
  const auto net = pipeline::load_upscaler_network(write(dir_, "esrgan-old.safetensors", renamed));
  QCOMPARE(net->scale, int64_t(4));
  torch::NoGradGuard no_grad;
  const auto x = picture(8, 8);
  QCOMPARE(max_diff(net->forward(x), module->forward(x)), 0.0);
}

void TestUpscalerNetwork::realEsrganWrapper() {
  auto module = small_rrdbnet(2);
  const auto net = pipeline::load_upscaler_network(write(dir_, "ema.safetensors", weights_of(*module, "params_ema.")));
  QCOMPARE(net->scale, int64_t(2));
}

void TestUpscalerNetwork::compactNetwork() {
  auto module = small_srvgg();
  const auto net = pipeline::load_upscaler_network(write(dir_, "compact.safetensors", weights_of(*module)));
  QCOMPARE(net->architecture, std::string("SRVGGNetCompact"));
  QCOMPARE(net->scale, int64_t(4));
  QCOMPARE(net->module->as<models::SRVGGNetCompactImpl>()->config.convs, int64_t(3));
  torch::NoGradGuard no_grad;
  const auto x = picture(10, 6);
  QCOMPARE(max_diff(net->forward(x), module->forward(x)), 0.0);
}

void TestUpscalerNetwork::picturesReachTheirSize() {
  auto module = small_rrdbnet(2);
  const auto net = pipeline::load_upscaler_network(write(dir_, "x2.safetensors", weights_of(*module)));
  cv::Mat rgb(20, 30, CV_8UC3, cv::Scalar(10, 200, 90));
  QCOMPARE(pipeline::upscale_picture(*net, rgb).size(), cv::Size(60, 40));
  // ×2 twice covers 100×70, then Lanczos to the exact size.
  QCOMPARE(pipeline::upscale_picture_to(*net, rgb, 100, 70).size(), cv::Size(100, 70));
  std::atomic<bool> cancel{true};
  QVERIFY_THROWS_EXCEPTION(Cancelled, pipeline::upscale_picture(*net, rgb, {}, &cancel));
}

void TestUpscalerNetwork::refusals() {
  // A pickle is never opened: the message says how to convert it.
  const QString pth = dir_.filePath("RealESRGAN_x4plus.pth");
  QFile file(pth);
  QVERIFY(file.open(QIODevice::WriteOnly));
  file.write(QByteArray("PK\x03\x04", 4) + QByteArray(64, '\0'));
  file.close();
  QString error = load_error(pth.toStdString());
  QVERIFY2(error.contains("pickle") && error.contains("st.save_file"), qPrintable(error));
  // Not an upscaler.
  const auto other = write(dir_, "other.safetensors", {{"foo.weight", torch::zeros({2, 2})}});
  error = load_error(other);
  QVERIFY2(error.contains("other.safetensors") && error.contains("RRDBNet"), qPrintable(error));
  // Weights that do not fit: a missing dense convolution.
  auto module = small_rrdbnet(4);
  auto weights = weights_of(*module);
  weights.erase(std::remove_if(weights.begin(), weights.end(), [](const auto& kv) { return kv.first == "body.1.rdb2.conv3.weight"; }),
                weights.end());
  const auto broken = write(dir_, "broken.safetensors", weights);
  error = load_error(broken);
  QVERIFY2(error.contains("broken.safetensors") && error.contains("body.1.rdb2.conv3.weight"), qPrintable(error));
  error = load_error(dir_.filePath("absent.safetensors").toStdString());
  QVERIFY2(error.contains("does not exist"), qPrintable(error));
}

QTEST_GUILESS_MAIN(TestUpscalerNetwork)
#include "tst_upscaler_network.moc"
