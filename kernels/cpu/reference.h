// reference.h: plain-loop convolutions, the oracle for the fast CPU kernels and the CUDA twins.
//
// Straight transcriptions of the sums in conv2d.h and conv_transpose2x2.h, no cleverness:
// slow, obviously right. Same argument order and gradient rule (dw, db +=; dx =).
#pragma once

namespace seqnet::cpu::reference {

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, int N, int C, int H, int W, int K, int ksize);
template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, int N, int C, int H, int W, int K, int ksize);
template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, int N, int C, int H, int W, int K, int ksize);

template <typename T>
void conv_transpose2x2_forward(T* y, const T* x, const T* w, const T* b, int N, int C, int H, int W, int K);
template <typename T>
void conv_transpose2x2_backward_input(T* dx, const T* dy, const T* w, int N, int C, int H, int W, int K);
template <typename T>
void conv_transpose2x2_backward_weight(T* dw, const T* dy, const T* x, int N, int C, int H, int W, int K);

}  // namespace seqnet::cpu::reference
