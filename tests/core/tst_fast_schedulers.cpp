// Few-step sampling against diffusers (fast/golden): the LCM and TCD timestep lists for
// every original-steps length, LCM's boundary scalings at every timestep, TCD's
// intermediate timesteps for every gamma, trailing spacing of DDIM, Euler and Euler a, and
// whole synthetic trajectories (a fixed linear "model") with their noise draws.
#include <QtTest/QtTest>

#include <QJsonArray>

#include <ATen/CPUGeneratorImpl.h>

#include "core/schedulers/scheduler.h"
#include "core/schedulers/scheduler_lcm.h"
#include "core/schedulers/scheduler_tcd.h"
#include "core/util/error.h"
#include "tests/support/golden.h"
#include "tests/support/fast_golden.h"
#include "tests/support/golden_set.h"

using namespace latent;

namespace {

const test::GoldenSet& fast() { return test::fast_golden(); }

QJsonObject tables() { return fast().case_of("sched_tables_fewstep").value("tables").toObject(); }

std::vector<double> numbers(const QJsonValue& value) {
  std::vector<double> out;
  for (const QJsonValue& v : value.toArray()) out.push_back(v.toDouble());
  return out;
}

std::vector<double> values_of(const torch::Tensor& t) {
  const auto d = t.to(torch::kFloat64).contiguous();
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

std::unique_ptr<schedulers::Scheduler> scheduler_for(const QJsonObject& config, double eta, int steps) {
  auto c = schedulers::SchedulerConfig::from_json(config);
  c.eta = eta;
  c.gamma = eta;  // TCD's gamma is diffusers' eta
  auto s = schedulers::make_scheduler(test::sampler_of_class(config.value("_class_name").toString()), c);
  s->set_timesteps(steps);
  return s;
}

}  // namespace

class TestFastSchedulers : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void consistencyTimestepsMatchDiffusers() {
    const QJsonObject by_original = tables().value("lcm_and_tcd_timesteps_by_original_inference_steps").toObject();
    QVERIFY(!by_original.isEmpty());
    int checked = 0;
    for (const QString& original : by_original.keys()) {
      const QJsonObject by_steps = by_original.value(original).toObject();
      for (const QString& steps : by_steps.keys()) {
        schedulers::SchedulerConfig config;
        config.original_inference_steps = original.toInt();
        for (const char* name : {"lcm", "tcd"}) {
          auto s = schedulers::make_scheduler(name, config);
          s->set_timesteps(steps.toInt());
          QCOMPARE(s->timesteps().scalar_type(), torch::kInt64);
          QCOMPARE(values_of(s->timesteps()), numbers(by_steps.value(steps).toObject().value("timesteps")));
        }
        ++checked;
      }
    }
    QVERIFY(checked > 30);
  }

  void lcmRefusesMoreStepsThanItsSchedule() {
    schedulers::SchedulerConfig config;
    config.original_inference_steps = 8;
    auto s = schedulers::make_scheduler("lcm", config);
    QVERIFY_THROWS_EXCEPTION(Error, s->set_timesteps(9));
    s->set_timesteps(8);
    QCOMPARE(s->num_calls(), 8);
  }

  void boundaryScalingsMatchDiffusers() {
    const auto c_skip = fast().tensor("sched_tables_fewstep/lcm_c_skip_by_timestep.npy");
    const auto c_out = fast().tensor("sched_tables_fewstep/lcm_c_out_by_timestep.npy");
    QCOMPARE(c_skip.numel(), 1000);
    auto mine_skip = torch::empty({1000});
    auto mine_out = torch::empty({1000});
    for (int64_t t = 0; t < 1000; ++t) {
      const auto s = schedulers::lcm_boundary_scalings(t, 10.0);
      mine_skip[t] = s.c_skip;
      mine_out[t] = s.c_out;
    }
    LATENT_COMPARE_CLOSE(mine_skip, c_skip, (test::Tolerance{0.0, 1e-6}));
    LATENT_COMPARE_CLOSE(mine_out, c_out, (test::Tolerance{0.0, 1e-6}));
  }

  void tcdIntermediateTimestepsMatchDiffusers() {
    const QJsonObject by_gamma = tables().value("tcd_timestep_s_by_gamma").toObject();
    QVERIFY(!by_gamma.isEmpty());
    for (const QString& gamma : by_gamma.keys()) {
      const QJsonObject by_steps = by_gamma.value(gamma).toObject();
      for (const QString& steps : by_steps.keys()) {
        const QJsonObject row = by_steps.value(steps).toObject();
        const auto next = numbers(row.value("t_next"));
        const auto expected = numbers(row.value("timestep_s"));
        for (size_t i = 0; i < next.size(); ++i)
          QCOMPARE(static_cast<double>(schedulers::tcd_timestep_s(gamma.toDouble(), static_cast<int64_t>(next[i]))),
                   expected[i]);
      }
    }
  }

  void tcdRefusesGammaAboveOne() {
    schedulers::SchedulerConfig config;
    config.gamma = 1.5;
    QVERIFY_THROWS_EXCEPTION(Error, schedulers::make_scheduler("tcd", config));
  }

  void trailingSpacingMatchesDiffusers_data() {
    QTest::addColumn<QString>("table");
    QTest::newRow("ddim") << "ddim_trailing";
    QTest::newRow("euler") << "euler_trailing";
    QTest::newRow("euler_a") << "euler_a_trailing";
  }

  void trailingSpacingMatchesDiffusers() {
    QFETCH(QString, table);
    const QJsonObject t = tables().value(table).toObject();
    const QJsonObject config = t.value("config").toObject();
    const QJsonObject by_steps = t.value("by_steps").toObject();
    QVERIFY(!by_steps.isEmpty());
    for (const QString& steps : by_steps.keys()) {
      const QJsonObject row = by_steps.value(steps).toObject();
      const auto s = scheduler_for(config, 0.0, steps.toInt());
      QCOMPARE(values_of(s->timesteps()), numbers(row.value("timesteps")));
      QCOMPARE(static_cast<float>(s->init_noise_sigma()), static_cast<float>(row.value("init_noise_sigma").toDouble()));
      if (row.contains("sigmas")) {
        const auto expected = numbers(row.value("sigmas"));
        const auto sigmas = values_of(s->sigmas());
        QCOMPARE(sigmas.size(), expected.size());
        for (size_t i = 0; i < sigmas.size(); ++i)
          QCOMPARE(static_cast<float>(sigmas[i]), static_cast<float>(expected[i]));
      }
    }
  }

  void syntheticTrajectoriesMatchDiffusers_data() {
    QTest::addColumn<QString>("id");
    for (const QString& id : fast().ids("scheduler_synthetic")) QTest::newRow(qPrintable(id)) << id;
  }

  void syntheticTrajectoriesMatchDiffusers() {
    QFETCH(QString, id);
    const QJsonObject golden = fast().case_of(id);
    const QJsonObject tol_json = golden.value("tolerance").toObject();
    const test::Tolerance tol{tol_json.value("atol").toDouble(), tol_json.value("rtol").toDouble()};
    const int steps = golden.value("num_inference_steps").toInt();
    auto s = scheduler_for(golden.value("scheduler_config").toObject(), golden.value("eta").toDouble(), steps);
    QCOMPARE(values_of(s->timesteps()), numbers(golden.value("timesteps")));

    auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(golden.value("seed").toDouble()));
    const auto noise = at::randn({1, 4, 8, 8}, generator);
    QVERIFY(torch::equal(noise, fast().tensor(id + "/noise.npy")));
    const auto trajectory = fast().tensor(id + "/trajectory.npy");
    auto x = noise * s->init_noise_sigma();
    LATENT_COMPARE_CLOSE(x, trajectory[0], tol);
    for (int i = 0; i < s->num_calls(); ++i) {
      const auto input = s->scale_model_input(x, i);
      const auto eps = 0.5 * input + 0.001 * s->timestep(i);
      x = s->step(eps, i, x, generator).prev_sample;
      LATENT_COMPARE_CLOSE(x, trajectory[i + 1], tol);
    }
    LATENT_COMPARE_CLOSE(x, fast().tensor(id + "/final.npy"), tol);
  }
};

QTEST_GUILESS_MAIN(TestFastSchedulers)
#include "tst_fast_schedulers.moc"
