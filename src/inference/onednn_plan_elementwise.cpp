// Planning of element-wise operators (see onednn_plan.hpp): Relu, Sigmoid and Exp as oneDNN's
// eltwise, PReLU with one slope per channel as oneDNN's prelu (or applied by the depthwise
// convolution reading it), the residual Add of two same-shape tensors as oneDNN's binary, and the
// rest — broadcasting Add, Sub, Mul, Div, PReLU, a BatchNormalization not folded into a
// convolution, anything on constants — as plain loops.
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "inference/onednn_plan.hpp"

namespace faceproof::executor {

using namespace cpu;  // broadcast, broadcast_strides, binary_kernel

// Relu, Sigmoid, Exp: oneDNN's eltwise on a run-time tensor; folded on a constant.
void Planner::plan_activation(const onnx::NodeProto& node, const std::vector<Value*>& in, bool constant) {
    if (!constant) return plan_eltwise(node, *in[0]);
    const std::string& op = node.op_type();
    const std::string& out = node.output(0);
    const Value& x = *in[0];
    return emit_plain(out, x.dims, true, [&](float* o) {
        for (size_t j = 0; j < x.f.size(); ++j) {
            const float v = x.f[j];
            o[j] = op == "Relu" ? std::max(v, 0.f) : op == "Exp" ? std::exp(v) : 1.f / (1.f + std::exp(-v));
        }
    });
}

void Planner::plan_eltwise(const onnx::NodeProto& node, Value& x) {
    const dnnl::algorithm algorithm = node.op_type() == "Relu"      ? dnnl::algorithm::eltwise_relu
                                      : node.op_type() == "Sigmoid" ? dnnl::algorithm::eltwise_logistic
                                                                    : dnnl::algorithm::eltwise_exp;
    const dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, x.mem.get_desc(), 0.f,
                                           0.f);
    const dnnl::eltwise_forward::primitive_desc pd(desc, user_scratchpad(), engine());
    Value& out = runtime_output(node.output(0), x.dims, pd.dst_desc());
    add_primitive(dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, x.mem}, {DNNL_ARG_DST, out.mem}},
                  pd.scratchpad_desc());
}

void Planner::plan_prelu(const onnx::NodeProto& node, const std::vector<Value*>& in, bool constant) {
    if (!in[0]->constant && in[1]->constant && in[0]->dims.size() == 4 && count(in[1]->dims) == in[0]->dims[1]) {
        const int reader = sole_consumer(node.output(0), "Conv");
        if (reader >= 0 && in[0]->input_prelu == nullptr && runs_as_our_depthwise(reader, in[0]->dims)) {
            // Applied by the depthwise kernel as it reads its input: no pass of its own.
            in[0]->viewed = true;
            Value alias = *in[0];
            alias.owns_buffer = false;
            alias.input_prelu = in[1]->f.data();
            values_[node.output(0)] = std::move(alias);
            return;
        }
        return plan_prelu_primitive(node, *in[0], *in[1]);
    }
    plan_broadcast_binary(node, in, constant);
}

// PReLU with one slope per channel (oneDNN 2.6 runs it as a post-op of a convolution only in
// its reference convolution, so it stays a primitive of its own).
void Planner::plan_prelu_primitive(const onnx::NodeProto& node, Value& x, Value& slope) {
    const Dims slope_dims = {1, x.dims[1], 1, 1};
    const dnnl::prelu_forward::desc desc(dnnl::prop_kind::forward_inference, x.mem.get_desc(),
                                         memory::desc(slope_dims, dt::f32, tag::any));
    const dnnl::prelu_forward::primitive_desc pd(desc, user_scratchpad(), engine());
    const memory weights = constant_in(pd.weights_desc(), plain_desc(slope_dims), slope.f);
    Value& out = runtime_output(node.output(0), x.dims, pd.dst_desc());
    add_primitive(dnnl::prelu_forward(pd), {{DNNL_ARG_SRC, x.mem}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, out.mem}},
                  pd.scratchpad_desc());
}

// Add, Sub, Mul, Div: the Add of two run-time tensors of one shape (a residual Add not fused into
// a convolution) as oneDNN's binary, everything else broadcasting in a plain loop.
void Planner::plan_binary(const onnx::NodeProto& node, const std::vector<Value*>& in, bool constant) {
    if (node.op_type() == "Add" && !in[0]->constant && !in[1]->constant && in[0]->dims == in[1]->dims)
        return plan_add(node, *in[0], *in[1]);
    plan_broadcast_binary(node, in, constant);
}

void Planner::plan_add(const onnx::NodeProto& node, Value& a, Value& b) {
    const memory b_mem = in_layout(b, a.mem.get_desc());
    const dnnl::binary::desc desc(dnnl::algorithm::binary_add, a.mem.get_desc(), b_mem.get_desc(),
                                  a.mem.get_desc());
    const dnnl::binary::primitive_desc pd(desc, user_scratchpad(), engine());
    Value& out = runtime_output(node.output(0), a.dims, pd.dst_desc());
    add_primitive(dnnl::binary(pd), {{DNNL_ARG_SRC_0, a.mem}, {DNNL_ARG_SRC_1, b_mem}, {DNNL_ARG_DST, out.mem}},
                  pd.scratchpad_desc());
}

// Add, Sub, Mul, Div (numpy broadcasting) and PReLU as one plain loop over the output.
void Planner::plan_broadcast_binary(const onnx::NodeProto& node, const std::vector<Value*>& in, bool constant) {
    const std::string& op = node.op_type();
    const std::string& out = node.output(0);
    Value &a = *in[0], &b = *in[1];
    if (a.integer || b.integer) refuse(model_, op + " on integer tensors is not supported");
    const Dims dims = op == "PRelu" ? a.dims : broadcast(a.dims, b.dims);
    const Dims as = broadcast_strides(a.dims, dims), bs = broadcast_strides(b.dims, dims);
    const float* pa = plain_data(a);
    const float* pb = plain_data(b);
    std::function<void(float*)> compute;
    if (op == "Add")
        compute = [=](float* o) { binary_kernel(pa, as, pb, bs, o, dims, std::plus<float>()); };
    else if (op == "Sub")
        compute = [=](float* o) { binary_kernel(pa, as, pb, bs, o, dims, std::minus<float>()); };
    else if (op == "Mul")
        compute = [=](float* o) { binary_kernel(pa, as, pb, bs, o, dims, std::multiplies<float>()); };
    else if (op == "Div")
        compute = [=](float* o) { binary_kernel(pa, as, pb, bs, o, dims, std::divides<float>()); };
    else
        compute = [=](float* o) {
            binary_kernel(pa, as, pb, bs, o, dims, [](float x, float s) { return x >= 0.f ? x : x * s; });
        };
    return emit_plain(out, dims, constant, compute);
}

// A BatchNormalization no convolution or inner product took in (fold_batch_norm): a plain loop.
void Planner::plan_batch_norm(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                              bool constant) {
    const std::string& out = node.output(0);
    Value& x = *in[0];
    const std::int64_t channels = x.dims.at(1);
    std::vector<float> scale(channels), shift(channels);
    const float eps = attr.real("epsilon", 1e-5f);
    for (int j = 1; j <= 4; ++j)
        if (!in[j]->constant || count(in[j]->dims) != channels) refuse(model_, "BatchNormalization needs constant statistics");
    for (std::int64_t c = 0; c < channels; ++c) {
        const double s = in[1]->f[c] / std::sqrt(static_cast<double>(in[4]->f[c]) + eps);
        scale[c] = static_cast<float>(s);
        shift[c] = static_cast<float>(in[2]->f[c] - in[3]->f[c] * s);
    }
    const std::int64_t inner = count(x.dims) / (x.dims[0] * channels), batch = x.dims[0];
    const float* src = plain_data(x);
    return emit_plain(out, x.dims, constant, [=](float* o) {
        for (std::int64_t b = 0; b < batch; ++b)
            for (std::int64_t c = 0; c < channels; ++c)
                for (std::int64_t j = 0; j < inner; ++j) {
                    const std::int64_t at = (b * channels + c) * inner + j;
                    o[at] = src[at] * scale[c] + shift[c];
                }
    });
}

}  // namespace faceproof::executor
