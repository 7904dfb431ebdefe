#include "ui/loss_plot.h"

#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace latent::ui {

LossPlot::LossPlot(QWidget* parent) : QWidget(parent) {
  setMinimumSize(240, 120);
  setAccessibleName(tr("Training loss"));
}

void LossPlot::clear() {
  m_points.clear();
  update();
}

void LossPlot::add(int step, double loss, double averageLoss) {
  if (!std::isfinite(loss) || !std::isfinite(averageLoss)) return;
  m_points.push_back({step, loss, averageLoss});
  update();
}

void LossPlot::setTotalSteps(int steps) {
  m_totalSteps = std::max(1, steps);
  update();
}

void LossPlot::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.setRenderHint(QPainter::Antialiasing);
  painter.fillRect(rect(), palette().base());
  const QRectF area = QRectF(rect()).adjusted(44, 8, -8, -20);
  painter.setPen(palette().color(QPalette::Mid));
  painter.drawRect(area);
  if (m_points.empty()) {
    painter.setPen(palette().color(QPalette::PlaceholderText));
    painter.drawText(area, Qt::AlignCenter, tr("The loss appears here while training"));
    return;
  }

  double low = m_points.front().loss, high = low;
  for (const auto& p : m_points) low = std::min({low, p.loss, p.average}), high = std::max({high, p.loss, p.average});
  if (high - low < 1e-9) high = low + 1e-9;
  const auto at = [&](int step, double value) {
    return QPointF(area.left() + area.width() * step / m_totalSteps,
                   area.bottom() - area.height() * (value - low) / (high - low));
  };
  QPainterPath raw, mean;
  raw.moveTo(at(m_points.front().step, m_points.front().loss));
  mean.moveTo(at(m_points.front().step, m_points.front().average));
  for (const auto& p : m_points) raw.lineTo(at(p.step, p.loss)), mean.lineTo(at(p.step, p.average));
  QColor light = palette().color(QPalette::Highlight);
  light.setAlpha(70);
  painter.setPen(QPen(light, 1));
  painter.drawPath(raw);
  painter.setPen(QPen(palette().color(QPalette::Highlight), 2));
  painter.drawPath(mean);

  painter.setPen(palette().color(QPalette::Text));
  const QRectF labels(0, area.top() - 6, area.left() - 4, area.height() + 12);
  painter.drawText(labels, Qt::AlignRight | Qt::AlignTop, QString::number(high, 'g', 3));
  painter.drawText(labels, Qt::AlignRight | Qt::AlignBottom, QString::number(low, 'g', 3));
  painter.drawText(QRectF(area.left(), area.bottom() + 2, area.width(), 18), Qt::AlignRight,
                   tr("step %1 of %2").arg(m_points.back().step).arg(m_totalSteps));
}

}  // namespace latent::ui
