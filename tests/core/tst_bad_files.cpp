#include <QtTest/QtTest>
#include <functional>
#include <random>
#include <set>

#include "core/io/model_files.h"
#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/util/error.h"
#include "tests/support/file_tree.h"
#include "tests/support/golden.h"

namespace {

// Byte strings with embedded zeros.
template <std::size_t N>
QByteArray raw(const char (&literal)[N]) {
  return QByteArray(literal, static_cast<qsizetype>(N - 1));
}

// 8-byte little-endian header length, the header, then `data_bytes` zero bytes.
QByteArray safetensors_bytes(const QByteArray& json, qsizetype data_bytes = 0,
                             uint64_t length_field = UINT64_MAX) {
  const uint64_t n = length_field == UINT64_MAX ? static_cast<uint64_t>(json.size()) : length_field;
  QByteArray out;
  for (int i = 0; i < 8; ++i) out.append(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + json + QByteArray(data_bytes, '\0');
}

void write_bytes(const QString& path, const QByteArray& bytes) {
  QFile file(path);
  QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
  QCOMPARE(file.write(bytes), bytes.size());
}

// The latent::Error message `action` throws; "" when it succeeds. Any other
// exception fails the test: everything a user can feed in must end as latent::Error.
QString error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const latent::Error& e) {
    return QString::fromStdString(e.what());
  } catch (const std::exception& e) {
    return QString("UNEXPECTED EXCEPTION: ") + e.what();
  }
  return QString();
}

struct HeaderCase {
  const char* name;
  QByteArray bytes;
  const char* expected;  // a phrase the message must contain
};

QByteArray valid_two_tensor_file() {
  QTemporaryDir dir;
  const QString path = dir.filePath("v.safetensors");
  latent::io::write_safetensors(
      path.toStdString(), {{"a", torch::arange(64, torch::kFloat32)}, {"b", torch::ones({16})}});
  QFile file(path);
  file.open(QIODevice::ReadOnly);
  return file.readAll();
}

std::vector<HeaderCase> header_cases() {
  const QByteArray valid = valid_two_tensor_file();
  return {
      {"empty file", QByteArray(), "the file is empty"},
      {"shorter than a length field", raw("\x05\x00\x00"), "too short to hold a header"},
      {"truncated file", valid.left(valid.size() - 100), "the file is truncated"},
      {"header length beyond the file", safetensors_bytes("{}", 0, 1000),
       "runs past the end of the file"},
      {"header length above the limit", safetensors_bytes("{}", 0, uint64_t{1} << 40),
       "beyond the limit"},
      {"invalid JSON", safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [4], )"),
       "not valid JSON"},
      {"JSON that is not an object", safetensors_bytes("[1, 2, 3]"), "header is not a JSON object"},
      {"offsets out of range",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                         R"("b":{"dtype":"F32","shape":[4],"data_offsets":[64,80]}})",
                         32),
       "lie outside the data area"},
      {"overlapping tensors",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                         R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                         24),
       "overlaps tensor 'a'"},
      {"overlap hidden behind an empty tensor",
       safetensors_bytes(R"({"big":{"dtype":"F32","shape":[8],"data_offsets":[0,32]},)"
                         R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                         R"("inner":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})",
                         32),
       "tensor 'inner': its data overlaps tensor 'big'"},
      {"shape and byte size disagree",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16),
       "holds 16 bytes but its shape and dtype need 12"},
      {"unknown dtype",
       safetensors_bytes(R"({"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,4]}})", 4),
       "unknown dtype 'Q4'"},
      {"negative shape",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}})", 16),
       "shape holds -1, which is not a size"},
      {"non-integer shape",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,10]}})", 10),
       "shape holds 2.5, which is not a size"},
      {"shape that is not a list",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":4,"data_offsets":[0,16]}})", 16),
       "missing or malformed 'shape'"},
      {"reversed offsets",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}})", 16),
       "malformed 'data_offsets'"},
      {"shape too large",
       safetensors_bytes(
           R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,16]}})",
           16),
       "shape is too large"},
      {"empty tensor with huge sizes",
       safetensors_bytes(
           R"({"e":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})"),
       "shape is too large"},
      {"metadata that is not text", safetensors_bytes(R"({"__metadata__":{"format":1}})"),
       "metadata entry 'format' is not a string"},
      {"tensor entry that is not an object", safetensors_bytes(R"({"a":[1,2]})"),
       "entry is not a JSON object"},
  };
}

}  // namespace

class TestBadFiles : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void corruptSafetensors_data();
  void corruptSafetensors();
  void corruptMessagesAreDistinct();
  void modelErrors_data();
  void modelErrors();
  void missingTensors();
  void wrongShape();
  void unetWithOnlyBinWeights();
  void fuzzedSafetensors();
  void fuzzedCheckpoint();

 private:
  QTemporaryDir dir_;
};

void TestBadFiles::initTestCase() {
  torch::set_num_threads(2);
  QVERIFY(dir_.isValid());
}

void TestBadFiles::corruptSafetensors_data() {
  QTest::addColumn<QByteArray>("bytes");
  QTest::addColumn<QString>("expected");
  for (const auto& c : header_cases()) QTest::newRow(c.name) << c.bytes << QString(c.expected);
}

void TestBadFiles::corruptSafetensors() {
  QFETCH(QByteArray, bytes);
  QFETCH(QString, expected);
  const QString path =
      dir_.filePath(QString(QTest::currentDataTag()).replace(' ', '_') + ".safetensors");
  write_bytes(path, bytes);
  const QString message = error_of([&] { latent::io::SafetensorsFile file(path.toStdString()); });
  QVERIFY2(message.contains(path), qPrintable("no file name in: " + message));
  QVERIFY2(message.contains(expected), qPrintable(message));
  // open_model reaches the same check and says the same.
  const QString via_model = error_of([&] { latent::io::open_model(path.toStdString()); });
  QVERIFY2(via_model.contains(expected), qPrintable(via_model));
}

void TestBadFiles::corruptMessagesAreDistinct() {
  std::set<QString> seen;
  QTemporaryDir dir;
  for (const auto& c : header_cases()) {
    const QString path = dir.filePath("case.safetensors");
    write_bytes(path, c.bytes);
    QString message = error_of([&] { latent::io::SafetensorsFile file(path.toStdString()); });
    QVERIFY2(!message.isEmpty(), c.name);
    message.remove(path);
    QVERIFY2(seen.insert(message).second, qPrintable(QString("repeated message: ") + message));
  }
}

void TestBadFiles::modelErrors_data() {
  QTest::addColumn<QString>("file");  // written into the temporary folder; "" for none
  QTest::addColumn<QByteArray>("bytes");
  QTest::addColumn<QString>("config_dir");    // relative to tests/data; "" for the bundled configs
  QTest::addColumn<QStringList>("expected");  // phrases the message must contain
  const auto header = [](const QStringList& names) {
    QByteArray json = "{";
    qsizetype offset = 0;
    for (const QString& name : names) {
      if (json.size() > 1) json += ",";
      json += "\"" + name.toUtf8() + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" +
              QByteArray::number(offset) + "," + QByteArray::number(offset + 4) + "]}";
      offset += 4;
    }
    return safetensors_bytes(json + "}", offset);
  };
  QTest::newRow("not stable diffusion")
      << "weights.safetensors" << header({"fc.weight", "fc.bias"}) << ""
      << QStringList{"is not a Stable Diffusion 1.x, 2.x or SDXL checkpoint", "fc.bias"};
  QTest::newRow("no tensors") << "nothing.safetensors" << safetensors_bytes("{}") << ""
                              << QStringList{"holds no tensors"};
  QTest::newRow("lora") << "lora.safetensors"
                        << header({"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight",
                                   "lora_unet_down_blocks_0_attentions_0_proj_in.alpha"})
                        << "" << QStringList{"is a LoRA, not a model"};
  QTest::newRow("sdxl")
      << "sdxl.safetensors"
      << header({"model.diffusion_model.input_blocks.0.0.weight",
                 "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight"})
      << "" << QStringList{"Stable Diffusion XL", "conditioner.embedders"};
  QTest::newRow("sd2") << "sd2.safetensors"
                       << header({"model.diffusion_model.input_blocks.0.0.weight",
                                  "cond_stage_model.model.ln_final.weight"})
                       << "" << QStringList{"bundled Stable Diffusion 2.1 (768, v-prediction) configs", "lacks",
                                            "OpenCLIP text encoder"};
  QTest::newRow("vae only") << "vae.safetensors"
                            << header({"encoder.down.0.block.0.conv1.weight", "quant_conv.weight"})
                            << "" << QStringList{"holds only a VAE"};
  QTest::newRow("diffusers unet file")
      << "diffusion_pytorch_model.safetensors"
      << header({"conv_in.weight", "down_blocks.0.resnets.0.conv1.weight"}) << ""
      << QStringList{"diffusers UNet weights only", "model folder"};
  QTest::newRow("checkpoint without vae")
      << "novae.safetensors"
      << header({"model.diffusion_model.input_blocks.0.0.weight",
                 "cond_stage_model.transformer.text_model.final_layer_norm.weight"})
      << "tiny-sd" << QStringList{"has no VAE (first_stage_model.*) weights"};
  QTest::newRow("ckpt zip") << "model.ckpt"
                            << raw("PK\x03\x04\x00\x00\x08\x00\x00\x00"
                                   "archive/data.pkl")
                            << ""
                            << QStringList{"is a PyTorch pickle file", "arbitrary code",
                                           "safetensors"};
  QTest::newRow("pt raw pickle") << "model.pt"
                                 << raw("\x80\x02}q\x00(X\x05\x00\x00\x00"
                                        "state.")
                                 << "" << QStringList{"is a PyTorch pickle file", "arbitrary code"};
  QTest::newRow("zip named safetensors")
      << "renamed.safetensors" << raw("PK\x03\x04\x14\x00\x00\x00\x08\x00") << ""
      << QStringList{"is a PyTorch pickle file"};
  QTest::newRow("empty bin") << "pytorch_model.bin" << QByteArray() << ""
                             << QStringList{"is a PyTorch pickle file"};
  QTest::newRow("folder without model_index.json")
      << "" << QByteArray() << ""
      << QStringList{"has no model_index.json", "unet/", "scheduler_config.json"};
  QTest::newRow("missing path") << "" << QByteArray() << "" << QStringList{"does not exist"};
  QTest::newRow("config folder without configs")
      << "" << QByteArray() << "lora" << QStringList{"unet/config.json", "is missing"};
}

void TestBadFiles::modelErrors() {
  QFETCH(QString, file);
  QFETCH(QByteArray, bytes);
  QFETCH(QString, config_dir);
  QFETCH(QStringList, expected);
  const QString tag = QString(QTest::currentDataTag()).replace(' ', '_');
  QString path;
  if (!file.isEmpty()) {
    QDir(dir_.path()).mkpath(tag);
    path = dir_.filePath(tag + "/" + file);
    write_bytes(path, bytes);
  } else if (tag.startsWith("folder")) {
    path = dir_.filePath(tag);
    QDir().mkpath(path + "/unet");
  } else if (tag.startsWith("missing")) {
    path = dir_.filePath("no-such-model.safetensors");
  } else {
    path = latent::test::data_path("tiny-sd.safetensors");
  }
  const std::string configs =
      config_dir.isEmpty() ? std::string() : latent::test::data_path(config_dir).toStdString();
  const QString message = error_of([&] { latent::io::open_model(path.toStdString(), configs); });
  QVERIFY2(!message.isEmpty(), "opened without an error");
  const QString named = config_dir.isEmpty() ? path : QString::fromStdString(configs);
  QVERIFY2(message.contains(named), qPrintable("no file name in: " + message));
  for (const QString& phrase : expected)
    QVERIFY2(message.contains(phrase), qPrintable(message + "\n  lacks: " + phrase));
}

struct Small : torch::nn::Module {
  Small() { fc = register_module("fc", torch::nn::Linear(4, 3)); }
  torch::nn::Linear fc{nullptr};
};

void TestBadFiles::missingTensors() {
  const std::string path = dir_.filePath("missing.safetensors").toStdString();
  latent::io::write_safetensors(path, {{"fc.weight", torch::zeros({3, 4})}});
  Small module;
  const QString message = error_of([&] {
    const latent::io::SafetensorsFile file(path);
    latent::io::load_state_dict(module, latent::io::read_tensors(file), path);
  });
  QVERIFY2(message.contains(QString::fromStdString(path)), qPrintable(message));
  QVERIFY2(message.contains("lacks 1 tensors the model needs: fc.bias"), qPrintable(message));
}

void TestBadFiles::wrongShape() {
  const std::string path = dir_.filePath("shape.safetensors").toStdString();
  latent::io::write_safetensors(
      path, {{"fc.weight", torch::zeros({3, 5})}, {"fc.bias", torch::zeros({3})}});
  Small module;
  const QString message = error_of([&] {
    const latent::io::SafetensorsFile file(path);
    latent::io::load_state_dict(module, latent::io::read_tensors(file), path);
  });
  QVERIFY2(message.contains(QString::fromStdString(path)), qPrintable(message));
  QVERIFY2(message.contains("wrong shape") && message.contains("fc.weight"), qPrintable(message));
}

void TestBadFiles::unetWithOnlyBinWeights() {
  const QString folder = dir_.filePath("bin-unet");
  QVERIFY(latent::test::copy_tree(latent::test::data_path("tiny-sd"), folder));
  QVERIFY(QFile::remove(folder + "/unet/diffusion_pytorch_model.safetensors"));
  write_bytes(folder + "/unet/diffusion_pytorch_model.bin", raw("PK\x03\x04\x00\x00\x00\x00"));
  const QString message = error_of([&] { latent::io::open_model(folder.toStdString()); });
  QVERIFY2(message.contains(folder + "/unet/diffusion_pytorch_model.bin"), qPrintable(message));
  QVERIFY2(message.contains("unet of this diffusers folder has only pickle weights"),
           qPrintable(message));
  QVERIFY2(message.contains("arbitrary code"), qPrintable(message));

  // No weights at all is a different message.
  QVERIFY(QFile::remove(folder + "/unet/diffusion_pytorch_model.bin"));
  const QString none = error_of([&] { latent::io::open_model(folder.toStdString()); });
  QVERIFY2(none.contains("holds no weights: expected diffusion_pytorch_model.safetensors"),
           qPrintable(none));

  // A broken config is named.
  QVERIFY(QFile::copy(latent::test::data_path("tiny-sd/unet/diffusion_pytorch_model.safetensors"),
                      folder + "/unet/diffusion_pytorch_model.safetensors"));
  write_bytes(folder + "/vae/config.json", "{\"block_out_channels\": [32, ");
  const QString config = error_of([&] { latent::io::open_model(folder.toStdString()); });
  QVERIFY2(config.contains(folder + "/vae/config.json") && config.contains("not valid JSON"),
           qPrintable(config));
}

// Random byte flips and truncations of a valid file: every open either succeeds
// or throws latent::Error, and a successful open yields readable tensors.
void TestBadFiles::fuzzedSafetensors() {
  const std::string original_path = dir_.filePath("fuzz-original.safetensors").toStdString();
  latent::io::write_safetensors(original_path,
                                {{"weight", torch::arange(24, torch::kFloat32).reshape({2, 3, 4})},
                                 {"half", torch::ones({5}, torch::kFloat16)},
                                 {"ids", torch::arange(3, torch::kInt64)},
                                 {"bf", torch::zeros({2, 2}, torch::kBFloat16)},
                                 {"empty", torch::zeros({0, 3})},
                                 {"flags", torch::ones({3}, torch::kBool)}},
                                {{"format", "pt"}});
  QFile in(QString::fromStdString(original_path));
  QVERIFY(in.open(QIODevice::ReadOnly));
  const QByteArray original = in.readAll();
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i)
    header_len = (header_len << 8) | static_cast<unsigned char>(original[i]);
  const auto header_end = static_cast<qsizetype>(8 + header_len);

  std::mt19937 rng(20240601);
  const QString path = dir_.filePath("fuzz.safetensors");
  const char interesting[] = "0123456789-.,:[]{}\"e \x00\xff";
  int opened = 0, refused = 0;
  for (int round = 0; round < 3000; ++round) {
    QByteArray bytes = original;
    const int kind = static_cast<int>(rng() % 4);
    if (kind == 0) {
      bytes.truncate(static_cast<qsizetype>(rng() % static_cast<uint32_t>(original.size())));
    } else {
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        // Mostly the length field and the JSON header, where the parser works.
        const qsizetype limit = rng() % 8 != 0 ? header_end : bytes.size();
        const auto at = static_cast<qsizetype>(rng() % static_cast<uint32_t>(limit));
        if (kind == 1)
          bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
        else if (kind == 2)
          bytes[at] = interesting[rng() % (sizeof(interesting) - 1)];
        else
          bytes[at] = static_cast<char>(rng() % 256);
      }
    }
    write_bytes(path, bytes);
    try {
      const latent::io::SafetensorsFile file(path.toStdString());
      double sum = 0;
      for (const auto& info : file.tensors()) {
        const auto t = file.tensor(info.name);
        QCOMPARE(t.numel(), info.numel());
        if (t.numel() > 0) sum += t.to(torch::kFloat64).abs().sum().item<double>();
      }
      (void)sum;
      ++opened;
    } catch (const latent::Error&) {
      ++refused;
    } catch (const std::exception& e) {
      QFAIL(qPrintable(QString("round %1: not a latent::Error: %2").arg(round).arg(e.what())));
    }
  }
  qInfo("fuzzed safetensors: %d opened, %d refused", opened, refused);
  QVERIFY(opened > 0 && refused > 0);
}

// The same for whole single-file checkpoints through open_model.
void TestBadFiles::fuzzedCheckpoint() {
  const latent::io::SafetensorsFile source(
      latent::test::data_path("tiny-sd.safetensors").toStdString());
  // A small checkpoint: one tensor of each component (enough for open_model).
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const char* name : {"model.diffusion_model.input_blocks.0.0.weight",
                           "model.diffusion_model.input_blocks.1.1.proj_in.bias",
                           "first_stage_model.decoder.mid.attn_1.q.weight",
                           "cond_stage_model.transformer.text_model.final_layer_norm.weight"})
    tensors.emplace_back(name, source.tensor(name).clone());
  const std::string original_path = dir_.filePath("fuzz-ckpt-original.safetensors").toStdString();
  latent::io::write_safetensors(original_path, tensors);
  QFile in(QString::fromStdString(original_path));
  QVERIFY(in.open(QIODevice::ReadOnly));
  const QByteArray original = in.readAll();
  const std::string configs = latent::test::data_path("tiny-sd").toStdString();
  QVERIFY(error_of([&] { latent::io::open_model(original_path, configs); }).isEmpty());

  std::mt19937 rng(7);
  const QString path = dir_.filePath("fuzz-ckpt.safetensors");
  int opened = 0, refused = 0;
  for (int round = 0; round < 500; ++round) {
    QByteArray bytes = original;
    if (rng() % 5 == 0) {
      bytes.truncate(static_cast<qsizetype>(rng() % static_cast<uint32_t>(original.size())));
    } else {
      for (int f = 0; f < 3; ++f) {
        const auto at = static_cast<qsizetype>(rng() % 600);
        bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
      }
    }
    write_bytes(path, bytes);
    try {
      latent::io::open_model(path.toStdString(), configs);
      ++opened;
    } catch (const latent::Error&) {
      ++refused;
    } catch (const std::exception& e) {
      QFAIL(qPrintable(QString("round %1: not a latent::Error: %2").arg(round).arg(e.what())));
    }
  }
  qInfo("fuzzed checkpoints: %d opened, %d refused", opened, refused);
  QVERIFY(refused > 0);
}

QTEST_GUILESS_MAIN(TestBadFiles)
#include "tst_bad_files.moc"
