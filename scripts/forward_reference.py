#!/usr/bin/env python3
"""The reference logits of tests/test_model.cpp's independent forward check, computed in float64 by a
separate statement of the network in PyTorch's functional API (not s2cbam's code).

The network: s2cbam's CbamCropNet with stem 2, stages {2, 4}, CBAM ratio 2, a 3x3 spatial kernel, 5
dates x 3 bands, 3 classes; batch norm in training mode (batch statistics, biased variance, eps 1e-3).
Parameter p (in s2cbam's named order) element j is ((7 j + 13 p) mod 17 - 8) / 16 and input element k of
sample n is ((31 n + 11 k) mod 23 - 11) / 8: values exact in float32 on both sides. Usage:
python3 scripts/forward_reference.py   (needs torch)
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
T, B, CLASSES, STEM, STAGES, RATIO, K = 5, 3, 3, 2, [2, 4], 2, 3

shapes = [("stem_conv.weight", (STEM, 1, 3, 3)), ("stem_conv.bias", (STEM,)), ("stem_bn.gamma", (STEM,)),
          ("stem_bn.beta", (STEM,))]
cin = STEM
for s, c in enumerate(STAGES, 1):
    u = f"stage{s}.unit1"
    shapes += [(f"{u}.conv1.weight", (c, cin, 3, 3)), (f"{u}.bn1.gamma", (c,)), (f"{u}.bn1.beta", (c,)),
               (f"{u}.conv2.weight", (c, c, 3, 3)), (f"{u}.bn2.gamma", (c,)), (f"{u}.bn2.beta", (c,)),
               (f"{u}.skip.weight", (c, cin, 1, 1))]
    a = f"stage{s}.cbam"
    shapes += [(f"{a}.channel.fc1.weight", (c // RATIO, c)), (f"{a}.channel.fc1.bias", (c // RATIO,)),
               (f"{a}.channel.fc2.weight", (c, c // RATIO)), (f"{a}.channel.fc2.bias", (c,)),
               (f"{a}.spatial.conv.weight", (1, 2, K, K))]
    cin = c
shapes += [("head.weight", (CLASSES, cin)), ("head.bias", (CLASSES,))]

P = {}
for p, (name, shape) in enumerate(shapes):
    n = 1
    for d in shape:
        n *= d
    P[name] = torch.tensor([((7 * j + 13 * p) % 17 - 8) / 16 for j in range(n)]).reshape(shape)
x = torch.tensor([[((31 * n + 11 * k) % 23 - 11) / 8 for k in range(T * B)] for n in range(2)]).reshape(2, 1, T, B)


def bn(h, name):
    mean = h.mean(dim=(0, 2, 3), keepdim=True)
    var = h.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    return (h - mean) / torch.sqrt(var + 1e-3) * P[name + ".gamma"].view(1, -1, 1, 1) + P[name + ".beta"].view(1, -1, 1, 1)


h = F.relu(bn(F.conv2d(x, P["stem_conv.weight"], P["stem_conv.bias"], padding=1), "stem_bn"))
for s in range(1, len(STAGES) + 1):
    u, a = f"stage{s}.unit1", f"stage{s}.cbam"
    z = F.relu(bn(F.conv2d(h, P[u + ".conv1.weight"], padding=1), u + ".bn1"))
    z = bn(F.conv2d(z, P[u + ".conv2.weight"], padding=1), u + ".bn2")
    h = F.relu(z + F.conv2d(h, P[u + ".skip.weight"]))
    mlp = lambda v: F.linear(F.relu(F.linear(v, P[a + ".channel.fc1.weight"], P[a + ".channel.fc1.bias"])),
                             P[a + ".channel.fc2.weight"], P[a + ".channel.fc2.bias"])
    att = torch.sigmoid(mlp(h.mean(dim=(2, 3))) + mlp(h.amax(dim=(2, 3))))
    h = h * att[:, :, None, None]
    m = torch.cat([h.mean(dim=1, keepdim=True), h.amax(dim=1, keepdim=True)], dim=1)
    h = h * torch.sigmoid(F.conv2d(m, P[a + ".spatial.conv.weight"], padding=K // 2))
logits = F.linear(h.mean(dim=(2, 3)), P["head.weight"], P["head.bias"])
print(f"// torch {torch.__version__}, float64")
print(", ".join(f"{v:.12g}" for v in logits.flatten().tolist()))
