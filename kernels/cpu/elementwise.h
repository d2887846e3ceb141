// elementwise.h: ReLU, sigmoid, inverted dropout, and the helpers that sum gradients.
//
// ReLU       y = max(x, 0);            dx = dy * [y > 0]
// Sigmoid    y = 1 / (1 + e^-x);       dx = dy * y * (1 - y)
// Dropout    y = x * keep / (1 - p);   dx = dy * keep / (1 - p)   (training only)
//            keep = dropout_keep(seed, i, p) (kernels/dropout_hash.h): a counter-based hash, so
//            backward recomputes the mask instead of storing it, and CPU and CUDA draw the same.
#pragma once

#include <cstdint>

namespace seqnet::cpu {

template <typename T> void relu_forward(T* y, const T* x, int64_t n);
template <typename T> void relu_backward(T* dx, const T* dy, const T* y, int64_t n);
template <typename T> void sigmoid_forward(T* y, const T* x, int64_t n);
template <typename T> void sigmoid_backward(T* dx, const T* dy, const T* y, int64_t n);
template <typename T> void dropout_forward(T* y, const T* x, int64_t n, float p, uint64_t seed);
template <typename T> void dropout_backward(T* dx, const T* dy, int64_t n, float p, uint64_t seed);
// The dropout of a piece of a larger tensor, on the calling thread: y[i] = x[i] keep / (1-p) for
// i < n with keep = dropout_keep(seed, first + i, p), i.e. as if y[0] were element `first` of the
// tensor dropout_forward masks. The fused batch-norm + ReLU + dropout pass (batchnorm.h) applies it
// to each piece of a plane while the piece is in L1. p > 0; y may be x.
template <typename T> void dropout_piece(T* y, const T* x, int64_t n, uint64_t first, float p, uint64_t seed);
// y += x (gradients arriving at one tensor from two uses).
template <typename T> void add_inplace(T* y, const T* x, int64_t n);

}  // namespace seqnet::cpu
