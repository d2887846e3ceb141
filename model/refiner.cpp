// refiner.cpp: the IterNet refiner (refiner.h).
#include "model/refiner.h"

#include "kernels/ops.h"
#include "model/trace.h"

namespace seqnet {

Refiner::Refiner(ParameterStore& store, const std::string& name, int width, int depth, int iterations, Norm norm,
                 float dropout, uint64_t& dropout_id)
    : name_(name), width_(width) {
  // PyTorch's order: the shared UNet (enc, up, dec), then the fuse convs.
  for (int i = 0; i < iterations; ++i) {
    Step s;
    s.enc0 = std::make_unique<DoubleConv>(store, name + ".enc.0", width, width, norm, dropout, dropout_id);
    s.body = std::make_unique<UNetBody>(store, name, width, depth, norm, dropout, dropout_id);
    steps_.push_back(std::move(s));
  }
  for (int i = 0; i < iterations; ++i)
    steps_[i].fuse = std::make_unique<Conv2d>(store, name + ".fuse." + std::to_string(i), width * (i + 2), width, 1, true);
}

std::vector<Tensor> Refiner::forward(const Tensor& unet_out, const Tensor& unet_first, const Mode& mode) {
  first_features_.assign(1, unet_first);
  std::vector<Tensor> outputs;
  Tensor f = unet_out;
  for (int i = 0; i < iterations(); ++i) {
    Step& s = steps_[i];
    first_features_.push_back(s.enc0->forward(f, mode));
    const Shape& fs = f.shape();
    ensure_tensor(s.concat, {fs.n(), int64_t(width_) * (i + 2), fs.h(), fs.w()}, f.device(), f.dtype());
    for (int j = 0; j <= i + 1; ++j) ops::copy_into_channels(s.concat, first_features_[j], j * width_);
    trace_layer(TracePass::forward, s.concat, name_, ".fuse.", i, ".cat");
    Tensor fused = s.fuse->forward(s.concat);
    trace_layer(TracePass::forward, fused, name_, ".fuse.", i);
    if (!mode.training) {  // evaluation: free what this iteration no longer needs
      s.fuse->release();
      s.concat = Tensor();
    }
    f = s.body->forward(fused, mode);
    outputs.push_back(f);
  }
  if (!mode.training) first_features_.clear();
  return outputs;
}

const Tensor& Refiner::backward(std::vector<Tensor>& d_features, Tensor& d_unet_first) {
  const int T = iterations();
  // d_first of step i is the gradient of F[i+1] (that step's enc.0 output); zero to accumulate.
  for (Step& s : steps_) {
    ensure_tensor(s.d_first, first_features_[1].shape(), d_unet_first.device(), d_unet_first.dtype());
    s.d_first.zero();
  }
  Tensor d_f;  // gradient of the feature map entering the current iteration
  for (int i = T - 1; i >= 0; --i) {
    Step& s = steps_[i];
    Tensor& d_out = d_features[i];
    if (d_f.defined()) ops::add_inplace(d_out, d_f);  // iteration i+1 also consumed this output
    const Tensor& d_g = s.body->backward(d_out);
    Tensor d_g_copy = d_g;
    trace_layer(TracePass::backward, d_g, name_, ".fuse.", i);
    const Tensor& d_concat = s.fuse->backward(d_g_copy);
    trace_layer(TracePass::backward, d_concat, name_, ".fuse.", i, ".cat");
    for (int j = 0; j <= i + 1; ++j) {
      Tensor& target = j == 0 ? d_unet_first : steps_[j - 1].d_first;
      ops::add_from_channels(target, d_concat, j * width_);
    }
    d_f = s.enc0->backward(s.d_first);
  }
  d_unet_out_ = d_f;
  return d_unet_out_;
}

void Refiner::release() {
  for (Step& s : steps_) {
    s.enc0->release();
    s.fuse->release();
    s.body->release();
    s.concat = s.d_first = Tensor();
  }
  first_features_.clear();
  d_unet_out_ = Tensor();
}

}  // namespace seqnet
