#pragma once

// A small line chart of a training run's loss: every step's loss in a light line and the
// running mean over it in a strong one, the vertical axis spanning what has been seen.

#include <QWidget>

#include <vector>

namespace latent::ui {

class LossPlot : public QWidget {
  Q_OBJECT

 public:
  explicit LossPlot(QWidget* parent = nullptr);

  void clear();
  void add(int step, double loss, double averageLoss);
  void setTotalSteps(int steps);  // the horizontal axis' length

  int pointCount() const { return static_cast<int>(m_points.size()); }
  QSize sizeHint() const override { return {420, 180}; }

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  struct Point {
    int step;
    double loss, average;
  };
  std::vector<Point> m_points;
  int m_totalSteps = 1;
};

}  // namespace latent::ui
