#include <QtTest/QtTest>

#include "core/pipeline/preview_schedule.h"

using latent::pipeline::PreviewSchedule;

namespace {

struct Run {
  int decodes = 0;
  int first = 0;  // step of the first decode, 0 if none
  double share = 0;  // of the whole run: steps, previews and the final decode
};

// A run of `steps` steps of `step_seconds` each where a decode takes `decode_seconds`.
Run simulate(PreviewSchedule schedule, int steps, double step_seconds, double decode_seconds) {
  Run run;
  double denoising = 0;
  for (int step = 1; step <= steps; ++step) {
    denoising += step_seconds;
    if (schedule.decode_at(step, steps, denoising)) {
      schedule.decoded(decode_seconds);
      ++run.decodes;
      if (!run.first) run.first = step;
    }
  }
  run.share = schedule.seconds_in_decodes() / (denoising + schedule.seconds_in_decodes() + decode_seconds);
  return run;
}

}  // namespace

class TestPreviewSchedule : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void fixedCadenceIsKept() {
    PreviewSchedule every3(3);
    QVERIFY(!every3.decode_at(1, 10, 1.0));
    QVERIFY(every3.decode_at(3, 10, 3.0));
    QVERIFY(every3.decode_at(9, 10, 9.0));
    QVERIFY2(!PreviewSchedule(5).decode_at(10, 10, 10.0), "the last step is decoded anyway");
    QVERIFY(PreviewSchedule(1).decode_at(1, 10, 1.0));
    for (int step = 1; step <= 10; ++step) QVERIFY(!PreviewSchedule(0).decode_at(step, 10, step));
  }

  void automaticShareStaysNearTheTarget_data() {
    QTest::addColumn<int>("steps");
    QTest::addColumn<double>("decodeInSteps");
    QTest::newRow("25 steps, decode = 1.15 steps (SD 1.5 at 512x512)") << 25 << 1.15;
    QTest::newRow("50 steps, decode = 1.15 steps") << 50 << 1.15;
    QTest::newRow("150 steps, decode = 1.15 steps") << 150 << 1.15;
    QTest::newRow("50 steps, decode = 3 steps (large image)") << 50 << 3.0;
    QTest::newRow("100 steps, decode = 0.3 steps (fast VAE)") << 100 << 0.3;
  }
  void automaticShareStaysNearTheTarget() {
    QFETCH(int, steps);
    QFETCH(double, decodeInSteps);
    const Run run = simulate(PreviewSchedule(-1), steps, 2.0, 2.0 * decodeInSteps);
    qInfo("%d steps, decode %.2f steps: %d decodes, first at step %d, share %.3f", steps,
          decodeInSteps, run.decodes, run.first, run.share);
    QVERIFY(run.decodes >= 1);
    QVERIFY2(run.share <= PreviewSchedule::kTargetShare + 1e-9, "previews take more than their share");
    // Within one decode of the target: the schedule never leaves a whole decode unused.
    const double one_decode = decodeInSteps / (steps + decodeInSteps);
    QVERIFY2(run.share >= PreviewSchedule::kTargetShare - one_decode - 0.01, "previews are too rare");
  }

  void automaticShareAdaptsToMeasuredDecodes() {
    // The first guess (1.15 steps) is wrong by 4x: later decodes use the measured time.
    const Run run = simulate(PreviewSchedule(-1), 60, 1.0, 4.6);
    QCOMPARE(run.decodes, 1);
    QVERIFY(run.share <= PreviewSchedule::kTargetShare);
  }

  void automaticNeverDecodesShortRuns() {
    // Four steps earn less than one decode.
    QCOMPARE(simulate(PreviewSchedule(-1), 4, 1.0, 1.15).decodes, 0);
    QVERIFY(!PreviewSchedule(-1).decode_at(1, 1, 5.0));
  }
};

QTEST_GUILESS_MAIN(TestPreviewSchedule)
#include "tst_preview_schedule.moc"
