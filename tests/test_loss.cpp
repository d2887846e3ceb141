// test_loss.cpp: SeqNetLoss's two artery/vein regions (model/loss.h): "all" averages the
// artery/vein terms over every pixel, "vessel" over ground-truth vessel pixels only.
#include <gtest/gtest.h>

#include <cmath>

#include "model/loss.h"
#include "test_support.h"

namespace seqnet {
namespace {

struct LossCase {
  SeqNetOutputs logits;
  SeqNetTargets targets;
};

// One seg head and two cls heads on a 2x1x5x6 batch; every third pixel is vessel, artery or vein
// in turn (the artery target may include non-vessel pixels, as crossings do not here).
LossCase make_case() {
  const Shape one{2, 1, 5, 6}, two{2, 2, 5, 6};
  LossCase c;
  c.logits.seg = {test::random_tensor(one, 1, DType::f64, 2.0)};
  c.logits.cls = {test::random_tensor(two, 2, DType::f64, 2.0), test::random_tensor(two, 3, DType::f64, 2.0)};
  for (Tensor* t : {&c.targets.vessel, &c.targets.artery, &c.targets.vein}) *t = Tensor::zeros(one, Device::cpu, DType::f64);
  for (int64_t i = 0; i < one.numel(); ++i) {
    const bool vessel = i % 3 == 0;
    c.targets.vessel.f64()[i] = vessel;
    c.targets.artery.f64()[i] = vessel && i % 2 == 0;
    c.targets.vein.f64()[i] = vessel && i % 2 == 1;
  }
  return c;
}

TEST(SeqNetLoss, VesselRegionIgnoresTheClassHeadsOffTheVessels) {
  LossCase c = make_case();
  SeqNetLoss loss(ArteryVeinLoss::vessel_pixels);
  loss.forward_backward(c.logits, c.targets);
  const double before = loss.value();
  const Tensor& vessel = c.targets.vessel;
  const int64_t plane = vessel.numel() / 2;  // H*W of one image
  for (size_t k = 0; k < c.logits.cls.size(); ++k)
    for (int64_t i = 0; i < c.logits.cls[k].numel(); ++i) {
      const int64_t n = i / (2 * plane), pixel = n * plane + i % plane;
      if (vessel.f64()[pixel] == 0) {
        EXPECT_EQ(loss.gradients().cls[k].f64()[i], 0.0) << "head " << k << " element " << i;
        c.logits.cls[k].f64()[i] += 5.0;  // a background answer that must not matter
      }
    }
  loss.forward_backward(c.logits, c.targets);
  EXPECT_NEAR(loss.value(), before, 1e-12);

  // The "all" region does see the background: the same change moves its loss.
  LossCase fresh = make_case();
  SeqNetLoss all(ArteryVeinLoss::all_pixels);
  all.forward_backward(fresh.logits, fresh.targets);
  const double all_before = all.value();
  all.forward_backward(c.logits, c.targets);
  EXPECT_GT(std::abs(all.value() - all_before), 1e-3);
}

// The gradient SeqNetLoss returns is the derivative of its value (central differences in
// float64), for a vessel and a background pixel of each cls head and for the seg head.
TEST(SeqNetLoss, VesselRegionGradientMatchesCentralDifferences) {
  LossCase c = make_case();
  SeqNetLoss loss(ArteryVeinLoss::vessel_pixels);
  loss.forward_backward(c.logits, c.targets);
  const SeqNetOutputs analytic{{loss.gradients().seg[0].clone()},
                               {loss.gradients().cls[0].clone(), loss.gradients().cls[1].clone()}};
  auto check = [&](Tensor& logit, const Tensor& grad, int64_t i) {
    const double h = 1e-6, saved = logit.f64()[i];
    logit.f64()[i] = saved + h;
    loss.forward_backward(c.logits, c.targets);
    const double up = loss.value();
    logit.f64()[i] = saved - h;
    loss.forward_backward(c.logits, c.targets);
    const double down = loss.value();
    logit.f64()[i] = saved;
    EXPECT_NEAR(grad.f64()[i], (up - down) / (2 * h), 1e-8) << i;
  };
  for (int64_t i : {0, 1, 3, 4, 31, 33}) {
    check(c.logits.cls[0], analytic.cls[0], i);
    check(c.logits.cls[1], analytic.cls[1], i);
    check(c.logits.seg[0], analytic.seg[0], i);
  }
}

TEST(SeqNetLoss, RegionNamesRoundTripAndBadNamesAreRefused) {
  EXPECT_EQ(artery_vein_loss_from("all"), ArteryVeinLoss::all_pixels);
  EXPECT_EQ(artery_vein_loss_from(to_string(ArteryVeinLoss::vessel_pixels)), ArteryVeinLoss::vessel_pixels);
  EXPECT_THROW(artery_vein_loss_from("veins"), std::invalid_argument);
}

}  // namespace
}  // namespace seqnet
