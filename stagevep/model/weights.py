"""Loading Enformer trunk weights from local files (Hugging Face directories, state dicts, safetensors)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import torch
from enformer_pytorch import Enformer
from safetensors.torch import load_file as load_safetensors

from stagevep.errors import InputError
from stagevep.model.sizes import MODEL_SIZES, size_name


def load_pretrained_trunk(path: Path, hparams: dict[str, Any]) -> Enformer:
    """Load Enformer trunk weights from a local directory or state-dict file (no network).

    Raises :class:`InputError` when ``path`` does not exist, holds no weights,
    or holds weights whose keys or shapes differ from the Enformer that
    ``hparams`` describes (the message lists the differences and the model
    size the weights belong to).
    """
    if not path.exists():
        raise InputError(
            f"pretrained weights not found: {path}. Expected a directory with config.json and model.safetensors "
            "or pytorch_model.bin (download EleutherAI/enformer-official-rough on a machine with internet "
            "access and copy it here), a state-dict file, or --pretrained none for random initialisation."
        )
    if path.is_dir():
        state = _read_hf_directory(path)
    else:
        state = _read_state_file(path)
    state = _canonical_keys(state)
    trunk = Enformer.from_hparams(**hparams, output_heads={})
    expected = _canonical_keys(trunk.state_dict())
    _check_state_matches(path, state, expected, hparams)
    missing, _ = trunk.load_state_dict(state, strict=False)
    not_loaded = [k for k in missing if not k.startswith("_trunk.")]  # _trunk.* alias the modules just loaded
    if not_loaded:  # unreachable after the check above; kept so a silent partial load cannot happen
        raise InputError(f"{path}: {len(not_loaded)} tensors were not loaded (e.g. {not_loaded[:3]})")
    return trunk


# Enformer registers its stem, tower, transformer and final block twice: under their own names and inside
# ``_trunk`` (an nn.Sequential), so a state dict may name each tensor either way. Canonical names are the own ones.
_TRUNK_ALIASES = {"_trunk.1.": "stem.", "_trunk.2.": "conv_tower.", "_trunk.4.": "transformer.",
                  "_trunk.6.": "final_pointwise."}


def _canonical_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """State dict with one name per tensor (``stem.``, ``conv_tower.``, ...), output heads dropped."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith("_heads."):
            continue
        for alias, name in _TRUNK_ALIASES.items():
            if key.startswith(alias):
                key = name + key[len(alias):]
                break
        out.setdefault(key, value)
    return out


def _read_hf_directory(path: Path) -> dict[str, torch.Tensor]:
    """State dict from a Hugging Face layout directory (safetensors preferred over pytorch_model.bin)."""
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).exists():
            return _read_state_file(path / name)
    present = ", ".join(sorted(p.name for p in path.iterdir())[:8]) or "nothing"
    raise InputError(
        f"{path} holds no Enformer weights: expected model.safetensors or pytorch_model.bin (with config.json), "
        f"found {present}"
    )


def _read_state_file(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``torch.save`` state dict, stagevep checkpoint or safetensors file, keyed as in Enformer."""
    try:
        if path.suffix == ".safetensors":
            state: Any = load_safetensors(str(path), device="cpu")
        else:
            # memory-map zip-format files (torch >= 1.6) so a 1 GB state dict is not read twice into memory
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except Exception as err:  # noqa: BLE001 - unpickling arbitrary bytes raises any type (IndexError, ...)
        raise InputError(f"cannot read weights from {path}: {err}. Expected a PyTorch state dict "
                         "(torch.save) or a .safetensors file") from err
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f"{path} does not hold a state dict (a mapping of parameter names to tensors)")
    if state and all(k.startswith(("trunk.", "head.")) for k in state):  # a stagevep StageEnformer checkpoint
        state = {k[len("trunk."):]: v for k, v in state.items() if k.startswith("trunk.")}
    return state


def _check_state_matches(
    path: Path, state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], hparams: dict[str, Any]
) -> None:
    """Raise :class:`InputError` naming missing, unexpected and wrongly shaped keys."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if not (missing or unexpected or wrong):
        return
    problems = []
    if wrong:
        shown = "; ".join(f"{k}: expected {tuple(expected[k].shape)}, found {tuple(state[k].shape)}" for k in wrong[:3])
        problems.append(f"{len(wrong)} tensors of another shape ({shown})")
    if missing:
        problems.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
    found = _describe_weights(state)
    raise InputError(
        f"the weights in {path} do not fit the model chosen ({size_name(hparams)}: dim={hparams['dim']}, "
        f"depth={hparams['depth']}, heads={hparams['heads']}): {'; '.join(problems)}.{found} "
        "The official Enformer weights need --model-size full."
    )


def _describe_weights(state: dict[str, torch.Tensor]) -> str:
    """`` They look like ...`` for an Enformer state dict (dim from the stem, depth from the blocks), else ``''``."""
    stem = state.get("stem.0.weight")
    if stem is None or stem.ndim != 3:
        return " They do not look like Enformer weights (no stem.0.weight)."
    dim = 2 * int(stem.shape[0])
    blocks = {k.split(".")[1] for k in state if k.startswith("transformer.")}
    found = {"dim": dim, "depth": len(blocks)}
    guess = next((f" (--model-size {n})" for n, c in MODEL_SIZES.items()
                  if all(c[k] == v for k, v in found.items())), "")
    return f" They look like an Enformer with dim={dim}, depth={len(blocks)}{guess}."
