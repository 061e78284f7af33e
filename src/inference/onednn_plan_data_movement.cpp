// Planning of data movement (see onednn_plan.hpp): Reshape, Flatten, Unsqueeze, Squeeze and
// Identity as views of their input; ShuffleNet's channel shuffle as one gather on NHWC tensors;
// Transpose, Slice, Split, Gather and Concat as plain copies (or, on constants such as shapes,
// folded); the channel Concat of 4-D tensors as oneDNN's concat.
#include <algorithm>
#include <string>
#include <utility>

#include "inference/onednn_plan.hpp"

namespace faceproof::executor {

using namespace cpu;  // slice_kernel, concat_kernel, transpose_kernel

namespace {

// ONNX Reshape's target shape: 0 copies the input's dimension, one -1 takes the rest.
Dims reshaped(const Dims& from, Dims to) {
    std::int64_t known = 1;
    int infer = -1;
    for (size_t j = 0; j < to.size(); ++j) {
        if (to[j] == 0 && j < from.size()) to[j] = from[j];
        if (to[j] == -1)
            infer = static_cast<int>(j);
        else
            known *= to[j];
    }
    if (infer >= 0) to[infer] = count(from) / std::max<std::int64_t>(known, 1);
    return to;
}

}  // namespace

void Planner::plan_reshape(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                           bool constant) {
    const std::string& op = node.op_type();
    const std::string& out = node.output(0);
    if (op == "Reshape" && !constant && plan_channel_shuffle(node, *in[0])) return;
    Value& x = *in[0];
    Dims dims;
    if (op == "Reshape") {
        const Value& shape = *in[1];
        if (!shape.constant || !shape.integer) refuse(model_, "Reshape needs a constant shape");
        dims = reshaped(x.dims, shape.i);
    } else if (op == "Flatten") {
        const std::int64_t axis = axis_of(attr.integer("axis", 1), x.dims.size());
        std::int64_t head = 1;
        for (std::int64_t j = 0; j < axis; ++j) head *= x.dims[j];
        dims = {head, count(x.dims) / std::max<std::int64_t>(head, 1)};
    } else if (op == "Unsqueeze") {
        dims = x.dims;
        Dims axes = attr.integers("axes");
        const size_t rank = dims.size() + axes.size();
        for (auto& a : axes) a = axis_of(a, rank);
        std::sort(axes.begin(), axes.end());
        for (const auto a : axes) dims.insert(dims.begin() + a, 1);
    } else {
        Dims axes = attr.integers("axes");
        for (auto& a : axes) a = axis_of(a, x.dims.size());
        for (size_t j = 0; j < x.dims.size(); ++j)
            if (axes.empty() ? x.dims[j] != 1 : std::find(axes.begin(), axes.end(), j) == axes.end())
                dims.push_back(x.dims[j]);
    }
    return emit_view(out, x, dims);
}

// A value viewed with other dims (Reshape, Flatten, Unsqueeze, Squeeze): shares the data.
void Planner::emit_view(const std::string& name, Value& x, const Dims& dims) {
    if (count(dims) != count(x.dims)) refuse(model_, "reshape of " + name + " changes the element count");
    Value v;
    v.dims = dims;
    if (x.constant) {
        v = x;
        v.dims = dims;
    } else {
        v.mem = memory(plain_desc(dims), engine(), plain(x).get_data_handle());
        v.plain = v.mem;
        x.viewed = true;
    }
    values_[name] = std::move(v);
}

// ShuffleNet's channel shuffle: Reshape [N,C,H,W] -> [N,g,C/g,H,W], Transpose [0,2,1,3,4],
// Reshape -> [N,C,H,W], optionally Split on channels. Planned as one channel gather per result
// over the NHWC layout the convolutions use (one pass, instead of reorders to plain, a 5-D
// transpose and reorders back). Returns false (nothing planned) for any other pattern.
bool Planner::plan_channel_shuffle(const onnx::NodeProto& reshape, Value& x) {
    const Value& shape = value(reshape.input(1));
    if (x.dims.size() != 4 || !shape.constant || !shape.integer || shape.i.size() != 5) return false;
    const std::int64_t n = x.dims[0], c = x.dims[1], h = x.dims[2], w = x.dims[3], groups = shape.i[1];
    if (groups <= 0 || c % groups != 0 || shape.i[0] != n || shape.i[2] != c / groups || shape.i[3] != h ||
        shape.i[4] != w)
        return false;
    const int transpose = sole_consumer(reshape.output(0), "Transpose");
    if (transpose < 0 || Attributes(graph_.node(transpose)).integers("perm") != Dims{0, 2, 1, 3, 4})
        return false;
    const int back = sole_consumer(graph_.node(transpose).output(0), "Reshape");
    if (back < 0) return false;
    const Value& back_shape = value(graph_.node(back).input(1));
    if (!back_shape.constant || !back_shape.integer ||
        reshaped(Dims{n, c / groups, groups, h, w}, back_shape.i) != Dims{n, c, h, w})
        return false;
    // Shuffled channel j * groups + i is input channel i * (c / groups) + j.
    std::vector<std::int64_t> source(c);
    for (std::int64_t to = 0; to < c; ++to) source[to] = (to % groups) * (c / groups) + to / groups;
    std::vector<std::pair<std::string, std::pair<std::int64_t, std::int64_t>>> results;  // name, [from, from+len)
    const std::string& shuffled = graph_.node(back).output(0);
    const int split = sole_consumer(shuffled, "Split");
    Dims sizes;
    if (split >= 0) {
        const onnx::NodeProto& node = graph_.node(split);
        const Attributes attr(node);
        sizes = attr.integers("split");
        if (sizes.empty()) sizes.assign(node.output_size(), c / node.output_size());
        if (axis_of(attr.integer("axis", 0), 4) != 1 || static_cast<int>(sizes.size()) != node.output_size())
            return false;
        std::int64_t from = 0;
        for (int j = 0; j < node.output_size(); ++j) {
            results.push_back({node.output(j), {from, sizes[j]}});
            from += sizes[j];
        }
        if (from != c) return false;
        fused_[split] = true;
    } else {
        results.push_back({shuffled, {0, c}});
    }
    fused_[transpose] = fused_[back] = true;
    const memory src = in_layout(x, memory::desc(x.dims, dt::f32, tag::acdb));
    const float* in = static_cast<const float*>(src.get_data_handle());
    const std::int64_t pixels = n * h * w;
    for (const auto& [name, range] : results) {
        // Plain variables, not a structured binding: the lambdas below capture length, which
        // clang before 16 (the sanitizer build's clang 14) cannot do for a binding.
        const std::int64_t from = range.first, length = range.second;
        const Dims dims = {n, length, h, w};
        Value& out = runtime_output(name, dims, memory::desc(dims, dt::f32, tag::acdb));
        float* dst = static_cast<float*>(out.mem.get_data_handle());
        const std::vector<std::int64_t> channels(source.begin() + from, source.begin() + from + length);
        Step step;
        if (groups == 2 && from % 2 == 0 && length % 2 == 0) {
            // Two groups: the result interleaves two contiguous runs of each pixel's channels.
            const std::int64_t first = from / 2, second = c / 2 + from / 2, pairs = length / 2;
            step.plain = [=] {
                for (std::int64_t p = 0; p < pixels; ++p) {
                    const float* __restrict a = in + p * c + first;
                    const float* __restrict b = in + p * c + second;
                    float* __restrict o = dst + p * length;
                    for (std::int64_t m = 0; m < pairs; ++m) {
                        o[2 * m] = a[m];
                        o[2 * m + 1] = b[m];
                    }
                }
            };
            plan_->steps.push_back(std::move(step));
            continue;
        }
        step.plain = [=] {
            for (std::int64_t p = 0; p < pixels; ++p) {
                const float* pixel = in + p * c;
                float* o = dst + p * length;
                for (std::int64_t k = 0; k < length; ++k) o[k] = pixel[channels[k]];
            }
        };
        plan_->steps.push_back(std::move(step));
    }
    return true;
}

void Planner::plan_transpose(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                             bool constant) {
    const std::string& out = node.output(0);
    Value& x = *in[0];
    Dims perm = attr.integers("perm");
    if (perm.empty())
        for (size_t j = x.dims.size(); j-- > 0;) perm.push_back(static_cast<std::int64_t>(j));
    if (perm.size() != x.dims.size() || perm.size() > 6) refuse(model_, "Transpose of rank above 6 or a bad perm");
    Dims dims(perm.size());
    for (size_t j = 0; j < perm.size(); ++j) dims[j] = x.dims.at(perm[j]);
    if (!constant && x.dims.size() == 4 && perm == Dims{0, 2, 3, 1} &&
        x.mem.get_desc() == memory::desc(x.dims, dt::f32, tag::acdb)) {
        // NCHW -> NHWC of a tensor already laid out NHWC: the same bytes, read as plain.
        Value v;
        v.dims = dims;
        v.mem = v.plain = memory(plain_desc(dims), engine(), x.mem.get_data_handle());
        x.viewed = true;
        values_[out] = std::move(v);
        return;
    }
    const float* src = plain_data(x);
    const Dims xdims = x.dims;
    return emit_plain(out, dims, constant, [=](float* o) { transpose_kernel(src, xdims, perm, o); });
}

void Planner::plan_slice(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                         bool constant) {
    const std::string& op = node.op_type();
    const std::string& out = node.output(0);
    Value& x = *in[0];
    const float* src = plain_data(x);
    const Dims xdims = x.dims;
    if (op == "Split") {
        const std::int64_t axis = axis_of(attr.integer("axis", 0), x.dims.size());
        Dims split = attr.integers("split");
        if (split.empty()) split.assign(node.output_size(), x.dims[axis] / node.output_size());
        if (static_cast<int>(split.size()) != node.output_size()) refuse(model_, "Split sizes do not match");
        std::int64_t start = 0;
        for (int j = 0; j < node.output_size(); ++j) {
            Dims dims = x.dims;
            dims[axis] = split[j];
            const std::int64_t from = start, length = split[j];
            emit_plain(node.output(j), dims, constant,
                       [=](float* o) { slice_kernel(src, xdims, static_cast<int>(axis), from, length, 1, o); });
            start += split[j];
        }
        return;
    }
    const Dims starts = attr.integers("starts"), ends = attr.integers("ends");
    Dims axes = attr.integers("axes");
    if (in.size() > 1) refuse(model_, "Slice with inputs (opset 10+) is not supported");
    if (axes.empty())
        for (size_t j = 0; j < starts.size(); ++j) axes.push_back(static_cast<std::int64_t>(j));
    if (axes.size() != 1) refuse(model_, "Slice over more than one axis is not supported");
    const std::int64_t axis = axis_of(axes[0], x.dims.size()), extent = x.dims[axis];
    const auto clamp = [extent](std::int64_t v) {
        if (v < 0) v += extent;
        return std::clamp<std::int64_t>(v, 0, extent);
    };
    const std::int64_t from = clamp(starts[0]), to = clamp(ends[0]), length = std::max<std::int64_t>(0, to - from);
    Dims dims = x.dims;
    dims[axis] = length;
    return emit_plain(out, dims, constant,
                      [=](float* o) { slice_kernel(src, xdims, static_cast<int>(axis), from, length, 1, o); });
}

// Along channels of 4-D run-time tensors, oneDNN's concat (plan_concat_channels); otherwise, and
// for integer constants (shapes), plain copies.
void Planner::plan_concat(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                          bool constant) {
    if (!constant && attr.integer("axis", 0) == 1 && in[0]->dims.size() == 4) return plan_concat_channels(node, in);
    const std::string& out = node.output(0);
    const std::int64_t axis = axis_of(attr.integer("axis", 0), in[0]->dims.size());
    Dims dims = in[0]->dims;
    dims[axis] = 0;
    for (const Value* v : in) dims[axis] += v->dims[axis];
    if (constant && in[0]->integer) {
        std::vector<std::pair<const std::int64_t*, std::int64_t>> parts;
        for (const Value* v : in) {
            if (!v->integer) refuse(model_, "Concat of integer and float constants");
            parts.emplace_back(v->i.data(), v->dims[axis]);
        }
        Value v;
        v.constant = v.integer = true;
        v.dims = dims;
        v.i.resize(count(dims));
        concat_kernel(parts, dims, static_cast<int>(axis), v.i.data());
        values_[out] = std::move(v);
        return;
    }
    std::vector<std::pair<const float*, std::int64_t>> parts;
    for (Value* v : in) parts.emplace_back(plain_data(*v), v->dims[axis]);
    return emit_plain(out, dims, constant,
                      [=](float* o) { concat_kernel(parts, dims, static_cast<int>(axis), o); });
}

void Planner::plan_concat_channels(const onnx::NodeProto& node, const std::vector<Value*>& in) {
    std::vector<memory::desc> descs;
    std::unordered_map<int, memory> args;
    Dims out_dims = in[0]->dims;
    out_dims[1] = 0;
    for (size_t k = 0; k < in.size(); ++k) {
        Value& v = *in[k];
        if (v.constant || v.dims.size() != 4) refuse(model_, "Concat of constants and tensors is not supported");
        descs.push_back(v.mem.get_desc());
        args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k)] = v.mem;
        out_dims[1] += v.dims[1];
    }
    const dnnl::concat::primitive_desc pd(memory::desc(out_dims, dt::f32, tag::any), 1, descs, engine(),
                                          user_scratchpad());
    Value& out = runtime_output(node.output(0), out_dims, pd.dst_desc());
    args[DNNL_ARG_DST] = out.mem;
    add_primitive(dnnl::concat(pd), std::move(args), pd.scratchpad_desc());
}

// Gather of one constant index.
void Planner::plan_gather(const onnx::NodeProto& node, const Attributes& attr, const std::vector<Value*>& in,
                          bool constant) {
    const std::string& out = node.output(0);
    Value &data = *in[0], &indices = *in[1];
    if (!indices.constant || !indices.integer) refuse(model_, "Gather needs constant indices");
    const std::int64_t axis = axis_of(attr.integer("axis", 0), data.dims.size());
    if (indices.i.size() != 1) refuse(model_, "Gather of more than one index is not supported");
    const std::int64_t index = indices.i[0] < 0 ? indices.i[0] + data.dims[axis] : indices.i[0];
    Dims dims = data.dims;
    if (indices.dims.empty())
        dims.erase(dims.begin() + axis);
    else
        dims[axis] = 1;
    if (data.constant && data.integer) {
        Value v;
        v.constant = v.integer = true;
        v.dims = dims;
        v.i.resize(count(dims));
        slice_kernel(data.i.data(), data.dims, static_cast<int>(axis), index, 1, 1, v.i.data());
        values_[out] = std::move(v);
        return;
    }
    const float* src = plain_data(data);
    const Dims ddims = data.dims;
    return emit_plain(out, dims, constant,
                      [=](float* o) { slice_kernel(src, ddims, static_cast<int>(axis), index, 1, 1, o); });
}

// Identity, Dropout (inference): the input itself.
void Planner::plan_identity(const onnx::NodeProto& node, Value& x) {
    x.viewed = true;
    Value alias = x;
    alias.owns_buffer = false;
    values_[node.output(0)] = std::move(alias);
}

}  // namespace faceproof::executor
