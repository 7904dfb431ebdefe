// The samplers with Stable Diffusion 2.x's schedules (tests/data/sd2/golden): zero terminal
// SNR's rescaled betas (and the 2⁻²⁴ floor of the samplers that need a finite σ_max),
// diffusers' v-prediction arithmetic on a synthetic model for every scheduler the cases
// cover, and for each of the 15 samplers that a v-prediction model and the noise model it
// is equivalent to take the same path.
#include <QtTest/QtTest>

#include <cmath>

#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/random.h"
#include "core/schedulers/scheduler.h"
#include "tests/support/golden.h"
#include "tests/support/golden_set.h"

using namespace latent;
using schedulers::Scheduler;
using schedulers::SchedulerConfig;

namespace {

const test::GoldenSet& sd2() {
  static const test::GoldenSet set("sd2");
  return set;
}

SchedulerConfig sd21_config(const std::string& prediction, bool zero_snr = false) {
  SchedulerConfig c = SchedulerConfig::from_json(sd2().index().value("scheduler_configs").toObject().value("sd21").toObject());
  c.prediction_type = prediction;
  c.rescale_betas_zero_snr = zero_snr;
  return c;
}

// A model's output at one call: what it predicts, given the UNet input and the call.
using Model = std::function<torch::Tensor(const torch::Tensor& model_input, int call)>;

// The denoising loop as the pipelines run it, from seeded noise; the latents after each call.
std::vector<torch::Tensor> run_loop(Scheduler& s, int steps, uint64_t seed, const Model& model) {
  s.set_timesteps(steps);
  auto generator = schedulers::make_cpu_generator(seed);
  std::vector<torch::Tensor> trajectory = {schedulers::randn_cpu({1, 4, 8, 8}, generator) * s.init_noise_sigma()};
  for (int i = 0; i < s.num_calls(); ++i) {
    const auto x = trajectory.back();
    trajectory.push_back(s.step(model(s.scale_model_input(x, i), i), i, x, generator).prev_sample);
  }
  return trajectory;
}

// A smooth noise predictor that depends on the input and the timestep.
torch::Tensor synthetic_eps(const torch::Tensor& x, double t) { return 0.5 * torch::tanh(x) + 0.001 * t; }

// √ᾱ at a call, as the sampler uses it to turn v into x0: the input scaling 1/√(σ²+1) of the
// samplers in sigma space, 1/√(σ²+1) of the call's sigma for DPM-Solver and UniPC, √ᾱ(t) for
// DDIM.
double alpha_of(Scheduler& s, const torch::Tensor& x, const torch::Tensor& model_input, int call) {
  if (!torch::equal(x, model_input)) return (model_input.norm() / x.norm()).item<double>();
  if (s.sigmas().defined()) {
    const double sigma = s.sigmas()[call].item<double>();
    return 1.0 / std::sqrt(sigma * sigma + 1.0);
  }
  return std::sqrt(s.alphas_cumprod()[static_cast<int64_t>(s.timestep(call))].item<double>());
}

}  // namespace

class TestSd2Schedulers : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  // diffusers' rescale_zero_terminal_snr in float32: β_T = 1 and ᾱ_T = 0 exactly, and the
  // samplers in sigma space floor ᾱ_T at 2⁻²⁴ (σ_max ≈ 4096) as diffusers' Euler does.
  void zeroSnrTables() {
    const auto plain = schedulers::make_scheduler("ddim", sd21_config("v_prediction"));
    QVERIFY(torch::equal(plain->alphas_cumprod(), sd2().tensor("sched_tables_sd2/alphas_cumprod.npy")));
    const auto ddim = schedulers::make_scheduler("ddim", sd21_config("v_prediction", true));
    QVERIFY(torch::equal(ddim->betas(), sd2().tensor("sched_tables_sd2/betas_zero_snr.npy")));
    QVERIFY(torch::equal(ddim->alphas_cumprod(), sd2().tensor("sched_tables_sd2/alphas_cumprod_zero_snr.npy")));
    QCOMPARE(ddim->alphas_cumprod()[-1].item<float>(), 0.0f);
    const auto euler = schedulers::make_scheduler("euler", sd21_config("v_prediction", true));
    QVERIFY(torch::equal(euler->alphas_cumprod(), sd2().tensor("sched_tables_sd2/alphas_cumprod_zero_snr_euler.npy")));
    QCOMPARE(euler->alphas_cumprod()[-1].item<float>(), std::ldexp(1.0f, -24));
    // Every sampler ends up with a finite schedule.
    for (const std::string& name : schedulers::scheduler_names()) {
      SchedulerConfig c = sd21_config("v_prediction", true);
      c.timestep_spacing = "trailing";
      const auto s = schedulers::make_scheduler(name, c);
      s->set_timesteps(10);
      QVERIFY2(std::isfinite(s->init_noise_sigma()), name.c_str());
      if (s->sigmas().defined()) QVERIFY2(torch::isfinite(s->sigmas()).all().item<bool>(), name.c_str());
    }
  }

  // The synth_v cases: out = 0.5·x_in + 0.001·t read as v, through diffusers' loop.
  void syntheticVMatchesDiffusers_data() {
    QTest::addColumn<QString>("id");
    for (const QString& id : sd2().ids("scheduler_synthetic")) QTest::newRow(qPrintable(id)) << id;
  }

  void syntheticVMatchesDiffusers() {
    QFETCH(QString, id);
    const QJsonObject golden = sd2().case_of(id);
    const auto config = SchedulerConfig::from_json(golden.value("scheduler_config").toObject());
    QCOMPARE(config.prediction_type, std::string("v_prediction"));
    const auto s = schedulers::make_scheduler(test::sampler_of_class(golden.value("scheduler_class").toString()), config);
    const auto trajectory =
        run_loop(*s, golden.value("num_inference_steps").toInt(), static_cast<uint64_t>(golden.value("seed").toInteger()),
                 [&](const torch::Tensor& x, int call) { return 0.5 * x + 0.001 * s->timestep(call); });
    const auto timesteps = golden.value("timesteps").toArray();
    QCOMPARE(s->num_calls(), static_cast<int>(timesteps.size()));
    for (int i = 0; i < s->num_calls(); ++i) QCOMPARE(static_cast<float>(s->timestep(i)), static_cast<float>(timesteps[i].toDouble()));
    const auto expected = sd2().tensor(id + "/trajectory.npy");
    QCOMPARE(static_cast<int64_t>(trajectory.size()), expected.size(0));
    const test::Tolerance tol = test::tolerance_of(golden);
    for (size_t i = 0; i < trajectory.size(); ++i) LATENT_COMPARE_CLOSE(trajectory[i], expected[i], tol);
  }

  // Every sampler: a v-prediction model and the noise model it is equivalent to
  // (v = (ε − σ·x_t)/α at the call's α = √ᾱ, σ = √(1 − ᾱ)) take the same path; read as ε,
  // the same v outputs would not. PNDM combines raw v outputs before converting them, as
  // diffusers does, so the two differ there by design (its synth_v case pins it).
  void vPredictionEquivalentInEverySampler_data() {
    QTest::addColumn<QString>("sampler");
    for (const std::string& name : schedulers::scheduler_names())
      if (name != "pndm") QTest::newRow(name.c_str()) << QString::fromStdString(name);
  }

  void vPredictionEquivalentInEverySampler() {
    QFETCH(QString, sampler);
    const std::string name = sampler.toStdString();
    const uint64_t seed = 7;
    const auto eps_scheduler = schedulers::make_scheduler(name, sd21_config("epsilon"));
    const auto eps_path = run_loop(*eps_scheduler, 8, seed, [&](const torch::Tensor& x, int call) {
      return synthetic_eps(x, eps_scheduler->timestep(call));
    });

    const auto v_scheduler = schedulers::make_scheduler(name, sd21_config("v_prediction"));
    torch::Tensor latents;  // the sample of the current call, for the input scaling
    const Model v_model = [&](const torch::Tensor& x, int call) {
      const double alpha = alpha_of(*v_scheduler, latents, x, call);
      const double sigma = std::sqrt(1.0 - alpha * alpha);
      return (synthetic_eps(x, v_scheduler->timestep(call)) - sigma * x) / alpha;
    };
    v_scheduler->set_timesteps(8);
    auto generator = schedulers::make_cpu_generator(seed);
    latents = schedulers::randn_cpu({1, 4, 8, 8}, generator) * v_scheduler->init_noise_sigma();
    std::vector<torch::Tensor> v_path = {latents};
    for (int i = 0; i < v_scheduler->num_calls(); ++i) {
      const auto out = v_model(v_scheduler->scale_model_input(latents, i), i);
      latents = v_scheduler->step(out, i, latents, generator).prev_sample;
      v_path.push_back(latents);
    }
    QCOMPARE(v_path.size(), eps_path.size());
    // float32 rounding only: at σ_max the conversion cancels two terms about 15 times the
    // result's size (α ≈ 0.07), which the multistep solvers carry on.
    const double scale = eps_path.front().abs().max().item<double>();
    for (size_t i = 0; i < v_path.size(); ++i) {
      const double diff = test::max_abs_difference(v_path[i], eps_path[i]);
      QVERIFY2(diff <= 5e-5 * scale, qPrintable(QString("call %1: v and ε paths differ by %2").arg(i).arg(diff)));
    }

    // The same v outputs taken for noise end elsewhere: the prediction type is honoured.
    const auto misread = schedulers::make_scheduler(name, sd21_config("epsilon"));
    torch::Tensor x = eps_path.front();
    auto g2 = schedulers::make_cpu_generator(seed);
    (void)schedulers::randn_cpu({1, 4, 8, 8}, g2);
    misread->set_timesteps(8);
    for (int i = 0; i < misread->num_calls(); ++i) {
      const auto input = misread->scale_model_input(x, i);
      latents = x;
      x = misread->step(v_model(input, i), i, x, g2).prev_sample;
    }
    QVERIFY(test::max_abs_difference(x, eps_path.back()) > 1e-2);
  }
};

QTEST_GUILESS_MAIN(TestSd2Schedulers)
#include "tst_sd2_schedulers.moc"
