#include <QtTest/QtTest>

#include <QTemporaryDir>

#include <opencv2/imgproc.hpp>

#include <atomic>
#include <random>

#include "core/io/safetensors.h"
#include "core/pipeline/engine.h"
#include "core/training/lora_training.h"
#include "core/training/shape_classifier.h"
#include "core/training/shape_evaluation.h"
#include "core/training/shapes_dataset.h"
#include "core/training/starter_training.h"
#include "core/util/error.h"
#include "core/util/threads.h"

using namespace latent;

namespace {

// The smallest networks and a handful of steps: enough to see the loss fall.
training::StarterTrainingOptions tiny_options(const QString& out) {
  training::StarterTrainingOptions o;
  o.out_dir = out.toStdString();
  o.seed = 7;
  o.tiny = true;
  o.side = 32;
  o.vae_steps = 150;
  o.vae_batch = 8;
  o.vae_learning_rate = 3e-3;
  o.pool_size = 96;
  o.unet_steps = 60;
  o.unet_batch = 16;
  o.unet_learning_rate = 2e-3;
  o.dtype = "fp32";
  return o;
}

latent::api::GenerationRequest small_request(const std::string& prompt, int side) {
  latent::api::GenerationRequest r;
  r.prompt = prompt;
  r.size.width = r.size.height = side;
  r.sampling.steps = 4;
  r.sampling.seed = 3;
  r.preview.approximate = false;
  r.preview.vae_every = 0;
  return r;
}

}  // namespace

class TestTraining : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir m_dir;
  QString m_model;  // the tiny model trained once for the tests below
  training::StarterTrainingResult m_result;

  // Rank-2 LoRA options for the tiny model, learning from `count` hearts exported (with
  // `seed`) into the folder `name`, written to name.safetensors.
  training::LoraTrainingOptions heart_lora_options(const QString& name, int count, uint64_t seed) {
    const std::string data = m_dir.filePath(name).toStdString();
    if (training::export_scenes(data, {"heart"}, count, 32, seed).size() != static_cast<std::size_t>(count))
      qFatal("exporting the training hearts failed");
    training::LoraTrainingOptions o;
    o.model_path = m_model.toStdString();
    o.data_dir = data;
    o.out_path = m_dir.filePath(name + ".safetensors").toStdString();
    o.rank = 2;
    return o;
  }

 private Q_SLOTS:
  void initTestCase() {
    util::set_thread_count(0);
    QVERIFY(m_dir.isValid());
    m_model = m_dir.filePath("tiny-starter");
    m_result = training::train_starter_model(tiny_options(m_model));
  }

  void captionsDescribeTheScene() {
    training::ShapeScene s;
    s.shape = "circle";
    s.colour = "red";
    s.background = "blue";
    s.size = training::ShapeSize::Small;
    s.position = "top left";
    QCOMPARE(QString::fromStdString(s.caption()), QString("a small red circle on a blue background in the top left"));
  }

  void trainingScenesAvoidHeldOutCombinations() {
    std::mt19937_64 rng(1);
    int held_out = 0;
    for (int i = 0; i < 2000; ++i) {
      const auto s = training::random_training_scene(rng, training::starter_shapes());
      held_out += training::is_held_out(s.colour, s.shape);
      QVERIFY(s.colour != s.background);
    }
    QCOMPARE(held_out, 0);
  }

  // The evaluator is only as good as its classifier: on the dataset's own pictures (every
  // shape, colour, background, size and position) it must be right at least 98% of the time.
  void classifierReadsGroundTruthPictures() {
    std::mt19937_64 rng(42);
    int right = 0, total = 0;
    for (const auto& shape : training::all_shapes())
      for (const auto& colour : training::colour_names())
        for (int k = 0; k < 12; ++k) {
          const auto scene = training::random_scene(rng, shape, colour);
          const auto guess = training::classify_shape(training::render_scene(scene, 64), training::all_shapes());
          right += guess.shape == shape && guess.colour == colour;
          ++total;
          if (guess.shape != shape || guess.colour != colour)
            qInfo("misread %s as %s %s", scene.caption().c_str(), guess.colour.c_str(), guess.shape.c_str());
        }
    QCOMPARE(total, 5 * 8 * 12);
    QVERIFY2(right >= 0.98 * total, qPrintable(QString("%1 of %2 right").arg(right).arg(total)));
  }

  void classifierFindsNothingOnAPlainPicture() {
    const cv::Mat plain(64, 64, CV_8UC3, cv::Scalar(40, 80, 220));
    QVERIFY(training::classify_shape(plain, training::all_shapes()).shape.empty());
  }

  void shortTrainingLowersTheLoss() {
    QVERIFY2(m_result.vae_last_loss < 0.8 * m_result.vae_first_loss,
             qPrintable(QString("vae %1 -> %2").arg(m_result.vae_first_loss).arg(m_result.vae_last_loss)));
    QVERIFY2(m_result.unet_last_loss < 0.8 * m_result.unet_first_loss,
             qPrintable(QString("unet %1 -> %2").arg(m_result.unet_first_loss).arg(m_result.unet_last_loss)));
    for (const char* file : {"model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json",
                             "text_encoder/model.safetensors", "unet/diffusion_pytorch_model.safetensors",
                             "vae/diffusion_pytorch_model.safetensors", "loss_log.csv"})
      QVERIFY2(QFileInfo(m_model + "/" + file).isFile(), file);
    QVERIFY(!QFileInfo::exists(m_model + ".partial"));
  }

  // The written folder is an ordinary model: the engine loads it and draws at the size asked
  // for, with latents a quarter of the picture's side (the starter VAE has three levels).
  void trainedFolderGeneratesPictures() {
    pipeline::Engine engine;
    latent::api::LoadOptions load;
    load.model_path = m_model.toStdString();
    engine.load(load);
    const auto result = engine.generate(small_request("a large red circle on a blue background in the center", 32));
    QCOMPARE(result.images.size(), std::size_t{1});
    QCOMPARE(result.images[0].width, 32);
    QCOMPARE(result.images[0].height, 32);
  }

  void trainingCancelsCleanly() {
    const QString out = m_dir.filePath("cancelled");
    std::atomic<bool> cancel{false};
    int steps = 0;
    const auto observer = [&](const training::TrainingProgress&) {
      if (++steps == 5) cancel = true;
    };
    QVERIFY_THROWS_EXCEPTION(Cancelled, training::train_starter_model(tiny_options(out), observer, &cancel));
    QCOMPARE(steps, 5);  // stopped at the next step
    QVERIFY(!QFileInfo::exists(out));
    QVERIFY(!QFileInfo::exists(out + ".partial"));
  }

  void refusesAFolderInUse() {
    QVERIFY_THROWS_EXCEPTION(Error, training::train_starter_model(tiny_options(m_model)));
  }

  // A LoRA trained on a few hearts is written in the kohya layout, loads back through the
  // engine and changes what the model draws; removing it restores the pictures.
  void loraTrainsLoadsAndChangesTheOutput() {
    training::LoraTrainingOptions o = heart_lora_options("hearts", 8, 5);
    o.steps = 12;
    o.batch = 4;
    o.learning_rate = 2e-2;
    const auto result = training::train_lora(o);
    QCOMPARE(result.pictures, 8);
    // The tiny UNet has transformers in one down block (one layer), one up block (two) and
    // the middle, each with two attentions of four projections.
    QCOMPARE(result.modules, (1 + 2 + 1) * 2 * 4);

    const io::SafetensorsFile file(o.out_path);
    QCOMPARE(static_cast<int>(file.tensors().size()), result.modules * 3);
    QVERIFY(file.contains("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight"));
    QVERIFY(file.contains("lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_out_0.lora_up.weight"));
    QVERIFY(file.contains("lora_unet_up_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q.alpha"));
    QCOMPARE(file.tensor("lora_unet_up_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight").size(0), 2);

    pipeline::Engine engine;
    latent::api::LoadOptions load;
    load.model_path = m_model.toStdString();
    engine.load(load);
    auto request = small_request("a large red heart on a blue background in the center", 32);
    const auto before = engine.generate(request);
    request.loras.adapters.push_back({o.out_path, 1.0});
    const auto with_lora = engine.generate(request);
    QCOMPARE(with_lora.loras.size(), std::size_t{1});
    QVERIFY(before.images[0].rgb != with_lora.images[0].rgb);
    request.loras.adapters.clear();
    const auto after = engine.generate(request);
    QVERIFY(before.images[0].rgb == after.images[0].rgb);
  }

  // Cross-attention only: the adapters sit on attn2's four projections and nowhere else.
  void loraCanAdaptOnlyTheCrossAttention() {
    training::LoraTrainingOptions o = heart_lora_options("hearts-cross", 4, 6);
    o.steps = 4;
    o.batch = 2;
    o.cross_attention_only = true;
    const auto result = training::train_lora(o);
    QCOMPARE(result.modules, (1 + 2 + 1) * 4);
    const io::SafetensorsFile file(o.out_path);
    for (const auto& info : file.tensors()) QVERIFY2(info.name.find("_attn2_") != std::string::npos, info.name.c_str());
  }

  void loraRefusesAFolderWithoutCaptions() {
    QTemporaryDir empty;
    training::LoraTrainingOptions o;
    o.model_path = m_model.toStdString();
    o.data_dir = empty.path().toStdString();
    o.out_path = empty.filePath("x.safetensors").toStdString();
    QVERIFY_THROWS_EXCEPTION(Error, training::train_lora(o));
  }

  // A second export into the same folder numbers its pairs after the first's, so one
  // folder can hold a new shape and some old ones.
  void exportsAddToAFolder() {
    QTemporaryDir dir;
    const std::string folder = dir.filePath("mixed").toStdString();
    QCOMPARE(training::export_scenes(folder, {"heart"}, 2, 32, 1).size(), std::size_t{2});
    const auto more = training::export_scenes(folder, {"circle", "square"}, 3, 32, 2);
    QCOMPARE(more.front(), folder + "/0002.png");
    QCOMPARE(more.back(), folder + "/0004.png");
    const QDir written(QString::fromStdString(folder));
    QCOMPARE(written.entryList({"*.png"}, QDir::Files).size(), 5);
    QCOMPARE(written.entryList({"*.txt"}, QDir::Files).size(), 5);
    QFile first(written.filePath("0000.txt")), last(written.filePath("0004.txt"));
    QVERIFY(first.open(QIODevice::ReadOnly) && last.open(QIODevice::ReadOnly));
    QVERIFY(first.readAll().contains("heart"));
    QVERIFY(!last.readAll().contains("heart"));
  }

  void evaluationPlanCoversEveryCombination() {
    training::ShapeEvaluationOptions o;
    o.per_combination = 2;
    const auto plan = training::evaluation_plan(o);
    QCOMPARE(plan.size(), std::size_t{4 * 8 * 2});
    int held_out = 0;
    for (const auto& s : plan) held_out += s.group == training::ShapeGroup::HeldOut;
    QCOMPARE(held_out, static_cast<int>(training::held_out_combinations().size()) * 2);
    o.shapes = {"heart"};
    for (const auto& s : training::evaluation_plan(o)) QCOMPARE(s.group, training::ShapeGroup::New);
  }
};

QTEST_GUILESS_MAIN(TestTraining)
#include "tst_training.moc"
