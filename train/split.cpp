// split.cpp: validation_images (split.h).
#include "train/split.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace seqnet {

std::vector<bool> validation_images(const std::vector<int>& dataset, const SplitSettings& s) {
  const size_t n = dataset.size();
  std::mt19937_64 rng(s.seed);
  auto shuffled = [&rng](std::vector<size_t> order) {
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    return order;
  };
  std::vector<bool> validates(n, false);
  if (s.folds == 0) {
    const size_t n_val = std::max<size_t>(1, size_t(std::lround(s.val_fraction * double(n))));
    if (n < n_val + 1)
      throw std::runtime_error("the datasets hold " + std::to_string(n) + " image(s): at least " + std::to_string(n_val + 1) +
                               " are needed (" + std::to_string(n_val) + " for validation and one to train on)");
    std::vector<size_t> all(n);
    std::iota(all.begin(), all.end(), 0);
    const std::vector<size_t> order = shuffled(all);
    for (size_t k = 0; k < n_val; ++k) validates[order[k]] = true;
    return validates;
  }
  if (n < size_t(s.folds))
    throw std::runtime_error("the datasets hold " + std::to_string(n) + " image(s), fewer than the " + std::to_string(s.folds) +
                             " folds asked for");
  size_t dealt = 0;
  for (int d = 0; d <= *std::max_element(dataset.begin(), dataset.end()); ++d) {
    std::vector<size_t> members;
    for (size_t i = 0; i < n; ++i)
      if (dataset[i] == d) members.push_back(i);
    for (size_t i : shuffled(members)) validates[i] = int(dealt++ % size_t(s.folds)) == s.fold - 1;
  }
  return validates;
}

}  // namespace seqnet
