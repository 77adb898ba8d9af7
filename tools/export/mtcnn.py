"""MTCNN's P/R/O-Net, rebuilt in plain torch around facenet-pytorch's weights, exported to ONNX one net at a time.

The weights come out of the facenet-pytorch wheel (never installed: it pins torch < 2.3 and numpy < 2). Layer names
match its state dicts, so they load strictly. R-Net and O-Net were converted from Caffe and flatten in (N, C, W, H)
order; their pooling rounds up (`ceil_mode=True`). Each ONNX net is checked against its torch module.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tools.export.base import ExportError, ExportRequest, ExportResult, log
from tools.export.wheels import packaged_files

TOLERANCE = 1e-4


class PNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1, self.softmax4_1 = nn.Conv2d(32, 2, 1), nn.Softmax(dim=1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), self.softmax4_1(self.conv4_1(x))


class RNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1, self.softmax5_1 = nn.Linear(128, 2), nn.Softmax(dim=1)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x)).permute(0, 3, 2, 1).flatten(1)
        x = self.prelu4(self.dense4(x))
        return self.dense5_2(x), self.softmax5_1(self.dense5_1(x))


class ONet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.softmax6_1 = nn.Linear(256, 2), nn.Softmax(dim=1)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x)).permute(0, 3, 2, 1).flatten(1)
        x = self.prelu5(self.dense5(x))
        return self.dense6_2(x), self.dense6_3(x), self.softmax6_1(self.dense6_1(x))


# net file -> (module, outputs, a check input's (H, W), dynamic axes beyond the batch)
NETS: dict[str, tuple[type[nn.Module], list[str], tuple[int, int], dict[int, str]]] = {
    "pnet": (PNet, ["reg", "prob"], (97, 131), {2: "height", 3: "width"}),
    "rnet": (RNet, ["reg", "prob"], (24, 24), {}),
    "onet": (ONet, ["reg", "landmarks", "prob"], (48, 48), {}),
}


def export_net(net: nn.Module, outputs: list[str], hw: tuple[int, int], dynamic: dict[int, str], path: Path) -> float:
    """Exports one net and returns the largest difference from torch on a batch of random images."""
    import onnxruntime as ort

    net.eval()
    x = torch.rand(3, 3, *hw) * 2 - 1
    axes = {"image": {0: "batch", **dynamic}, **{o: {0: "batch"} for o in outputs}}
    torch.onnx.export(net, (x,), str(path), input_names=["image"], output_names=outputs, dynamic_axes=axes,
                      opset_version=17, dynamo=False)
    with torch.no_grad():
        want = [t.numpy() for t in net(x)]
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x.numpy()})
    return max(float(np.abs(w - g).max()) for w, g in zip(want, got))


def export(req: ExportRequest) -> ExportResult:
    blobs, source = packaged_files(req)
    checks = {}
    for member, blob in blobs.items():
        key = Path(member).stem
        cls, outputs, hw, dynamic = NETS[key]
        net = cls()
        try:
            net.load_state_dict(torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True), strict=True)
        except (RuntimeError, ValueError, EOFError) as exc:
            why = " ".join(str(exc).split())[:300]
            raise ExportError(f"{source}: {member} does not load into {cls.__name__}: {why}") from exc
        diff = export_net(net, outputs, hw, dynamic, req.out / f"{key}.onnx")
        if not diff <= TOLERANCE:
            raise ExportError(f"{key}.onnx differs from torch by {diff:.3g} (tolerance {TOLERANCE:g})")
        log.info("%s.onnx: max |diff| vs torch %.2g (tolerance %g)", key, diff, TOLERANCE)
        checks[f"{key}.onnx"] = {"max_abs_diff": diff, "tolerance": TOLERANCE}
    return ExportResult(source=source, config={"normalise": "(rgb - 127.5) / 128"}, checks=checks)
