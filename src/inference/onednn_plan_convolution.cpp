// Planning of convolutions (see onednn_plan.hpp): oneDNN's JIT convolutions in its own layouts, or
// our NHWC 3x3 depthwise kernel (cpu_kernels.hpp), with what follows a convolution fused into it:
// BatchNormalization and constant scales and offsets folded into the weights and bias, ReLU (and
// for the depthwise kernel PReLU) applied in the same pass, the residual Add as a sum post-op.
#include <cmath>
#include <memory>
#include <string>

#include "inference/onednn_plan.hpp"

namespace faceproof::executor {

using namespace cpu;  // Activation, DepthwiseShape, depthwise3x3_nhwc, kDepthwiseLanes

void Planner::plan_conv(int k, const Attributes& attr, const std::vector<Value*>& in) {
    const onnx::NodeProto& node = graph_.node(k);
    Value& x = *in[0];
    if (in.size() < 2 || !in[1]->constant || (in.size() > 2 && in[2] && !in[2]->constant) || x.constant)
        refuse(model_, "Conv needs constant weights");
    if (attr.text("auto_pad", "NOTSET") != "NOTSET") refuse(model_, "Conv auto_pad is not supported");
    const Value& w = *in[1];
    if (w.dims.size() != 4 || x.dims.size() != 4) refuse(model_, "only 2-D convolutions are supported");
    const std::int64_t group = attr.integer("group", 1);
    const std::int64_t out_c = w.dims[0], in_per_group = w.dims[1], kh = w.dims[2], kw = w.dims[3];
    if (in_per_group * group != x.dims[1] || out_c % group != 0) refuse(model_, "Conv shapes do not agree");
    const Dims pads = attr.integers("pads", {0, 0, 0, 0}), strides = attr.integers("strides", {1, 1}),
               dilations = attr.integers("dilations", {1, 1});
    std::vector<float> weights = w.f;
    std::vector<float> bias = in.size() > 2 && in[2] ? in[2]->f : std::vector<float>(out_c, 0.f);
    const Dims out_dims = {x.dims[0], out_c,
                           (x.dims[2] + pads[0] + pads[2] - ((kh - 1) * dilations[0] + 1)) / strides[0] + 1,
                           (x.dims[3] + pads[1] + pads[3] - ((kw - 1) * dilations[1] + 1)) / strides[1] + 1};

    // Depthwise convolutions run on our own NHWC kernel (below), which also applies PReLU.
    const bool depthwise = runs_as_our_depthwise(k, x.dims);
    if (x.input_prelu != nullptr && !depthwise) refuse(model_, "internal: a deferred PReLU reached another operator");
    Activation activation = Activation::none;
    const float* slope = nullptr;

    // Fusion: what follows, when this convolution's output feeds only it.
    std::string out_name = node.output(0);
    dnnl::post_ops post;
    std::string sum_operand;  // the other operand of a fused residual Add, node sum_add
    int sum_add = -1;
    for (;;) {
        int next = sole_consumer(out_name, "BatchNormalization");
        if (next >= 0 && post.len() == 0) {
            fold_batch_norm(graph_.node(next), out_c, weights, bias, kh * kw * in_per_group);
            fused_[next] = true;
            out_name = graph_.node(next).output(0);
            continue;
        }
        // A constant scale or offset (per tensor or per channel) right after the convolution
        // goes into its weights and bias (fr_detect's scaled residual branches).
        if (post.len() == 0) {
            const int mul = sole_consumer(out_name, "Mul"), add = sole_consumer(out_name, "Add");
            next = mul >= 0 ? mul : add;
            const Value* factor = next >= 0 ? channel_constant(graph_.node(next), out_name, out_c) : nullptr;
            if (factor != nullptr) {
                const std::int64_t per_channel = kh * kw * in_per_group;
                for (std::int64_t c = 0; c < out_c; ++c) {
                    const float v = factor->f[factor->f.size() == 1 ? 0 : c];
                    if (next == mul) {
                        for (std::int64_t j = 0; j < per_channel; ++j) weights[c * per_channel + j] *= v;
                        bias[c] *= v;
                    } else {
                        bias[c] += v;
                    }
                }
                fused_[next] = true;
                out_name = graph_.node(next).output(0);
                continue;
            }
        }
        if (activation != Activation::none) break;
        if ((next = sole_consumer(out_name, "Relu")) >= 0) {
            post.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
            activation = Activation::relu;
        } else if (depthwise && (next = sole_consumer(out_name, "PRelu")) >= 0 &&
                   value(graph_.node(next).input(1)).constant &&
                   count(value(graph_.node(next).input(1)).dims) == out_c) {
            activation = Activation::prelu;
            slope = value(graph_.node(next).input(1)).f.data();
        } else if (!depthwise && (next = sole_consumer(out_name, "Add")) >= 0 && post.len() == 0) {
            // The residual Add as a sum post-op: the destination holds the other operand
            // before the convolution adds into it (oneDNN 2.6's JIT convolutions take a sum
            // post-op; with a binary add post-op they fall back to a plain-layout GEMM).
            const onnx::NodeProto& add = graph_.node(next);
            const std::string& other_name = add.input(0) == out_name ? add.input(1) : add.input(0);
            const auto other = values_.find(other_name);
            if (other == values_.end() || other->second.constant || other->second.dims != out_dims) break;
            post.append_sum(1.f);
            sum_operand = other_name;
            sum_add = next;
        } else {
            break;
        }
        fused_[next] = true;
        out_name = graph_.node(next).output(0);
    }

    if (depthwise) return plan_depthwise(x, out_name, out_dims, weights, bias, kh, kw, strides, pads, activation, slope);

    const Dims weight_dims = group == 1 ? Dims{out_c, in_per_group, kh, kw}
                                        : Dims{group, out_c / group, in_per_group, kh, kw};
    const tag weight_tag = group == 1 ? tag::oihw : tag::goihw;
    const Dims dnnl_dilations = {dilations[0] - 1, dilations[1] - 1};
    dnnl::primitive_attr pattr = user_scratchpad();
    pattr.set_post_ops(post);
    const auto make_pd = [&](const memory::desc& src_desc) {
        const dnnl::convolution_forward::desc desc(
            dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_desc,
            memory::desc(weight_dims, dt::f32, tag::any), memory::desc({out_c}, dt::f32, tag::x),
            memory::desc(out_dims, dt::f32, tag::any), strides, dnnl_dilations, Dims{pads[0], pads[1]},
            Dims{pads[2], pads[3]});
        return dnnl::convolution_forward::primitive_desc(desc, pattr, engine());
    };
    dnnl::convolution_forward::primitive_desc pd = make_pd(memory::desc(x.dims, dt::f32, tag::any));
    // A network's first convolution (a few planar channels, as the stages fill them) reads its
    // input as it is when a JIT kernel takes it so: no reorder of the whole image.
    if (x.dims[1] < 8 && pd.src_desc() != x.mem.get_desc()) {
        const dnnl::convolution_forward::primitive_desc as_is = make_pd(x.mem.get_desc());
        if (std::string(as_is.impl_info_str()).find("ref") == std::string::npos) pd = as_is;
    }

    // Weights and bias in the primitive's layout, once.
    const memory weights_mem = constant_in(pd.weights_desc(), memory::desc(weight_dims, dt::f32, weight_tag), weights);
    const memory bias_mem = constant_in(pd.bias_desc(), memory::desc({out_c}, dt::f32, tag::x), bias);

    const memory src = in_layout(x, pd.src_desc());
    memory dst;
    if (!sum_operand.empty()) {
        Value& other = value(sum_operand);
        if (other.mem.get_desc() == pd.dst_desc() && may_overwrite(sum_operand, k, sum_add)) {
            dst = other.mem;  // in place: the operand is read by no later step
        } else {
            dst = memory(pd.dst_desc(), engine());
            add_reorder(other.mem, dst);
        }
    }
    Value& out = runtime_output(out_name, out_dims, pd.dst_desc(), dst);
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights_mem}, {DNNL_ARG_BIAS, bias_mem}, {DNNL_ARG_DST, out.mem}};
    add_primitive(dnnl::convolution_forward(pd), std::move(args), pd.scratchpad_desc());
}

// The other operand of a binary node reading `operand`, if it is a float constant of one value
// or of one value per channel of a [N, channels, H, W] tensor.
const Value* Planner::channel_constant(const onnx::NodeProto& node, const std::string& operand, std::int64_t channels) {
    const std::string& other = node.input(0) == operand ? node.input(1) : node.input(0);
    const auto it = values_.find(other);
    if (it == values_.end() || !it->second.constant || it->second.integer) return nullptr;
    const Value& v = it->second;
    if (v.f.size() == 1 && v.dims.size() <= 4) return &v;
    Dims dims = v.dims;
    if (dims.size() > 4) return nullptr;
    dims.insert(dims.begin(), 4 - dims.size(), 1);
    return dims == Dims{1, channels, 1, 1} ? &v : nullptr;
}

// Whether Conv node k on an input of dims runs on depthwise3x3_nhwc: 3x3, one channel per group,
// a multiple of 16 channels, no dilation.
bool Planner::runs_as_our_depthwise(int k, const Dims& input_dims) {
    const onnx::NodeProto& node = graph_.node(k);
    const Attributes attr(node);
    if (node.input_size() < 2 || input_dims.size() != 4) return false;
    const auto w = values_.find(node.input(1));
    if (w == values_.end() || !w->second.constant || w->second.dims.size() != 4) return false;
    const Dims& wd = w->second.dims;
    const std::int64_t channels = input_dims[1];
    return attr.integer("group", 1) == channels && wd[0] == channels && wd[1] == 1 && wd[2] == 3 && wd[3] == 3 &&
           channels % kDepthwiseLanes == 0 && attr.integers("dilations", {1, 1}) == Dims{1, 1} &&
           attr.text("auto_pad", "NOTSET") == "NOTSET";
}

// A depthwise convolution on NHWC tensors, bias and activation applied in the same pass.
// oneDNN 2.6's depthwise kernels run narrow tensors slowly (16 or 32 channels on 120x160: about
// 10 GMAC/s) and cannot take PReLU as a post-op (its reference convolution then runs instead).
void Planner::plan_depthwise(Value& x, const std::string& out_name, const Dims& out_dims,
                             const std::vector<float>& weights, const std::vector<float>& bias, std::int64_t kh,
                             std::int64_t kw, const Dims& strides, const Dims& pads, Activation activation,
                             const float* slope) {
    DepthwiseShape shape;
    shape.batch = x.dims[0];
    shape.channels = x.dims[1];
    shape.height = x.dims[2];
    shape.width = x.dims[3];
    shape.out_height = out_dims[2];
    shape.out_width = out_dims[3];
    shape.kernel_h = kh;
    shape.kernel_w = kw;
    shape.stride_h = strides[0];
    shape.stride_w = strides[1];
    shape.pad_top = pads[0];
    shape.pad_left = pads[1];
    // Weights tap-major ([kh kw][C]), so each tap is one contiguous run of channels.
    auto taps = std::make_shared<std::vector<float>>(kh * kw * shape.channels);
    for (std::int64_t c = 0; c < shape.channels; ++c)
        for (std::int64_t t = 0; t < kh * kw; ++t) (*taps)[t * shape.channels + c] = weights[c * kh * kw + t];
    auto b = std::make_shared<std::vector<float>>(bias);
    auto a = std::make_shared<std::vector<float>>(slope ? std::vector<float>(slope, slope + shape.channels)
                                                        : std::vector<float>());
    const memory src = in_layout(x, memory::desc(x.dims, dt::f32, tag::acdb));
    const float* input_slope = x.input_prelu;
    Value& out = runtime_output(out_name, out_dims, memory::desc(out_dims, dt::f32, tag::acdb));
    const float* in = static_cast<const float*>(src.get_data_handle());
    float* dst = static_cast<float*>(out.mem.get_data_handle());
    Step step;
    step.plain = [=] {
        depthwise3x3_nhwc(in, dst, shape, taps->data(), b->data(), activation, a->empty() ? nullptr : a->data(),
                          input_slope);
    };
    plan_->steps.push_back(std::move(step));
}

// BatchNormalization bn folded into the weights (per_channel values per output channel) and bias
// of the convolution or inner product it follows.
void Planner::fold_batch_norm(const onnx::NodeProto& bn, std::int64_t channels, std::vector<float>& weights,
                              std::vector<float>& bias, std::int64_t per_channel) {
    const Attributes attr(bn);
    const float eps = attr.real("epsilon", 1e-5f);
    const Value &gamma = value(bn.input(1)), &beta = value(bn.input(2)), &mean = value(bn.input(3)),
                &var = value(bn.input(4));
    for (const Value* v : {&gamma, &beta, &mean, &var})
        if (!v->constant || count(v->dims) != channels) refuse(model_, "BatchNormalization needs constant statistics");
    for (std::int64_t c = 0; c < channels; ++c) {
        const double scale = gamma.f[c] / std::sqrt(static_cast<double>(var.f[c]) + eps);
        for (std::int64_t j = 0; j < per_channel; ++j)
            weights[c * per_channel + j] = static_cast<float>(weights[c * per_channel + j] * scale);
        bias[c] = static_cast<float>((bias[c] - mean.f[c]) * scale + beta.f[c]);
    }
}

}  // namespace faceproof::executor
