#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

#include "core/schedulers/brownian_tree.h"
#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/random.h"
#include "core/schedulers/scheduler.h"
#include "core/schedulers/scheduler_lms.h"
#include "core/schedulers/sigma_scheduler.h"
#include "core/util/error.h"
#include "tests/support/golden.h"

using latent::schedulers::make_scheduler;
using latent::schedulers::Scheduler;
using latent::schedulers::SchedulerConfig;

namespace {

QJsonArray all_cases() {
  QFile file(latent::test::data_path("golden/index.json"));
  if (!file.open(QIODevice::ReadOnly)) return {};
  const QString text = QString::fromUtf8(file.readAll())
                           .replace(QRegularExpression("([:\\[,]\\s*)(-?Infinity|NaN)(?=\\s*[,\\]}])"),
                                    "\\1\"\\2\"");
  return QJsonDocument::fromJson(text.toUtf8()).object().value("cases").toArray();
}

std::vector<int64_t> shape_of(const QJsonValue& value) {
  std::vector<int64_t> shape;
  for (const QJsonValue& v : value.toArray()) shape.push_back(v.toInteger());
  return shape;
}

torch::Tensor doubles_of(const QJsonArray& values) {
  std::vector<double> out;
  for (const QJsonValue& v : values) out.push_back(v.toDouble());
  return torch::tensor(out, torch::kFloat64);
}

// The synthetic denoiser of the sched_synth cases: eps = 0.5·x + 0.001·t.
torch::Tensor synthetic_eps(const torch::Tensor& x, double t) { return 0.5 * x + 0.001 * t; }

// Runs the whole loop and returns the latents after each call (the first entry is the
// scaled initial noise).
std::vector<torch::Tensor> run_loop(Scheduler& s, int steps, uint64_t seed, at::IntArrayRef shape,
                                    torch::Tensor* noise_out = nullptr) {
  s.set_timesteps(steps);
  auto generator = latent::schedulers::make_cpu_generator(seed);
  const auto noise = latent::schedulers::randn_cpu(shape, generator);
  if (noise_out) *noise_out = noise;
  std::vector<torch::Tensor> trajectory = {noise * s.init_noise_sigma()};
  for (int i = 0; i < s.num_calls(); ++i) {
    const auto x = trajectory.back();
    const auto eps = synthetic_eps(s.scale_model_input(x, i), s.timestep(i));
    trajectory.push_back(s.step(eps, i, x, generator).prev_sample);
  }
  return trajectory;
}

}  // namespace

class TestSchedulers : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void randnMatchesTorch();
  void syntheticTrajectories_data();
  void syntheticTrajectories();
  void schedulerTables_data();
  void schedulerTables();
  void trainingSchedule();
  void unknownNameIsAnError();
  void badStepCountsAreErrors();
  void extremeStepCountsRun_data();
  void extremeStepCountsRun();
  void secondRunRepeatsTheFirst();
  void imageToImageStart();
  void sigmaSamplersShareTheirSchedule();
  void configFromJson();
  void brownianTreeIsConsistent();
};

void TestSchedulers::initTestCase() { torch::set_num_threads(2); }

void TestSchedulers::randnMatchesTorch() {
  const QJsonObject c = latent::test::golden_case("rng_randn");
  for (const QJsonValue& item_value : c.value("items").toArray()) {
    const QJsonObject item = item_value.toObject();
    auto generator = latent::schedulers::make_cpu_generator(
        static_cast<uint64_t>(item.value("seed").toInteger()));
    const QJsonArray draws = item.value("draws").toArray();
    const QJsonArray outputs = item.value("outputs").toArray();
    for (int k = 0; k < draws.size(); ++k) {
      const auto drawn = latent::schedulers::randn_cpu(shape_of(draws[k]), generator);
      const QString file = c.value("outputs").toObject().value(outputs[k].toString()).toObject()
                               .value("file").toString();
      const auto expected = latent::test::golden_tensor(file);
      if (!torch::equal(drawn, expected))
        QFAIL(qPrintable(QString("%1 (seed %2) differs from torch's draw; max |diff| %3")
                             .arg(outputs[k].toString())
                             .arg(item.value("seed").toInteger())
                             .arg((drawn - expected).abs().max().item<double>())));
    }
  }
}

void TestSchedulers::syntheticTrajectories_data() {
  QTest::addColumn<QString>("id");
  for (const QJsonValue& v : all_cases()) {
    const QString id = v.toObject().value("id").toString();
    if (v.toObject().value("kind").toString() == "scheduler_synthetic")
      QTest::newRow(qPrintable(id)) << id;
  }
}

void TestSchedulers::syntheticTrajectories() {
  QFETCH(QString, id);
  const QJsonObject c = latent::test::golden_case(id);
  const auto tol = latent::test::tolerance_of(c);
  const auto config = SchedulerConfig::from_json(c.value("scheduler_config").toObject());
  auto s = make_scheduler(c.value("scheduler").toString().toStdString(), config);
  const QJsonObject outputs = c.value("outputs").toObject();
  const auto expected_noise = latent::test::golden_tensor(outputs.value("noise").toObject().value("file").toString());
  const auto expected = latent::test::golden_tensor(outputs.value("trajectory").toObject().value("file").toString());

  torch::Tensor noise;
  const auto trajectory = run_loop(*s, c.value("num_inference_steps").toInt(),
                                   static_cast<uint64_t>(c.value("seed").toInteger()),
                                   expected_noise.sizes(), &noise);
  QVERIFY(torch::equal(noise, expected_noise));
  LATENT_COMPARE_CLOSE(s->timesteps().to(torch::kFloat64), doubles_of(c.value("timesteps").toArray()),
                       (latent::test::Tolerance{0.0, 1e-6}));
  QCOMPARE(static_cast<int64_t>(trajectory.size()), expected.size(0));
  for (size_t i = 0; i < trajectory.size(); ++i) {
    QString report;
    if (!latent::test::all_close(trajectory[i], expected[static_cast<int64_t>(i)], tol, &report))
      QFAIL(qPrintable(QString("after call %1 of %2: %3").arg(i).arg(trajectory.size() - 1).arg(report)));
  }
  LATENT_COMPARE_CLOSE(trajectory.back(),
                       latent::test::golden_tensor(outputs.value("final").toObject().value("file").toString()),
                       tol);
}

void TestSchedulers::schedulerTables_data() {
  QTest::addColumn<QString>("name");
  QTest::addColumn<int>("steps");
  const QJsonObject tables = latent::test::golden_case("scheduler_tables").value("tables").toObject();
  for (auto it = tables.begin(); it != tables.end(); ++it)
    for (const QString& steps : it.value().toObject().value("by_steps").toObject().keys())
      QTest::newRow(qPrintable(it.key() + "/" + steps)) << it.key() << steps.toInt();
}

void TestSchedulers::schedulerTables() {
  QFETCH(QString, name);
  QFETCH(int, steps);
  const QJsonObject c = latent::test::golden_case("scheduler_tables");
  const QJsonObject table = c.value("tables").toObject().value(name).toObject();
  const QJsonObject expected = table.value("by_steps").toObject().value(QString::number(steps)).toObject();
  const QJsonObject tol = c.value("tolerance").toObject().value("sigmas").toObject();
  const latent::test::Tolerance sigma_tol{tol.value("atol").toDouble(), tol.value("rtol").toDouble()};

  auto s = make_scheduler(name.toStdString(), SchedulerConfig::from_json(table.value("config").toObject()));
  s->set_timesteps(steps);
  QCOMPARE(s->num_calls(), expected.value("num_loop_iterations").toInt());
  QCOMPARE(s->order(), expected.value("order").toInt());

  const QString dtype = expected.value("timesteps_dtype").toString();
  const auto want_dtype = dtype == "int64"     ? torch::kInt64
                          : dtype == "float64" ? torch::kFloat64
                                               : torch::kFloat32;
  QCOMPARE(s->timesteps().scalar_type(), want_dtype);
  const auto timesteps = doubles_of(expected.value("timesteps").toArray());
  if (want_dtype == torch::kInt64)
    QVERIFY(torch::equal(s->timesteps(), timesteps.to(torch::kInt64)));
  else
    LATENT_COMPARE_CLOSE(s->timesteps(), timesteps, (latent::test::Tolerance{0.0, 1e-6}));

  const double init = expected.value("init_noise_sigma").toDouble();
  QVERIFY2(std::abs(s->init_noise_sigma() - init) <= sigma_tol.atol + sigma_tol.rtol * init,
           qPrintable(QString("init_noise_sigma %1, expected %2").arg(s->init_noise_sigma()).arg(init)));

  if (expected.contains("sigmas"))
    LATENT_COMPARE_CLOSE(s->sigmas(), doubles_of(expected.value("sigmas").toArray()), sigma_tol);

  if (expected.contains("lms_coefficients")) {
    std::vector<double> sigmas;
    for (const float v : latent::schedulers::to_floats(s->sigmas())) sigmas.push_back(v);
    const QJsonArray per_step = expected.value("lms_coefficients").toArray();
    QCOMPARE(per_step.size(), s->num_calls());
    for (int i = 0; i < per_step.size(); ++i) {
      const auto got = latent::schedulers::lms_coefficients(sigmas, i, std::min(i + 1, 4));
      const auto want = doubles_of(per_step[i].toArray());
      // diffusers evaluates the integrand in float32 and integrates it numerically;
      // the exact integral of the same polynomial agrees to a few float32 roundings.
      QString report;
      if (!latent::test::all_close(torch::tensor(got, torch::kFloat64), want, {1e-7, 1e-5}, &report))
        QFAIL(qPrintable(QString("LMS coefficients of step %1: %2").arg(i).arg(report)));
    }
  }
}

void TestSchedulers::trainingSchedule() {
  const QJsonObject c = latent::test::golden_case("scheduler_tables");
  const QJsonObject outputs = c.value("outputs").toObject();
  const auto betas = latent::test::golden_tensor(outputs.value("betas").toObject().value("file").toString());
  const auto alphas_cumprod =
      latent::test::golden_tensor(outputs.value("alphas_cumprod").toObject().value("file").toString());
  const auto base = SchedulerConfig::from_json(c.value("base_config").toObject());
  for (const auto& name : latent::schedulers::scheduler_names()) {
    auto s = make_scheduler(name, base);
    QVERIFY2(torch::equal(s->betas(), betas), name.c_str());
    QVERIFY2(torch::equal(s->alphas_cumprod(), alphas_cumprod), name.c_str());
  }
}

void TestSchedulers::unknownNameIsAnError() {
  try {
    make_scheduler("k_lms_typo");
    QFAIL("an unknown sampler name was accepted");
  } catch (const latent::Error& e) {
    const QString message = e.what();
    QVERIFY2(message.contains("k_lms_typo"), qPrintable(message));
    for (const auto& name : latent::schedulers::scheduler_names())
      QVERIFY2(message.contains(QString::fromStdString(name)), qPrintable(message));
  }
  QCOMPARE(static_cast<int>(latent::schedulers::scheduler_names().size()), 17);
}

void TestSchedulers::badStepCountsAreErrors() {
  for (const auto& name : latent::schedulers::scheduler_names()) {
    auto s = make_scheduler(name);
    QVERIFY_THROWS_EXCEPTION(latent::Error, s->set_timesteps(0));
    QVERIFY_THROWS_EXCEPTION(latent::Error, s->set_timesteps(-3));
    // Stepping before set_timesteps, or past the schedule, is an error, not a crash.
    auto generator = latent::schedulers::make_cpu_generator(0);
    const auto x = torch::zeros({1, 4, 8, 8});
    QVERIFY_THROWS_EXCEPTION(latent::Error, s->step(x, 0, x, generator));
    s->set_timesteps(3);
    QVERIFY_THROWS_EXCEPTION(latent::Error, s->step(x, s->num_calls(), x, generator));
  }
  QVERIFY_THROWS_EXCEPTION(latent::Error, make_scheduler("ddim")->set_timesteps(1001));
}

void TestSchedulers::extremeStepCountsRun_data() {
  QTest::addColumn<QString>("name");
  QTest::addColumn<int>("steps");
  for (const auto& name : latent::schedulers::scheduler_names())
    // LCM and TCD take at most the distillation schedule's length (50 by default; more is
    // an error in diffusers too: tst_fast_schedulers).
    for (const int steps : {1, 2, name == "lcm" || name == "tcd" ? 50 : 150}) {
      const QString n = QString::fromStdString(name);
      QTest::newRow(qPrintable(n + "/" + QString::number(steps))) << n << steps;
    }
}

void TestSchedulers::extremeStepCountsRun() {
  QFETCH(QString, name);
  QFETCH(int, steps);
  auto s = make_scheduler(name.toStdString());
  const auto trajectory = run_loop(*s, steps, 7, {2, 4, 6, 5});
  QVERIFY(s->num_calls() >= steps);
  QVERIFY(std::isfinite(s->init_noise_sigma()));
  for (const auto& x : trajectory) QVERIFY(torch::isfinite(x).all().item<bool>());
}

void TestSchedulers::secondRunRepeatsTheFirst() {
  for (const auto& name : latent::schedulers::scheduler_names()) {
    auto s = make_scheduler(name);
    const auto first = run_loop(*s, 6, 3, {1, 4, 8, 8}).back();
    const auto second = run_loop(*s, 6, 3, {1, 4, 8, 8}).back();
    QVERIFY2(torch::equal(first, second), name.c_str());
  }
}

void TestSchedulers::imageToImageStart() {
  for (const auto& name : latent::schedulers::scheduler_names()) {
    auto s = make_scheduler(name);
    s->set_timesteps(10);
    QCOMPARE(s->begin_index_for_strength(1.0), 0);
    QCOMPARE(s->begin_index_for_strength(0.0), std::min(10 * s->order(), s->num_calls()));
    const int begin = s->begin_index_for_strength(0.5);
    QCOMPARE(begin, 5 * s->order());
    s->set_begin_index(begin);
    const auto clean = torch::ones({1, 4, 8, 8});
    auto generator = latent::schedulers::make_cpu_generator(11);
    const auto noise = latent::schedulers::randn_cpu({1, 4, 8, 8}, generator);
    auto x = s->add_noise(clean, noise, begin);
    QVERIFY(!torch::equal(x, clean));
    for (int i = begin; i < s->num_calls(); ++i)
      x = s->step(synthetic_eps(s->scale_model_input(x, i), s->timestep(i)), i, x, generator).prev_sample;
    QVERIFY2(torch::isfinite(x).all().item<bool>(), name.c_str());
    QVERIFY_THROWS_EXCEPTION(latent::Error, s->begin_index_for_strength(1.5));
  }
}

void TestSchedulers::sigmaSamplersShareTheirSchedule() {
  // The k-diffusion samplers derive from SigmaScheduler, which holds diffusers' code they
  // would otherwise each copy: for one config they start from the same largest sigma and
  // agree on init_noise_sigma, the UNet input scaling x / sqrt(σ² + 1) and x + σ·noise.
  using latent::schedulers::SigmaScheduler;
  const auto x = torch::linspace(-2, 2, 64).reshape({1, 4, 4, 4});
  const auto noise = torch::linspace(1, -1, 64).reshape({1, 4, 4, 4});
  for (const char* spacing : {"linspace", "leading", "trailing"}) {
    SchedulerConfig config;
    config.timestep_spacing = spacing;
    auto euler = make_scheduler("euler", config);
    euler->set_timesteps(10);
    const float sigma_max = euler->sigmas()[0].item<float>();
    const float denominator = std::sqrt(sigma_max * sigma_max + 1.0f);
    // diffusers' init_noise_sigma: max σ for linspace and trailing, sqrt(max σ² + 1) otherwise.
    const double init = std::string(spacing) == "leading" ? denominator : sigma_max;
    QCOMPARE(euler->init_noise_sigma(), init);

    std::vector<std::string> sigma_samplers;
    for (const auto& name : latent::schedulers::scheduler_names()) {
      auto s = make_scheduler(name, config);
      if (!dynamic_cast<SigmaScheduler*>(s.get())) continue;
      sigma_samplers.push_back(name);
      s->set_timesteps(10);
      const QByteArray label = QByteArray(spacing) + " " + name.c_str();
      QVERIFY2(s->sigmas()[0].item<float>() == sigma_max, label.constData());
      QVERIFY2(s->init_noise_sigma() == init, label.constData());
      QVERIFY2(torch::equal(s->scale_model_input(x, 0), x / denominator), label.constData());
      QVERIFY2(torch::equal(s->add_noise(x, noise, 0), x + noise * sigma_max), label.constData());
    }
    const std::vector<std::string> expected = {"lms",          "lms_karras", "euler",
                                               "euler_karras", "euler_a",    "heun",
                                               "dpmpp_sde",    "kdpm2",      "kdpm2_a"};
    QVERIFY(sigma_samplers == expected);
  }
}

void TestSchedulers::configFromJson() {
  const auto sd = SchedulerConfig::from_json(QJsonObject{});
  QCOMPARE(sd.beta_schedule, std::string("scaled_linear"));
  QCOMPARE(sd.steps_offset, 1);
  QVERIFY(sd.timestep_spacing.empty());
  const auto v = SchedulerConfig::from_json(
      QJsonObject{{"prediction_type", "v_prediction"}, {"timestep_spacing", "trailing"},
                  {"beta_schedule", "linear"}, {"trained_betas", QJsonValue::Null}});
  QCOMPARE(v.prediction_type, std::string("v_prediction"));
  QCOMPARE(v.timestep_spacing, std::string("trailing"));
  for (const auto& name : latent::schedulers::scheduler_names()) {
    auto s = make_scheduler(name, v);
    const auto trajectory = run_loop(*s, 7, 5, {1, 4, 8, 8});
    QVERIFY2(torch::isfinite(trajectory.back()).all().item<bool>(), name.c_str());
  }
  QVERIFY_THROWS_EXCEPTION(latent::Error, SchedulerConfig::from_json(QJsonObject{{"beta_start", "x"}}));
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           SchedulerConfig::from_json(QJsonObject{{"beta_schedule", "cubic"}}));
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           SchedulerConfig::from_json(QJsonObject{{"prediction_type", "sample"}}));
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           SchedulerConfig::from_json(QJsonObject{{"timestep_spacing", "uniform"}}));
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           SchedulerConfig::from_json(QJsonObject{{"trained_betas", QJsonArray{0.1, 0.2}}}));
}

void TestSchedulers::brownianTreeIsConsistent() {
  using latent::schedulers::BrownianTree;
  // Same entropy: the same path, whatever the order of the queries (halfway tree).
  BrownianTree whole(0.0291675, 14.614645, {4096}, 42);
  BrownianTree parts(0.0291675, 14.614645, {4096}, 42);
  const auto w_ac = whole.increment(0.5, 3.0);
  const auto w_bc = parts.increment(1.25, 3.0);
  const auto w_ab = parts.increment(0.5, 1.25);
  QVERIFY(torch::equal(parts.increment(0.5, 3.0), w_ac));
  LATENT_COMPARE_CLOSE(w_ab + w_bc, w_ac, (latent::test::Tolerance{1e-5, 1e-5}));
  // Increments are Gaussian with variance equal to the interval's length.
  const double std_ratio = (w_ac.std() / std::sqrt(2.5)).item<double>();
  QVERIFY2(std::abs(std_ratio - 1) < 0.05, qPrintable(QString::number(std_ratio)));
  const double corr = (w_ab * w_bc).mean().item<double>() / std::sqrt(0.75 * 1.75);
  QVERIFY2(std::abs(corr) < 0.05, qPrintable(QString::number(corr)));
  // Another entropy, another path.
  BrownianTree other(0.0291675, 14.614645, {4096}, 43);
  QVERIFY(!torch::equal(other.increment(0.5, 3.0), w_ac));
}

QTEST_GUILESS_MAIN(TestSchedulers)
#include "tst_schedulers.moc"
