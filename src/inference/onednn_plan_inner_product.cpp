// Planning of Gemm and MatMul with constant 2-D weights (see onednn_plan.hpp): oneDNN's inner
// product on a run-time input, a plain loop when every input is constant.
#include <memory>
#include <string>

#include "inference/onednn_plan.hpp"

namespace faceproof::executor {

void Planner::plan_gemm(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                        bool constant) {
    const std::string& op = node.op_type();
    const std::string& out = node.output(0);
    Value &a = *in[0], &b = *in[1];
    if (!b.constant || b.dims.size() != 2 || a.dims.size() != 2) refuse(model_, op + " needs a 2-D input and constant 2-D weights");
    const bool trans_b = op == "Gemm" && attr.integer("transB", 0) != 0;
    if (op == "Gemm" && (attr.integer("transA", 0) != 0 || attr.real("alpha", 1.f) != 1.f ||
                         attr.real("beta", 1.f) != 1.f))
        refuse(model_, "Gemm with transA, alpha or beta is not supported");
    const std::int64_t m = a.dims[0], kdim = a.dims[1], n = trans_b ? b.dims[0] : b.dims[1];
    if ((trans_b ? b.dims[1] : b.dims[0]) != kdim) refuse(model_, op + " shapes do not agree");
    // Weights as n x k rows (dot products over contiguous memory).
    std::vector<float> wt(n * kdim);
    for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t c = 0; c < kdim; ++c) wt[r * kdim + c] = trans_b ? b.f[r * kdim + c] : b.f[c * n + r];
    std::vector<float> c_term(n, 0.f);
    if (in.size() > 2 && in[2]) {
        if (!in[2]->constant || count(in[2]->dims) != n) refuse(model_, "Gemm bias must be a constant of N values");
        c_term = in[2]->f;
    }
    if (!constant) return plan_inner_product(node, a, std::move(wt), std::move(c_term), n);
    const float* src = plain_data(a);
    auto weights = std::make_shared<std::vector<float>>(std::move(wt));
    return emit_plain(out, {m, n}, constant, [=](float* o) {
        for (std::int64_t r = 0; r < m; ++r)
            for (std::int64_t j = 0; j < n; ++j) {
                const float* w = weights->data() + j * kdim;
                const float* x = src + r * kdim;
                float sum = 0.f;
                for (std::int64_t c = 0; c < kdim; ++c) sum += x[c] * w[c];
                o[r * n + j] = sum + c_term[j];
            }
    });
}

// Gemm / MatMul with constant weights (n x k rows) as oneDNN's inner product, with a following
// BatchNormalization folded into its weights and bias (fr_landmark's and fr_liveness's heads).
void Planner::plan_inner_product(const onnx::NodeProto& node, Value& a, std::vector<float> weights,
                                 std::vector<float> bias, std::int64_t n) {
    const std::int64_t m = a.dims[0], kdim = a.dims[1];
    std::string out_name = node.output(0);
    const int bn = sole_consumer(out_name, "BatchNormalization");
    if (bn >= 0) {
        fold_batch_norm(graph_.node(bn), n, weights, bias, kdim);
        fused_[bn] = true;
        out_name = graph_.node(bn).output(0);
    }
    const memory::desc src_desc = plain_desc(a.dims);
    const dnnl::inner_product_forward::desc desc(dnnl::prop_kind::forward_inference, src_desc,
                                                 memory::desc({n, kdim}, dt::f32, tag::any),
                                                 memory::desc({n}, dt::f32, tag::x), plain_desc({m, n}));
    const dnnl::inner_product_forward::primitive_desc pd(desc, user_scratchpad(), engine());
    const memory weights_mem = constant_in(pd.weights_desc(), plain_desc({n, kdim}), weights);
    const memory bias_mem = constant_in(pd.bias_desc(), memory::desc({n}, dt::f32, tag::x), bias);
    const memory src = in_layout(a, pd.src_desc());
    Value& out = runtime_output(out_name, {m, n}, pd.dst_desc());
    add_primitive(dnnl::inner_product_forward(pd),
                  {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights_mem}, {DNNL_ARG_BIAS, bias_mem}, {DNNL_ARG_DST, out.mem}},
                  pd.scratchpad_desc());
}

}  // namespace faceproof::executor
