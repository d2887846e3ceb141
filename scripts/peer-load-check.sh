#!/usr/bin/env bash
# peer-load-check.sh WEIGHTS PHOTO : shows that a seqnet weights file loads in the PyTorch peer
# (../shared/peer/seqnet_ref.py) and predicts what seqnet predicts.
#
# Loads WEIGHTS with the peer's safetensors reader into SeqNet(**config from the file) with
# load_state_dict (strict: only num_batches_tracked may be missing), runs both programs on PHOTO
# resized to 576x576, and compares the vessel, artery and vein maps as seqnet writes them (8-bit
# PNGs): the largest difference in grey levels. Needs Debian's python3-torch and python3-pil.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
weights="${1:?usage: peer-load-check.sh WEIGHTS PHOTO}" photo="${2:?usage: peer-load-check.sh WEIGHTS PHOTO}"
seqnet="${SEQNET:-$root/build/seqnet}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$photo" "$work/photo.png" <<'PY'
import sys
from PIL import Image
Image.open(sys.argv[1]).convert("RGB").resize((576, 576), Image.BILINEAR).save(sys.argv[2])
PY
"$seqnet" predict -i "$work/photo.png" -o "$work/pred" --weights "$weights" --no-postprocess --device cpu >/dev/null 2>&1
PYTHONPATH="$root/../shared/peer" /usr/bin/python3 - "$weights" "$work" <<'PY'
import json, sys
import numpy as np, torch
from PIL import Image
from seqnet_ref import SeqNet, load_safetensors
weights, work = sys.argv[1], sys.argv[2]
tensors, meta = load_safetensors(weights)
config = json.loads(meta["config"])
model = SeqNet(**config).eval()
result = model.load_state_dict(tensors, strict=False)
missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
print(f"loaded {len(tensors)} tensors into seqnet_ref.SeqNet({config}); "
      f"missing {missing or 'none'} (num_batches_tracked aside), unexpected {result.unexpected_keys or 'none'}")
assert not missing and not result.unexpected_keys
x = torch.from_numpy(np.asarray(Image.open(f"{work}/photo.png"), dtype=np.float32) / 255).permute(2, 0, 1)[None]
with torch.no_grad():
    seg, cls = model(x)
maps = {"out_seg": torch.sigmoid(seg[-1])[0, 0], "out_art": torch.sigmoid(cls[-1])[0, 0], "out_vei": torch.sigmoid(cls[-1])[0, 1]}
for name, p in maps.items():
    ours = np.asarray(Image.open(f"{work}/pred/{name}/photo.png"), dtype=np.int32)
    theirs = np.rint(p.numpy() * 255).astype(np.int32)
    d = np.abs(ours - theirs)
    print(f"{name}: largest difference {d.max()} grey level(s), {np.mean(d > 0) * 100:.3f}% of pixels differ")
    assert d.max() <= 1, name
print("the file loads in PyTorch and both programs predict the same maps (within 8-bit rounding)")
PY
