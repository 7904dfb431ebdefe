// The inpainting mask canvas: strokes land on the picture's own pixels whatever the zoom,
// erase and undo work, and clearing empties the mask.
#include <QSignalSpy>
#include <QtTest/QtTest>

#include "ui/mask_canvas.h"

using latent::ui::MaskCanvas;

namespace {

// The mask value at a picture position.
int maskAt(const MaskCanvas& canvas, int x, int y) { return qGray(canvas.mask().pixel(x, y)); }

int paintedPixels(const QImage& mask) {
  int count = 0;
  for (int y = 0; y < mask.height(); ++y)
    for (int x = 0; x < mask.width(); ++x) count += qGray(mask.pixel(x, y)) == 255;
  return count;
}

QImage grey(int width, int height) {
  QImage picture(width, height, QImage::Format_RGB888);
  picture.fill(QColor(90, 120, 150));
  return picture;
}

}  // namespace

class TestMaskCanvas : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void init();
  void cleanup();
  void newPictureHasAnEmptyMaskOfItsSize();
  void clickPaintsADiscOfTheBrushSize();
  void dragPaintsALineInPictureCoordinates();
  void rightButtonAndEraseModeErase();
  void undoRestoresThePreviousMaskAndCtrlZUndoes();
  void clearEmptiesAndCanBeUndone();
  void paintingDisabledPaintsNothing();

 private:
  void drag(const QPointF& fromPicture, const QPointF& toPicture,
            Qt::MouseButton button = Qt::LeftButton);

  std::unique_ptr<MaskCanvas> m_canvas;
};

void TestMaskCanvas::init() {
  m_canvas = std::make_unique<MaskCanvas>();
  // The picture is twice the widget's width: one screen pixel covers two picture pixels,
  // and it is centred with 50 pixels above and below.
  m_canvas->resize(200, 200);
  m_canvas->setPicture(grey(400, 200));
  m_canvas->show();
  QVERIFY(QTest::qWaitForWindowExposed(m_canvas.get()));
}

void TestMaskCanvas::cleanup() { m_canvas.reset(); }

void TestMaskCanvas::drag(const QPointF& fromPicture, const QPointF& toPicture,
                          Qt::MouseButton button) {
  const QPoint from = m_canvas->toWidget(fromPicture).toPoint();
  const QPoint to = m_canvas->toWidget(toPicture).toPoint();
  QTest::mousePress(m_canvas.get(), button, Qt::NoModifier, from);
  for (int i = 1; i <= 4; ++i) QTest::mouseMove(m_canvas.get(), from + (to - from) * i / 4);
  QTest::mouseRelease(m_canvas.get(), button, Qt::NoModifier, to);
}

void TestMaskCanvas::newPictureHasAnEmptyMaskOfItsSize() {
  QCOMPARE(m_canvas->mask().size(), QSize(400, 200));
  QCOMPARE(m_canvas->mask().format(), QImage::Format_Grayscale8);
  QVERIFY(!m_canvas->hasMask());
  QCOMPARE(paintedPixels(m_canvas->mask()), 0);
  QVERIFY(!m_canvas->canUndo());
  QCOMPARE(m_canvas->size(), QSize(200, 200));
  QCOMPARE(m_canvas->toPicture(QPointF(100, 100)), QPointF(200, 100));
  QCOMPARE(m_canvas->toPicture(QPointF(0, 50)), QPointF(0, 0));
  QCOMPARE(m_canvas->toWidget(QPointF(400, 200)), QPointF(200, 150));
}

void TestMaskCanvas::clickPaintsADiscOfTheBrushSize() {
  m_canvas->setBrushSize(20);
  QSignalSpy changed(m_canvas.get(), &MaskCanvas::maskChanged);
  QTest::mouseClick(m_canvas.get(), Qt::LeftButton, Qt::NoModifier,
                    m_canvas->toWidget(QPointF(100, 100)).toPoint());
  QVERIFY(changed.count() >= 1);
  QVERIFY(m_canvas->hasMask());
  QCOMPARE(maskAt(*m_canvas, 100, 100), 255);
  QCOMPARE(maskAt(*m_canvas, 106, 100), 255);  // inside the radius of 10
  QCOMPARE(maskAt(*m_canvas, 100, 94), 255);
  QCOMPARE(maskAt(*m_canvas, 115, 100), 0);  // outside it
  QCOMPARE(maskAt(*m_canvas, 300, 100), 0);
  // A disc of diameter 20 covers about π·10² = 314 pixels.
  const int painted = paintedPixels(m_canvas->mask());
  QVERIFY2(painted > 250 && painted < 400, qPrintable(QString::number(painted)));
}

void TestMaskCanvas::dragPaintsALineInPictureCoordinates() {
  m_canvas->setBrushSize(10);
  drag(QPointF(60, 100), QPointF(340, 100));
  for (int x = 60; x <= 340; x += 20) QCOMPARE(maskAt(*m_canvas, x, 100), 255);
  QCOMPARE(maskAt(*m_canvas, 200, 100 - 12), 0);
  QCOMPARE(maskAt(*m_canvas, 200, 100 + 12), 0);
  QCOMPARE(maskAt(*m_canvas, 20, 100), 0);
  QCOMPARE(maskAt(*m_canvas, 380, 100), 0);
}

void TestMaskCanvas::rightButtonAndEraseModeErase() {
  m_canvas->setBrushSize(40);
  drag(QPointF(40, 100), QPointF(360, 100));
  QCOMPARE(maskAt(*m_canvas, 100, 100), 255);
  QCOMPARE(maskAt(*m_canvas, 300, 100), 255);
  m_canvas->setBrushSize(10);
  drag(QPointF(100, 60), QPointF(100, 140), Qt::RightButton);
  QCOMPARE(maskAt(*m_canvas, 100, 100), 0);
  QCOMPARE(maskAt(*m_canvas, 120, 100), 255);
  m_canvas->setErasing(true);
  drag(QPointF(300, 60), QPointF(300, 140));
  QCOMPARE(maskAt(*m_canvas, 300, 100), 0);
  QCOMPARE(maskAt(*m_canvas, 200, 100), 255);
}

void TestMaskCanvas::undoRestoresThePreviousMaskAndCtrlZUndoes() {
  m_canvas->setBrushSize(16);
  drag(QPointF(50, 50), QPointF(150, 50));
  const QImage afterFirst = m_canvas->mask();
  drag(QPointF(50, 150), QPointF(150, 150));
  QCOMPARE(maskAt(*m_canvas, 100, 150), 255);
  QVERIFY(m_canvas->canUndo());

  m_canvas->undo();
  QCOMPARE(m_canvas->mask(), afterFirst);
  QCOMPARE(maskAt(*m_canvas, 100, 150), 0);
  QCOMPARE(maskAt(*m_canvas, 100, 50), 255);

  m_canvas->setFocus();
  QTest::keyClick(m_canvas.get(), Qt::Key_Z, Qt::ControlModifier);
  QVERIFY(!m_canvas->hasMask());
  QVERIFY(!m_canvas->canUndo());
  m_canvas->undo();  // nothing left: no change, no crash
  QVERIFY(!m_canvas->hasMask());
}

void TestMaskCanvas::clearEmptiesAndCanBeUndone() {
  m_canvas->setBrushSize(30);
  drag(QPointF(100, 100), QPointF(300, 100));
  const int painted = paintedPixels(m_canvas->mask());
  QVERIFY(painted > 0);
  m_canvas->clear();
  QVERIFY(!m_canvas->hasMask());
  QCOMPARE(paintedPixels(m_canvas->mask()), 0);
  m_canvas->undo();
  QCOMPARE(paintedPixels(m_canvas->mask()), painted);
}

void TestMaskCanvas::paintingDisabledPaintsNothing() {
  m_canvas->setPaintingEnabled(false);
  drag(QPointF(100, 100), QPointF(300, 100));
  QVERIFY(!m_canvas->hasMask());
  QVERIFY(!m_canvas->canUndo());
  // A new picture starts over: the mask follows its size, the history is gone.
  m_canvas->setPaintingEnabled(true);
  drag(QPointF(100, 100), QPointF(300, 100));
  m_canvas->setPicture(grey(64, 48));
  QCOMPARE(m_canvas->mask().size(), QSize(64, 48));
  QVERIFY(!m_canvas->hasMask());
  QVERIFY(!m_canvas->canUndo());
}

QTEST_MAIN(TestMaskCanvas)
#include "tst_mask_canvas.moc"
