// unet.cpp: UNetBody and UNet (unet.h).
#include "model/unet.h"

#include "kernels/ops.h"
#include "model/trace.h"

namespace seqnet {

UNetBody::UNetBody(ParameterStore& store, const std::string& name, int width, int depth, Norm norm, float dropout,
                   uint64_t& dropout_id)
    : name_(name), depth_(depth), pool_(depth), skips_(depth), concat_(depth), d_up_(depth), d_level_(depth) {
  for (int l = 0; l < depth; ++l) ch_.push_back(width << l);
  enc_.resize(depth);
  for (int l = 1; l < depth; ++l)
    enc_[l] = std::make_unique<DoubleConv>(store, name + ".enc." + std::to_string(l), ch_[l - 1], ch_[l], norm, dropout,
                                           dropout_id);
  for (int l = 0; l + 1 < depth; ++l) up_.emplace_back(store, name + ".up." + std::to_string(l), ch_[l + 1], ch_[l]);
  dec_.resize(depth > 1 ? depth - 1 : 0);
  // PyTorch declares the decoders in level order; the forward runs them from the bottom up.
  for (int l = 0; l + 1 < depth; ++l)
    dec_[l] = std::make_unique<DoubleConv>(store, name + ".dec." + std::to_string(l), 2 * ch_[l], ch_[l], norm,
                                           dropout, dropout_id);
}

Tensor UNetBody::forward(const Tensor& s0, const Mode& mode) {
  // In evaluation every layer lets go of its buffers once its output has been taken, and the
  // skips and concats are dropped once read, so only the maps still to be used stay alive.
  const bool keep = mode.training;
  skips_[0] = s0;
  for (int l = 1; l < depth_; ++l) {
    Tensor pooled = pool_[l].forward(skips_[l - 1]);
    trace_layer(TracePass::forward, pooled, name_, ".pool.", l);
    if (!keep) pool_[l].release();
    skips_[l] = enc_[l]->forward(pooled, mode);
  }
  Tensor x = skips_[depth_ - 1];
  for (int l = depth_ - 2; l >= 0; --l) {
    Tensor u = up_[l].forward(x);
    trace_layer(TracePass::forward, u, name_, ".up.", l);
    if (!keep) up_[l].release();
    const Shape& s = skips_[l].shape();
    // Odd sizes are not allowed (the model pads inputs), so the upsampled map matches the skip.
    ensure_tensor(concat_[l], {s.n(), 2 * ch_[l], s.h(), s.w()}, s0.device(), s0.dtype());
    ops::copy_into_channels(concat_[l], u, 0);  // upsampled first (docs/ARCHITECTURE.md)
    ops::copy_into_channels(concat_[l], skips_[l], ch_[l]);
    trace_layer(TracePass::forward, concat_[l], name_, ".dec.", l, ".cat");
    if (!keep) skips_[l + 1] = skips_[l] = u = x = Tensor();
    x = dec_[l]->forward(concat_[l], mode);
    if (!keep) concat_[l] = Tensor();
  }
  return x;
}

const Tensor& UNetBody::backward(Tensor& d_out) {
  if (depth_ == 1) return d_out;
  // Decoder, top to bottom: dec.l's input gradient splits into the up-conv's part and the skip's.
  std::vector<Tensor> d_concat(depth_);
  Tensor* d = &d_out;
  Tensor d_below;
  for (int l = 0; l + 1 < depth_; ++l) {
    d_concat[l] = dec_[l]->backward(*d);
    trace_layer(TracePass::backward, d_concat[l], name_, ".dec.", l, ".cat");
    const Shape& s = skips_[l].shape();
    ensure_tensor(d_up_[l], s, skips_[l].device(), skips_[l].dtype());
    ops::copy_from_channels(d_up_[l], d_concat[l], 0);
    trace_layer(TracePass::backward, d_up_[l], name_, ".up.", l);
    d_below = up_[l].backward(d_up_[l]);
    d = &d_below;
  }
  // Encoder, bottom to top: each level's output gradient is what came through the pool below
  // plus what its skip got from the decoder.
  for (int l = depth_ - 1; l >= 1; --l) {
    ensure_tensor(d_level_[l], skips_[l].shape(), skips_[l].device(), skips_[l].dtype());
    d_level_[l].copy_from(*d);
    if (l < depth_ - 1) ops::add_from_channels(d_level_[l], d_concat[l], ch_[l]);
    const Tensor& d_pooled = enc_[l]->backward(d_level_[l]);
    trace_layer(TracePass::backward, d_pooled, name_, ".pool.", l);
    d_below = pool_[l].backward(d_pooled);
    d = &d_below;
  }
  ensure_tensor(d_s0_, skips_[0].shape(), skips_[0].device(), skips_[0].dtype());
  d_s0_.copy_from(*d);
  ops::add_from_channels(d_s0_, d_concat[0], ch_[0]);
  return d_s0_;
}

void UNetBody::release() {
  for (int l = 0; l < depth_; ++l) {
    pool_[l].release();
    if (enc_[l]) enc_[l]->release();
    skips_[l] = concat_[l] = d_up_[l] = d_level_[l] = Tensor();
  }
  for (ConvTranspose2d& up : up_) up.release();
  for (auto& dec : dec_) dec->release();
  d_s0_ = Tensor();
}

UNet::UNet(ParameterStore& store, const std::string& name, int in_channels, int width, int depth, Norm norm,
           float dropout, uint64_t& dropout_id)
    : enc0_(store, name + ".enc.0", in_channels, width, norm, dropout, dropout_id),
      body_(store, name, width, depth, norm, dropout, dropout_id) {}

Tensor UNet::forward(const Tensor& x, const Mode& mode) {
  first_ = enc0_.forward(x, mode);
  return body_.forward(first_, mode);
}

const Tensor& UNet::backward(Tensor& d_out, const Tensor& d_first, bool input_grad) {
  Tensor d = body_.backward(d_out);
  if (d_first.defined()) ops::add_inplace(d, d_first);
  return enc0_.backward(d, input_grad);
}

void UNet::release() {
  enc0_.release();
  body_.release();
  first_ = Tensor();
}

}  // namespace seqnet
