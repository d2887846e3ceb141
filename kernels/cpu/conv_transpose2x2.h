// conv_transpose2x2.h: transposed convolution, kernel 2, stride 2 (the UNet's upsampling).
//
// Every input pixel paints its own 2x2 output block, so the blocks never overlap:
// Forward    y[n,k,2i+u,2j+v] = b[k] + sum_c x[n,c,i,j] * w[c,k,u,v]
// Backward   dx[n,c,i,j]  = sum_{k,u,v} w[c,k,u,v] * dy[n,k,2i+u,2j+v]
//            dw[c,k,u,v] += sum_{n,i,j} x[n,c,i,j] * dy[n,k,2i+u,2j+v]
//            db[k]       += sum over n and the output plane of dy (bias_backward in conv2d.h)
// Fast path: per band of input rows, a GEMM (K*4, band) = w^T (K*4, C) x (C, band) on the input
// in place, then a scatter of the 4 taps into the output planes (conv_transpose2x2.cpp).
// `workspace` holds conv_transpose2x2_workspace_size() elements: one band's taps per OpenMP
// thread. The size depends only on (K, H, W) and the thread count, so one workspace of the
// largest size can be shared by every layer.
#pragma once

#include <cstdint>

namespace seqnet::cpu {

int64_t conv_transpose2x2_workspace_size(int K, int H, int W);

// y (N,K,2H,2W) from x (N,C,H,W), w (C,K,2,2), b (K) (not null).
template <typename T>
void conv_transpose2x2_forward(T* y, const T* x, const T* w, const T* b, T* workspace, int N, int C, int H,
                               int W, int K);
// dx (N,C,H,W) = ; from dy (N,K,2H,2W) and w (C,K,2,2).
template <typename T>
void conv_transpose2x2_backward_input(T* dx, const T* dy, const T* w, T* workspace, int N, int C, int H, int W,
                                      int K);
// dw (C,K,2,2) += ; from dy (N,K,2H,2W) and x (N,C,H,W).
template <typename T>
void conv_transpose2x2_backward_weight(T* dw, const T* dy, const T* x, T* workspace, int N, int C, int H, int W,
                                       int K);

}  // namespace seqnet::cpu
