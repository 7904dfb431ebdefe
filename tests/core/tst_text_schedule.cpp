// Prompts that change during the run, and AND, through the pipeline: the guidance combining
// composed predictions (against a hand computation on a fake model), the denoising loop
// switching conditioning at the steps the schedule names (a recording model), and
// encode_text_schedule on the tiny SD 1.x and SDXL models: one encoding per distinct text,
// plain prompts exactly as before, SDXL's pooled vector following the step's prompt.
#include <ATen/CPUGeneratorImpl.h>
#include <QtTest/QtTest>

#include <vector>

#include "core/pipeline/denoise_loop.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/noise_predictor.h"
#include "core/pipeline/text_conditioning.h"
#include "core/pipeline/text_schedule.h"
#include "core/pipeline/text_to_image.h"
#include "tests/support/golden.h"

using namespace latent;
using pipeline::ComposedTerm;
using pipeline::Composition;
using pipeline::Conditioning;
using pipeline::ConditioningSchedule;
using pipeline::GuidedConditioning;
Q_DECLARE_METATYPE(std::vector<float>)

namespace {

pipeline::ModelBundle& sd() { return test::golden_model("tiny-sd"); }
pipeline::ModelBundle& sdxl() { return test::golden_model("sdxl/tiny-sdxl"); }

// A fake model whose prediction for row r is latents[r] · (1 + mean of its context row): each
// conditioning row gives a different, easily computed answer. Records the rows it is given.
struct ScalingModel {
  std::vector<torch::Tensor> inputs;
  pipeline::NoisePredictor predictor() {
    return [this](const torch::Tensor& latents, const torch::Tensor&, const Conditioning& c) {
      inputs.push_back(latents.clone());
      const auto factor = 1 + c.context.mean({1, 2}).view({-1, 1, 1, 1});
      return latents * factor;
    };
  }
};

// Context rows filled with the given values: [N, 2, 3].
torch::Tensor rows(const std::vector<float>& values) {
  std::vector<torch::Tensor> out;
  for (const float v : values) out.push_back(torch::full({1, 2, 3}, v));
  return torch::cat(out);
}

pipeline::SamplingParams weighted(const std::vector<std::string>& prompts, const std::vector<std::string>& negatives) {
  pipeline::SamplingParams p;
  p.prompts = prompts;
  p.negative_prompts = negatives;
  p.width = p.height = 64;
  p.steps = 10;
  p.guidance_scale = 7.5;
  p.prompt_syntax = pipeline::PromptSyntax::Weighted;
  return p;
}

bool close(const torch::Tensor& a, const torch::Tensor& b) { return torch::allclose(a, b, 1e-5, 1e-5); }

// The conditioning of exactly these texts, encoded on their own.
GuidedConditioning encoded(pipeline::ModelBundle& model, const std::string& prompt, const std::string& negative) {
  return pipeline::encode_text_conditioning(model, weighted({prompt}, {negative}));
}

}  // namespace

class TestTextSchedule : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  // uncond + Σ wᵢ·scale·(condᵢ − uncond), image by image, from one call over [x; x per term].
  void guidanceComposesTerms() {
    torch::manual_seed(3);
    const auto x = torch::randn({2, 1, 2, 2});
    // Unconditional rows 0.1 and 0.2; conditional rows (terms) 1, 2 and 3.
    Conditioning batched;
    batched.context = rows({0.1f, 0.2f, 1.f, 2.f, 3.f});
    const Composition composition = {{{0, 1.0}, {1, 0.5}}, {{2, -0.3}}};
    pipeline::Guidance guidance{7.0, 0.0};
    ScalingModel model;
    const auto got = pipeline::guided_prediction(model.predictor(), x, torch::tensor(1.0), batched, guidance, true,
                                                 composition);
    QCOMPARE(model.inputs.size(), std::size_t(1));  // one model call for everything
    QVERIFY(torch::equal(model.inputs[0], torch::cat({x, x[0].unsqueeze(0), x[0].unsqueeze(0), x[1].unsqueeze(0)})));
    const auto u0 = x[0] * 1.1, u1 = x[1] * 1.2;
    const auto c1 = x[0] * 2.0, c2 = x[0] * 3.0, c3 = x[1] * 4.0;
    const auto expected = torch::stack({u0 + 1.0 * 7 * (c1 - u0) + 0.5 * 7 * (c2 - u0), u1 + -0.3 * 7 * (c3 - u1)});
    QVERIFY(close(got, expected));

    // Rescaled towards the composed conditional prediction uncond + Σ wᵢ·(condᵢ − uncond).
    guidance.rescale = 0.7;
    const auto rescaled = pipeline::guided_prediction(model.predictor(), x, torch::tensor(1.0), batched, guidance,
                                                      true, composition);
    const auto cond = torch::stack({u0 + (c1 - u0) + 0.5 * (c2 - u0), u1 - 0.3 * (c3 - u1)});
    const std::vector<int64_t> dims{1, 2, 3};
    const auto factor = cond.std(dims, true, true) / expected.std(dims, true, true);
    QVERIFY(close(rescaled, 0.7 * expected * factor + 0.3 * expected));

    // Without guidance the image's first term stands in for uncond, at scale 1.
    Conditioning cond_only;
    cond_only.context = rows({1.f, 2.f, 3.f});
    const auto unguided = pipeline::guided_prediction(model.predictor(), x, torch::tensor(1.0), cond_only, guidance,
                                                      false, composition);
    QVERIFY(close(unguided, torch::stack({c1 + 0.5 * (c2 - c1), c3})));
  }

  // A single weight-1 term per image is the plain formula, to the bit.
  void plainCompositionIsPlainGuidance() {
    torch::manual_seed(4);
    const auto x = torch::randn({2, 1, 2, 2});
    Conditioning batched;
    batched.context = rows({0.1f, 0.2f, 1.f, 2.f});
    ScalingModel model;
    const pipeline::Guidance guidance{5.0, 0.0};
    const auto plain = pipeline::guided_prediction(model.predictor(), x, torch::tensor(1.0), batched, guidance, true);
    const auto composed = pipeline::guided_prediction(model.predictor(), x, torch::tensor(1.0), batched, guidance, true,
                                                      Composition{{{0, 1.0}}, {{1, 1.0}}});
    QVERIFY(close(plain, composed));
  }

  // The loop gives each call its span's phase, counting steps from the schedule's first call.
  void loopSwitchesAtTheScheduledSteps_data() {
    QTest::addColumn<int>("begin");
    QTest::addColumn<int>("firstCall");
    QTest::addColumn<std::vector<float>>("expected");
    QTest::newRow("from the start") << 0 << 0 << std::vector<float>{0, 0, 0, 1, 1, 1, 2, 2, 2, 2};
    // Image to image: the run starts at call 4, which is step 0.
    QTest::newRow("part-way, counted from there") << 4 << 4 << std::vector<float>{0, 0, 0, 1, 1, 1};
    // A refiner taking over at call 4 goes on counting the base's steps.
    QTest::newRow("part-way, counted from 0") << 4 << 0 << std::vector<float>{1, 1, 2, 2, 2, 2};
  }

  void loopSwitchesAtTheScheduledSteps() {
    QFETCH(int, begin);
    QFETCH(int, firstCall);
    QFETCH(std::vector<float>, expected);
    torch::InferenceMode inference;
    auto& model = sd();
    pipeline::SamplingParams p = weighted({"x"}, {});
    p.sampler = "euler";
    auto scheduler = pipeline::make_params_scheduler(model, p);
    QCOMPARE(scheduler->num_calls(), 10);
    scheduler->set_begin_index(begin);

    ConditioningSchedule schedule;
    for (const float value : {0.f, 1.f, 2.f}) {
      GuidedConditioning phase;
      phase.cond.context = torch::full({1, 2, 3}, value);
      schedule.phases.push_back(phase);
    }
    schedule.spans = {{2, 0}, {5, 1}, {9, 2}};
    schedule.first_call = firstCall;
    pipeline::DenoiseSpec spec;
    spec.begin = begin;
    pipeline::set_text_conditioning(spec, schedule);
    QCOMPARE(spec.conditioning.cond.context[0][0][0].item<float>(), expected.front());
    std::vector<float> seen;
    spec.predict = [&seen](const torch::Tensor& latents, const torch::Tensor&, const Conditioning& c) {
      seen.push_back(c.context[0][0][0].item<float>());
      return torch::zeros_like(latents);
    };
    auto generator = at::detail::createCPUGenerator(1);
    (void)pipeline::denoise(model, *scheduler, torch::zeros({1, 4, 8, 8}), spec, generator, {}, nullptr);
    QCOMPARE(seen, expected);
  }

  // "[cat:dog:0.5]" and "[blurry::3]" at 10 steps: three spans, each text encoded once and
  // equal to its own encoding.
  void editingEncodesEachText() {
    torch::InferenceMode inference;
    auto& model = sd();
    const auto p = weighted({"a [cat:dog:0.5] on a mat"}, {"[blurry::3]"});
    const auto schedule = pipeline::encode_text_schedule(model, p, {10});
    QCOMPARE(schedule.phases.size(), std::size_t(3));
    std::vector<int> phases;
    for (int call = 0; call < 10; ++call) phases.push_back(schedule.phase_at_call(call));
    QCOMPARE(phases, (std::vector<int>{0, 0, 0, 0, 1, 1, 2, 2, 2, 2}));
    const std::vector<std::pair<std::string, std::string>> texts = {
        {"a cat on a mat", "blurry"}, {"a cat on a mat", ""}, {"a dog on a mat", ""}};
    for (std::size_t k = 0; k < texts.size(); ++k) {
      const auto alone = encoded(model, texts[k].first, texts[k].second);
      QVERIFY2(close(schedule.phases[k].cond.context, alone.cond.context), texts[k].first.c_str());
      QVERIFY2(close(schedule.phases[k].uncond.context, alone.uncond.context), texts[k].second.c_str());
      QVERIFY(schedule.phases[k].composition.empty());
    }
    QVERIFY(!torch::equal(schedule.phases[0].cond.context, schedule.phases[2].cond.context));
  }

  // Without the syntax the schedule is encode_text_conditioning's conditioning, bit for bit.
  void plainPromptsAreUnchanged() {
    torch::InferenceMode inference;
    for (auto* model : {&sd(), &sdxl()}) {
      auto p = weighted({"a (cat:1.2) on a mat, BREAK sunny"}, {"blurry "});
      p.width = p.height = 128;
      const auto schedule = pipeline::encode_text_schedule(*model, p, {10});
      const auto plain = pipeline::encode_text_conditioning(*model, p);
      QCOMPARE(schedule.phases.size(), std::size_t(1));
      QVERIFY(!schedule.changes());
      QVERIFY(torch::equal(schedule.phases[0].cond.context, plain.cond.context));
      QVERIFY(torch::equal(schedule.phases[0].uncond.context, plain.uncond.context));
      QCOMPARE(schedule.phases[0].cond.pooled.defined(), plain.cond.pooled.defined());
      if (plain.cond.pooled.defined()) QVERIFY(torch::equal(schedule.phases[0].cond.pooled, plain.cond.pooled));
    }
  }

  // AND: one conditional row per part and image, weights as written, texts encoded once.
  void andMakesOneRowPerPart() {
    torch::InferenceMode inference;
    auto& model = sd();
    auto p = weighted({"a cat AND a dog :0.5"}, {"ugly"});
    p.images_per_prompt = 2;
    const auto schedule = pipeline::encode_text_schedule(model, p, {10});
    QCOMPARE(schedule.phases.size(), std::size_t(1));
    const auto& phase = schedule.phases[0];
    QCOMPARE(phase.cond.context.size(0), int64_t(4));
    QCOMPARE(phase.uncond.context.size(0), int64_t(2));
    QCOMPARE(phase.composition.size(), std::size_t(2));
    QCOMPARE(phase.composition[1][0].row, int64_t(2));
    QCOMPARE(phase.composition[1][1].weight, 0.5);
    QVERIFY(torch::equal(phase.cond.context[0], phase.cond.context[2]));
    QVERIFY(close(phase.cond.context[1], encoded(model, " a dog", "ugly").cond.context[0]));
    QCOMPARE(phase.cond_images(), (std::vector<int64_t>{0, 0, 1, 1}));
    pipeline::DenoiseSpec spec;
    pipeline::set_text_conditioning(spec, schedule);
    QCOMPARE(spec.conditioning.batched().context.size(0), int64_t(6));  // [uncond ×2; terms ×4]
  }

  // A whole run with AND and alternation draws pictures, and differs from the plain prompt's.
  void textToImageRunsTheSyntax() {
    auto& model = sd();
    pipeline::TextToImageParams p;
    p = weighted({"a [cat|dog] AND a hat:0.7"}, {"[ugly:blurry:2]"});
    p.steps = 3;
    p.images_per_prompt = 2;
    const auto syntax = pipeline::text_to_image(model, p);
    QCOMPARE(syntax.images.sizes(), (torch::IntArrayRef{2, 64, 64, 3}));
    QVERIFY(torch::isfinite(syntax.latents).all().item<bool>());
    p.prompts = {"a cat"};
    p.negative_prompts = {"ugly"};
    const auto plain = pipeline::text_to_image(model, p);
    QVERIFY(!torch::equal(plain.latents, syntax.latents));
  }

  // SDXL: the pooled vector (and context) follow the step's prompt; time ids stay per image.
  void sdxlPooledFollowsTheStep() {
    torch::InferenceMode inference;
    auto& model = sdxl();
    auto p = weighted({"a [red|blue] ball"}, {});
    p.width = p.height = 128;
    p.guidance_scale = 5.0;
    const auto schedule = pipeline::encode_text_schedule(model, p, {4});
    QCOMPARE(schedule.phases.size(), std::size_t(2));
    // Steps 1..4 alternate red, blue, red, blue; calls 0 and 1 are step ≤ 1.
    std::vector<int> phases;
    for (int call = 0; call < 4; ++call) phases.push_back(schedule.phase_at_call(call));
    QCOMPARE(phases, (std::vector<int>{0, 0, 1, 0}));
    for (const auto& [phase, text] : {std::pair{0, "a red ball"}, std::pair{1, "a blue ball"}}) {
      auto alone = weighted({text}, {});
      alone.width = alone.height = 128;
      alone.guidance_scale = 5.0;
      const auto reference = pipeline::encode_text_conditioning(model, alone);
      const auto& got = schedule.phases[static_cast<std::size_t>(phase)];
      QVERIFY(close(got.cond.pooled, reference.cond.pooled));
      QVERIFY(close(got.cond.context, reference.cond.context));
      QVERIFY(torch::equal(got.cond.time_ids, reference.cond.time_ids));
      QVERIFY(torch::equal(got.uncond.context, reference.uncond.context));  // zeros: no negative prompt
    }
    QVERIFY(!torch::equal(schedule.phases[0].cond.pooled, schedule.phases[1].cond.pooled));
  }
};

QTEST_GUILESS_MAIN(TestTextSchedule)
#include "tst_text_schedule.moc"
