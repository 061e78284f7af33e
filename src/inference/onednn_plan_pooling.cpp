// Planning of pooling (see onednn_plan.hpp): MaxPool and GlobalAveragePool as oneDNN primitives,
// ReduceMean over trailing axes (the same average, on a plain tensor) as a plain loop.
#include <algorithm>
#include <string>

#include "inference/onednn_plan.hpp"

namespace faceproof::executor {

void Planner::plan_pool(const onnx::NodeProto& node, const Attributes& attr, Value& x) {
    if (x.dims.size() != 4 || x.constant) refuse(model_, node.op_type() + " needs a 4-D run-time input");
    const bool global = node.op_type() == "GlobalAveragePool";
    if (!global && (attr.text("auto_pad", "NOTSET") != "NOTSET" || attr.integer("ceil_mode", 0) != 0 ||
                    attr.integer("storage_order", 0) != 0 || node.output_size() != 1))
        refuse(model_, "MaxPool attributes outside what is supported");
    const Dims kernel = global ? Dims{x.dims[2], x.dims[3]} : attr.integers("kernel_shape");
    const Dims strides = global ? Dims{1, 1} : attr.integers("strides", {1, 1});
    const Dims pads = global ? Dims{0, 0, 0, 0} : attr.integers("pads", {0, 0, 0, 0});
    if (kernel.size() != 2) refuse(model_, "only 2-D pooling is supported");
    const Dims out_dims = {x.dims[0], x.dims[1], (x.dims[2] + pads[0] + pads[2] - kernel[0]) / strides[0] + 1,
                           (x.dims[3] + pads[1] + pads[3] - kernel[1]) / strides[1] + 1};
    const dnnl::pooling_forward::desc desc(
        dnnl::prop_kind::forward_inference,
        global ? dnnl::algorithm::pooling_avg_exclude_padding : dnnl::algorithm::pooling_max, x.mem.get_desc(),
        memory::desc(out_dims, dt::f32, tag::any), strides, kernel, Dims{pads[0], pads[1]}, Dims{pads[2], pads[3]});
    const dnnl::pooling_forward::primitive_desc pd(desc, user_scratchpad(), engine());
    Value& out = runtime_output(node.output(0), out_dims, pd.dst_desc());
    add_primitive(dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, x.mem}, {DNNL_ARG_DST, out.mem}},
                  pd.scratchpad_desc());
}

// ReduceMean over trailing axes, summed in double.
void Planner::plan_reduce_mean(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                               bool constant) {
    const std::string& out = node.output(0);
    Value& x = *in[0];
    Dims axes = attr.integers("axes");
    for (auto& a : axes) a = axis_of(a, x.dims.size());
    std::sort(axes.begin(), axes.end());
    // Only trailing axes (as in fr_pose: mean over H, W).
    const size_t first = x.dims.size() - axes.size();
    for (size_t j = 0; j < axes.size(); ++j)
        if (axes[j] != static_cast<std::int64_t>(first + j)) refuse(model_, "ReduceMean over leading axes");
    std::int64_t inner = 1;
    for (size_t j = first; j < x.dims.size(); ++j) inner *= x.dims[j];
    Dims dims(x.dims.begin(), x.dims.begin() + first);
    if (attr.integer("keepdims", 1) != 0) dims.insert(dims.end(), axes.size(), 1);
    const std::int64_t outer = count(x.dims) / std::max<std::int64_t>(inner, 1);
    const float* src = plain_data(x);
    return emit_plain(out, dims, constant, [=](float* o) {
        for (std::int64_t r = 0; r < outer; ++r) {
            double sum = 0;
            for (std::int64_t c = 0; c < inner; ++c) sum += src[r * inner + c];
            o[r] = static_cast<float>(sum / inner);
        }
    });
}

}  // namespace faceproof::executor
