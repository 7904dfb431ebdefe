// Prompt editing, alternation and AND as the web UI reads them. The expected schedules are
// the web UI's doctests (modules/prompt_parser.py) and, for the other rows, what its
// get_learned_conditioning_prompt_schedules returns (lark 1.1) for the same prompt.
#include <QtTest/QtTest>

#include <string>
#include <vector>

#include "core/text/prompt_composition.h"
#include "core/text/prompt_schedule.h"
#include "core/util/error.h"
#include "tests/support/error_message.h"

using latent::text::ScheduledText;
using latent::text::SubPrompt;
using Schedule = std::vector<ScheduledText>;
using Parts = std::vector<SubPrompt>;
Q_DECLARE_METATYPE(Schedule)
Q_DECLARE_METATYPE(Parts)

namespace {

QString describe(const Schedule& schedule) {
  QStringList out;
  for (const auto& entry : schedule)
    out << QString("[%1, \"%2\"]").arg(entry.end_at_step).arg(QString::fromStdString(entry.text));
  return "[" + out.join(", ") + "]";
}

QString describe(const Parts& parts) {
  QStringList out;
  for (const auto& part : parts)
    out << QString("[\"%1\", %2]").arg(QString::fromStdString(part.text)).arg(part.weight, 0, 'g', 17);
  return "[" + out.join(", ") + "]";
}

// Every step from 1 to `steps` alternating between the texts, as the web UI lists them.
Schedule alternating(int steps, const std::vector<std::string>& texts) {
  Schedule out;
  for (int step = 1; step <= steps; ++step) out.push_back({step, texts[(step - 1) % texts.size()]});
  return out;
}

}  // namespace

class TestPromptSchedule : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void schedules_data() {
    QTest::addColumn<QString>("prompt");
    QTest::addColumn<int>("steps");
    QTest::addColumn<int>("firstPassSteps");
    QTest::addColumn<Schedule>("expected");
    // The web UI's doctests, at 10 steps.
    QTest::newRow("plain") << "test" << 10 << 0 << Schedule{{10, "test"}};
    QTest::newRow("[to:when]") << "a [b:3]" << 10 << 0 << Schedule{{3, "a "}, {10, "a b"}};
    QTest::newRow("space before when") << "a [b: 3]" << 10 << 0 << Schedule{{3, "a "}, {10, "a b"}};
    QTest::newRow("emphasis kept") << "a [[[b]]:2]" << 10 << 0 << Schedule{{2, "a "}, {10, "a [[b]]"}};
    QTest::newRow("weight kept") << "[(a:2):3]" << 10 << 0 << Schedule{{3, ""}, {10, "(a:2)"}};
    QTest::newRow("spaces") << "a [b : c : 1] d" << 10 << 0 << Schedule{{1, "a b  d"}, {10, "a  c  d"}};
    QTest::newRow("nested") << "a[b:[c:d:2]:1]e" << 10 << 0 << Schedule{{1, "abe"}, {2, "ace"}, {10, "ade"}};
    QTest::newRow("unclosed bracket is text") << "a [unbalanced" << 10 << 0 << Schedule{{10, "a [unbalanced"}};
    QTest::newRow("fraction") << "a [b:.5] c" << 10 << 0 << Schedule{{5, "a  c"}, {10, "a b c"}};
    QTest::newRow("loose brackets") << "((a][:b:c [d:3]" << 10 << 0
                                    << Schedule{{3, "((a][:b:c "}, {10, "((a][:b:c d"}};
    QTest::newRow("alternation") << "[a|(b:1.1)]" << 10 << 0 << alternating(10, {"a", "(b:1.1)"});
    QTest::newRow("empty option") << "[fe|]male" << 10 << 0 << alternating(10, {"female", "male"});
    QTest::newRow("empty options") << "[fe|||]male" << 10 << 0 << alternating(10, {"female", "male", "male", "male"});
    // The doctests' hires pass: 10 first-pass steps, 10 of its own.
    QTest::newRow("hires: fraction of the first pass") << "a [b:.5] c" << 10 << 10 << Schedule{{10, "a b c"}};
    QTest::newRow("hires: fraction of the second") << "a [b:1.5] c" << 10 << 10 << Schedule{{5, "a  c"}, {10, "a b c"}};
    // The example and the comment at the top of prompt_parser.py (100 steps).
    QTest::newRow("[from:to:when] at 10 steps") << "a [b:c:0.5] d" << 10 << 0 << Schedule{{5, "a b d"}, {10, "a c d"}};
    QTest::newRow("landscape")
        << "fantasy landscape with a [mountain:lake:0.25] and [an oak:a christmas tree:0.75][ in foreground::0.6]"
           "[: in background:0.25] [shoddy:masterful:0.5]"
        << 100 << 0
        << Schedule{{25, "fantasy landscape with a mountain and an oak in foreground shoddy"},
                    {50, "fantasy landscape with a lake and an oak in foreground in background shoddy"},
                    {60, "fantasy landscape with a lake and an oak in foreground in background masterful"},
                    {75, "fantasy landscape with a lake and an oak in background masterful"},
                    {100, "fantasy landscape with a lake and a christmas tree in background masterful"}};
    // Further cases, as the web UI's function computes them.
    QTest::newRow("fraction truncated in double") << "[a:b:0.29]" << 100 << 0 << Schedule{{28, "a"}, {100, "b"}};
    QTest::newRow("1.0 is all the steps") << "[a:b:1.0]" << 10 << 0 << Schedule{{10, "a"}};
    QTest::newRow("2. is a fraction") << "[a:b:2.]" << 5 << 0 << Schedule{{5, "a"}};
    QTest::newRow("step 0") << "[a:b:0]" << 10 << 0 << Schedule{{10, "b"}};
    QTest::newRow("negative step") << "[a:b:-2]" << 10 << 0 << Schedule{{10, "b"}};
    QTest::newRow("exponent is a step") << "[a:b:1e1]" << 4 << 0 << Schedule{{4, "a"}};
    QTest::newRow("step past the end") << "[a:b:12]" << 10 << 0 << Schedule{{10, "a"}};
    QTest::newRow("space after when") << "[a: 2 ]" << 5 << 0 << Schedule{{2, ""}, {5, "a"}};
    QTest::newRow("outer construct first") << "[[a:3]:5]" << 10 << 0 << Schedule{{3, ""}, {5, ""}, {10, "a"}};
    QTest::newRow("three options") << "[a|b|c]" << 5 << 0 << alternating(5, {"a", "b", "c"});
    QTest::newRow("edit inside alternation") << "[a|[b:c:2]]" << 4 << 0
                                             << Schedule{{1, "a"}, {2, "b"}, {3, "a"}, {4, "c"}};
    QTest::newRow("inside round brackets") << "(x [a:3] y)" << 5 << 0 << Schedule{{3, "(x  y)"}, {5, "(x a y)"}};
    QTest::newRow("bad emphasis inside: text") << "[(a:b:c):3]" << 5 << 0 << Schedule{{5, "[(a:b:c):3]"}};
    QTest::newRow("loose | : all text") << "a | b [c:1]" << 5 << 0 << Schedule{{5, "a | b [c:1]"}};
    QTest::newRow("escaped brackets") << "a \\[b:1\\]" << 5 << 0 << Schedule{{5, "a \\[b:1\\]"}};
    QTest::newRow("trailing backslash: all text") << "[a:b:3] tail\\" << 5 << 0 << Schedule{{5, "[a:b:3] tail\\"}};
    QTest::newRow("hires: step in the first pass") << "a [b:15] c" << 10 << 20 << Schedule{{10, "a b c"}};
    QTest::newRow("hires: step in the second pass") << "a [b:25] c" << 10 << 20
                                                    << Schedule{{5, "a  c"}, {10, "a b c"}};
  }

  void schedules() {
    QFETCH(QString, prompt);
    QFETCH(int, steps);
    QFETCH(int, firstPassSteps);
    QFETCH(Schedule, expected);
    const auto got = latent::text::prompt_schedule(prompt.toStdString(), {steps, firstPassSteps});
    QVERIFY2(got == expected, qPrintable(describe(got) + " != " + describe(expected)));
  }

  // The web UI's denoiser counts its calls from 0 and takes the first entry whose end it
  // does not pass: at 10 steps "[b:c:0.5]" is b for calls 0 to 5, c for 6 to 9.
  void textAtStepCountsAsTheWebUi() {
    const auto schedule = latent::text::prompt_schedule("a [b:c:0.5] d", {10, 0});
    for (int call = 0; call <= 5; ++call) QCOMPARE(latent::text::text_at_step(schedule, call), std::string("a b d"));
    for (int call = 6; call < 10; ++call) QCOMPARE(latent::text::text_at_step(schedule, call), std::string("a c d"));
    QCOMPARE(latent::text::text_at_step(schedule, 40), std::string("a c d"));  // past the end: the last
  }

  void deepNestingIsReadAsWritten() {
    const std::string deep = std::string(200, '[') + "a:3" + std::string(200, ']');
    const auto schedule = latent::text::prompt_schedule(deep, {10, 0});
    QCOMPARE(schedule.size(), std::size_t(1));
    QCOMPARE(schedule[0].text, deep);
    // A few unclosed brackets before a construct: text, and the construct read.
    const std::string few(10, '[');
    QVERIFY(latent::text::prompt_schedule(few + "[a:2]", {10, 0}) == (Schedule{{2, few}, {10, few + "a"}}));
    // Beyond the nesting limit the whole prompt is text (the web UI would still read [a:2]);
    // 100,000 of them are read in one pass, not one per bracket.
    const std::string many = std::string(100000, '[') + "[a:2]";
    QVERIFY(latent::text::prompt_schedule(many, {10, 0}) == (Schedule{{10, many}}));
  }

  void refusals() {
    QVERIFY(latent::test::error_message([] { latent::text::prompt_schedule("a", {0, 0}); }).contains("at least one step"));
    // 1000 steps of alternation over a long prompt would be gigabytes of text.
    const std::string long_prompt = "[a|b] " + std::string(100000, 'x');
    QVERIFY(latent::test::error_message([&] { latent::text::prompt_schedule(long_prompt, {1000, 0}); })
                .contains("MiB of text"));
  }

  void composition_data() {
    QTest::addColumn<QString>("prompt");
    QTest::addColumn<Parts>("expected");
    QTest::newRow("one part") << "a cat" << Parts{{"a cat", 1.0}};
    QTest::newRow("trailing space dropped") << "a cat  " << Parts{{"a cat", 1.0}};
    QTest::newRow("two parts") << "a cat AND a dog" << Parts{{"a cat", 1.0}, {" a dog", 1.0}};
    QTest::newRow("weights") << "a cat :1.2 AND a dog: -0.5" << Parts{{"a cat", 1.2}, {" a dog", -0.5}};
    QTest::newRow("weight without AND") << "a cat:1.5" << Parts{{"a cat", 1.5}};
    QTest::newRow("forms of numbers") << "a:2. AND b:.5 AND c:+3" << Parts{{"a", 2.0}, {" b", 0.5}, {" c", 3.0}};
    QTest::newRow("AND inside a word") << "SANDY ANDROID" << Parts{{"SANDY ANDROID", 1.0}};
    QTest::newRow("lower case and") << "a cat and a dog" << Parts{{"a cat and a dog", 1.0}};
    QTest::newRow("empty part") << "a AND" << Parts{{"a", 1.0}, {"", 1.0}};
    QTest::newRow("not a weight") << "a:b AND (c:1.2)" << Parts{{"a:b", 1.0}, {" (c:1.2)", 1.0}};
    QTest::newRow("edit in a part") << "[a:b:3] AND c" << Parts{{"[a:b:3]", 1.0}, {" c", 1.0}};
  }

  void composition() {
    QFETCH(QString, prompt);
    QFETCH(Parts, expected);
    const auto got = latent::text::split_composable_prompt(prompt.toStdString());
    QVERIFY2(got == expected, qPrintable(describe(got) + " != " + describe(expected)));
  }

  void compositionRefusesWildWeights() {
    QVERIFY(latent::test::error_message([] { latent::text::split_composable_prompt("a AND b:1000"); })
                .contains("'1000'"));
    const std::string huge = "a:" + std::string(400, '9');
    QVERIFY(latent::test::error_message([&] { latent::text::split_composable_prompt(huge); }).contains("AND weight"));
  }
};

QTEST_GUILESS_MAIN(TestPromptSchedule)
#include "tst_prompt_schedule.moc"
