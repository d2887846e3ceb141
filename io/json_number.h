// json_number.h: numbers read from JSON that came from a file (a checkpoint's or a weights file's
// metadata), converted only when they fit: nlohmann's get<int>() of 1e300 is a float-to-int
// conversion out of range, which is undefined behaviour (UBSan's float-cast-overflow).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace seqnet {

// An integer in [min, max]; throws std::invalid_argument naming `what` otherwise.
template <typename Int>
Int json_integer(const nlohmann::json& v, const std::string& what) {
  const bool fits = v.is_number_unsigned()  ? v.get<uint64_t>() <= uint64_t(std::numeric_limits<Int>::max())
                    : v.is_number_integer() ? v.get<int64_t>() >= int64_t(std::numeric_limits<Int>::min()) &&
                                                  (v.get<int64_t>() < 0 || uint64_t(v.get<int64_t>()) <= uint64_t(std::numeric_limits<Int>::max()))
                                            : false;
  if (!fits) throw std::invalid_argument(what + " must be an integer in [" + std::to_string(std::numeric_limits<Int>::min()) +
                                         ", " + std::to_string(std::numeric_limits<Int>::max()) + "], got " + v.dump());
  return v.is_number_unsigned() ? Int(v.get<uint64_t>()) : Int(v.get<int64_t>());
}

// A finite number (integers included) within float's or double's range.
template <typename Real>
Real json_real(const nlohmann::json& v, const std::string& what) {
  const double x = v.is_number() ? v.get<double>() : NAN;
  if (!std::isfinite(x) || std::fabs(x) > double(std::numeric_limits<Real>::max()))
    throw std::invalid_argument(what + " must be a finite number, got " + v.dump());
  return Real(x);
}

}  // namespace seqnet
