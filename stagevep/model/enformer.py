"""Enformer (enformer-pytorch) with a new head of one softplus track per stage."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from enformer_pytorch import Enformer
from enformer_pytorch.modeling_enformer import GELU, AttentionPool, Residual
from safetensors.torch import load_file as load_safetensors
from torch import nn
from torch.utils.checkpoint import checkpoint

from stagevep.errors import InputError
from stagevep.geometry import Geometry

log = logging.getLogger(__name__)

# Enformer hyper-parameters per size; target_length and output_heads are set per run.
MODEL_SIZES: dict[str, dict[str, Any]] = {
    "full": dict(dim=1536, depth=11, heads=8, attn_dim_key=64, num_downsamples=7, dim_divisible_by=128),
    "tiny": dict(dim=96, depth=2, heads=4, attn_dim_key=16, num_downsamples=7, dim_divisible_by=8),
}
FINETUNE_MODES = ("all", "head", "last-n", "layernorm")


_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)


class StageEnformer(nn.Module):
    """Enformer trunk followed by a linear + softplus head with one output per stage.

    Input: one-hot ``(batch, context_length, 4)`` float. Output: ``(batch, n_bins, n_tracks)``.

    BatchNorm layers whose parameters are all frozen stay in eval mode whatever
    ``train()`` is called with, so their running statistics never drift (see
    :meth:`train`). With ``gradient_checkpointing`` the stem, every block of the
    convolution tower, every transformer block and the final pointwise block are
    recomputed in the backward pass instead of keeping their activations.
    """

    def __init__(self, trunk: Enformer, n_tracks: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = nn.Sequential(nn.Linear(trunk.dim * 2, n_tracks), nn.Softplus())
        self.gradient_checkpointing = False

    def train(self, mode: bool = True) -> StageEnformer:
        """Set train/eval mode; BatchNorm of frozen parts stays in eval mode (no running-stat updates)."""
        super().train(mode)
        if mode:
            freeze_batchnorm_of_frozen(self)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gradient_checkpointing and torch.is_grad_enabled():
            return self.head(self._checkpointed_trunk(x))
        return self.predict_from_features(self.conv_features(x))

    def conv_features(self, x: torch.Tensor) -> torch.Tensor:
        """Stem and convolution tower: one-hot ``(B, L, 4)`` -> ``(B, C, L / stride)``, channels first.

        ``stride`` is 128 for Enformer (:meth:`receptive_field`). In inference on the CPU
        (eval mode, no autograd) the stem and the first tower block, which work at 1- and
        2-base resolution and are limited by memory bandwidth there, run tile by tile along
        the sequence (:func:`tiled`): same result, about half the time (docs/benchmarks.md).
        """
        t = self.trunk
        x = x.transpose(1, 2)
        if x.device.type != "cpu" or torch.is_grad_enabled() or self.training:
            return t.conv_tower(t.stem(x))
        return t.conv_tower[1:](tiled(nn.Sequential(t.stem, t.conv_tower[0]), x, CPU_TILE))

    def predict_from_features(self, h: torch.Tensor) -> torch.Tensor:
        """Transformer, crop, pointwise block and stage head: ``(B, C, P)`` -> ``(B, n_bins, n_tracks)``."""
        t = self.trunk
        return self.head(t.final_pointwise(t.crop_final(t.transformer(h.transpose(1, 2)))))

    def receptive_field(self) -> tuple[int, int, int]:
        """``(stride, left, right)`` of :meth:`conv_features`.

        Feature position ``j`` depends on input bases ``stride * j - left`` to
        ``stride * j + right`` (inclusive) and on no others, derived from the
        layers themselves (convolutions, pooling, pointwise layers) in eval mode.
        """
        return receptive_field(nn.Sequential(self.trunk.stem, self.trunk.conv_tower))

    def _checkpointed_trunk(self, x: torch.Tensor) -> torch.Tensor:
        """The trunk of Enformer (``(batch, length, 4)`` -> ``(batch, n_bins, 2 * dim)``), segment by segment."""
        t = self.trunk
        x = x.transpose(1, 2)  # (batch, 4, length): the convolutions run channels-first
        for segment in (t.stem, *t.conv_tower):
            x = _checkpoint(segment, x)
        x = x.transpose(1, 2)  # (batch, positions, dim)
        for block in t.transformer:
            x = _checkpoint(block, x)
        x = t.crop_final(x)
        return _checkpoint(t.final_pointwise, x)


def _checkpoint(segment: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run ``segment`` keeping only its input; recompute it in backward.

    The recomputation leaves BatchNorm running statistics untouched, so they are
    updated once per step exactly as without checkpointing.
    """
    return checkpoint(segment, x, use_reentrant=False,
                      context_fn=lambda: (_no_op(), _batchnorm_stats_frozen(segment)))


class PairAttentionPool(AttentionPool):
    """Enformer's attention pooling of position pairs, computed with one sigmoid instead of a softmax.

    For pool size 2, ``softmax(l0, l1) = (s, 1 - s)`` with ``s = sigmoid(l0 - l1)``, and the
    logits are a bias-free linear map ``W`` of the inputs, so ``l0 - l1 = W (x0 - x1)`` and
    the output is ``x1 + (x0 - x1) * sigmoid(W (x0 - x1))``. Same parameters, and the same
    outputs up to float rounding, as enformer-pytorch's :class:`AttentionPool`, with half its
    logit computation and no softmax over a length-2 axis (on the CPU that softmax was 41%
    of the tiny model's forward time; see docs/benchmarks.md). Input ``(B, C, N)``, output
    ``(B, C, N / 2)``; odd ``N`` and other pool sizes use enformer-pytorch's computation.

    Used for inference (:func:`~stagevep.model.checkpoint.load_checkpoint`). Training keeps
    enformer-pytorch's pooling: gradients agree too, but the rounding differs, and the
    300-step test-profile training fails for some seeds whichever pooling it uses (held-out
    Pearson 0.15 for seed 0 with this one, 0.14 for seed 5 with enformer-pytorch's; the
    others 0.75-0.89; docs/benchmarks.md). With enformer-pytorch's, seed 0, the test
    profile's, is one that learns.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool_size != 2 or x.shape[-1] % 2:
            return super().forward(x)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        diff = x0 - x1
        logits = F.conv1d(diff, self.to_attn_logits.weight[..., 0])  # (C, C, 1, 1) -> (C, C, 1)
        return torch.addcmul(x1, diff, torch.sigmoid(logits))


def set_pair_attention_pool(module: nn.Module, enabled: bool = True) -> None:
    """Swap every attention pooling layer of ``module`` in place: :class:`PairAttentionPool` when
    ``enabled``, enformer-pytorch's :class:`AttentionPool` when not (the seed's model, for benchmarks).

    Parameters are moved, not copied, so state dicts and optimiser state are unaffected.
    """
    cls = PairAttentionPool if enabled else AttentionPool
    for parent in list(module.modules()):
        for name, child in parent.named_children():
            if isinstance(child, AttentionPool) and type(child) is not cls:
                new = cls(child.to_attn_logits.in_channels, child.pool_size)
                new.to_attn_logits = child.to_attn_logits
                new.train(child.training)
                setattr(parent, name, new)


#: layers that act on each position separately (no receptive field of their own)
_POINTWISE = (nn.modules.batchnorm._BatchNorm, GELU, nn.GELU, nn.Identity, nn.Dropout)


def _input_interval(module: nn.Module, lo: int, hi: int) -> tuple[int, int]:
    """Input positions that outputs ``lo..hi`` (inclusive, channels-first layout) of ``module`` depend on.

    Knows the layers of Enformer's stem and convolution tower; raises ``TypeError`` on any
    other layer rather than guess its receptive field.
    """
    if isinstance(module, nn.Sequential):
        for child in reversed(module):
            lo, hi = _input_interval(child, lo, hi)
        return lo, hi
    if isinstance(module, Residual):
        inner = _input_interval(module.fn, lo, hi)
        return min(lo, inner[0]), max(hi, inner[1])
    if isinstance(module, nn.Conv1d):
        (k,), (d,), (s,), pad = module.kernel_size, module.dilation, module.stride, module.padding
        if s != 1 or isinstance(pad, str):
            raise TypeError(f"receptive field of {module} (stride {s}, padding {pad!r}) is not supported")
        return lo - pad[0], hi - pad[0] + d * (k - 1)
    if isinstance(module, AttentionPool):
        p = module.pool_size
        return p * lo, p * hi + p - 1
    if isinstance(module, _POINTWISE):
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.training:
            raise TypeError("BatchNorm in training mode mixes positions; call model.eval() first")
        return lo, hi
    raise TypeError(f"unknown layer {type(module).__name__} in the convolution tower: receptive field unknown")


#: bases per tile when :meth:`StageEnformer.conv_features` tiles its first layers on the CPU; the same for
#: every batch size, so a variant's prediction does not depend on the batch it is in (halos: 12 + 16 bases)
CPU_TILE = 4096


def receptive_field(module: nn.Module) -> tuple[int, int, int]:
    """``(stride, left, right)``: output ``j`` of ``module`` depends on inputs ``stride * j - left`` to
    ``stride * j + right`` (channels-first layout, inclusive); see :func:`_input_interval`."""
    lo0, hi0 = _input_interval(module, 0, 0)
    lo1, _ = _input_interval(module, 1, 1)
    return lo1 - lo0, -lo0, hi0


def input_slice(j0: int, j1: int, field: tuple[int, int, int], length: int) -> tuple[int, int]:
    """The input ``[start, stop)`` from which outputs ``j0..j1`` (inclusive) are computed exactly.

    ``field`` is :func:`receptive_field`; the slice is aligned to the stride and clipped to
    ``[0, length)`` (at the ends the layers' own zero padding applies in both computations).
    """
    stride, left, right = field
    start = max(0, (stride * j0 - left) // stride * stride)
    stop = min(length, -(-(stride * j1 + right + 1) // stride) * stride)
    return start, stop


def tiled(module: nn.Module, x: torch.Tensor, tile: int) -> torch.Tensor:
    """``module(x)`` for channels-first ``(B, C, L)``, computed on tiles of about ``tile`` positions.

    Each tile gets the extra input its outputs depend on (:func:`receptive_field`), so the
    result equals ``module(x)``; only the working set shrinks. ``L`` must be a multiple of
    the module's stride, else the module runs on the whole input.
    """
    field = receptive_field(module)
    stride, length = field[0], x.shape[-1]
    per_tile = max(1, tile // stride)
    if length % stride or length <= per_tile * stride:
        return module(x)
    out = []
    for j0 in range(0, length // stride, per_tile):
        j1 = min(length // stride, j0 + per_tile) - 1
        start, stop = input_slice(j0, j1, field, length)
        out.append(module(x[..., start:stop])[..., j0 - start // stride:j1 + 1 - start // stride])
    return torch.cat(out, dim=-1)


class SNVPairs(nn.Module):
    """Ref/alt pairs through a :class:`StageEnformer`, reusing the ref computation for the alt.

    Input one-hot ``(2B, L, 4)``: row ``2i`` a reference window, row ``2i + 1`` the same
    window with one base changed, at the same index in every pair (a forward or a
    reverse-complemented batch of centred SNVs). Output ``(2B, n_bins, n_tracks)``, as
    ``model(x)`` up to float rounding.

    The convolution layers see only a short neighbourhood (:meth:`StageEnformer.receptive_field`),
    so the alt's convolution features equal the ref's except at the few positions whose
    receptive field holds the changed base; only those are recomputed, from a slice of the
    alt window just wide enough for them to be exact. The transformer, which mixes all
    positions, runs on the ref and the spliced alt features together. For a 196,608-bp
    window the alt's convolution cost falls from one window to about 1.5 kb.
    """

    def __init__(self, model: StageEnformer) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.model.training:
            raise RuntimeError("SNVPairs needs the model in eval mode (BatchNorm with running statistics)")
        if x.shape[0] % 2:
            raise ValueError(f"expected ref/alt pairs (an even number of rows), got {x.shape[0]} rows")
        ref, alt = x[0::2], x[1::2]
        cols = torch.nonzero((ref != alt).any(dim=-1).any(dim=0)).flatten().tolist()
        if len(cols) != 1:
            raise ValueError(f"ref and alt rows must differ at exactly one position, the same in every pair; "
                             f"they differ at {cols[:5]}")
        h_ref = self.model.conv_features(ref)
        j0, j1, start, stop = self.recomputed(x.shape[1], cols[0])
        stride = x.shape[1] // h_ref.shape[-1]
        h_slice = self.model.conv_features(alt[:, start:stop])
        h_alt = h_ref.clone()
        h_alt[..., j0:j1 + 1] = h_slice[..., j0 - start // stride:j1 + 1 - start // stride]
        y = self.model.predict_from_features(torch.cat([h_ref, h_alt]))
        n = ref.shape[0]
        return torch.stack([y[:n], y[n:]], dim=1).flatten(0, 1)

    def recomputed(self, length: int, index: int) -> tuple[int, int, int, int]:
        """For a change at input ``index`` of a window of ``length`` bases: ``(j0, j1, start, stop)``.

        Features ``j0..j1`` (inclusive) are those that depend on the base; the alt slice
        ``[start, stop)`` (aligned to the stride, clipped to the window) is the shortest from
        which all of them are computed exactly.
        """
        field = self.model.receptive_field()
        stride, left, right = field
        if length % stride:
            raise ValueError(f"window length {length} is not a multiple of the feature stride {stride}")
        j0 = max(0, -((right - index) // stride))  # ceil((index - right) / stride)
        j1 = min(length // stride - 1, (index + left) // stride)
        return (j0, j1, *input_slice(j0, j1, field, length))


@contextmanager
def _no_op() -> Iterator[None]:
    yield


@contextmanager
def _batchnorm_stats_frozen(module: nn.Module) -> Iterator[None]:
    """Within the block, BatchNorm layers in train mode normalise with batch statistics but keep running stats."""
    saved = []
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats:
            saved.append((m, m.momentum, m.num_batches_tracked.clone()))
            m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum, count in saved:
            m.momentum = momentum
            m.num_batches_tracked.copy_(count)


def init_head_bias(model: StageEnformer, track_means: Any) -> None:
    """Start the stage head at the mean target of each track: bias = softplus^-1(mean), ``(n_tracks,)``.

    A freshly initialised head predicts about softplus(0) = 0.69 everywhere; starting at the
    training mean removes the first phase of training in which the trunk only learns an offset.
    """
    means = torch.as_tensor(track_means, dtype=torch.float32).clamp_min(1e-4)
    linear = model.head[0]
    with torch.no_grad():
        linear.bias.copy_(means + torch.log(-torch.expm1(-means)))  # log(expm1(m)), stable for large m


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside DistributedDataParallel / DataParallel / ``torch.compile`` wrappers."""
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def set_gradient_checkpointing(model: nn.Module, enabled: bool) -> None:
    """Turn activation checkpointing on or off for every :class:`StageEnformer` in ``model``.

    Covers the convolution stem and tower as well as the transformer
    (enformer-pytorch's own ``use_checkpointing`` covers only the transformer,
    while most activation memory is in the convolutions). Outputs and gradients
    are unchanged; the forward pass is recomputed during backward.
    """
    found = False
    for m in unwrap(model).modules():
        if isinstance(m, StageEnformer):
            m.gradient_checkpointing = bool(enabled)
            m.trunk.use_checkpointing = False
            found = True
    if not found:
        raise TypeError(f"set_gradient_checkpointing expects a StageEnformer, got {type(model).__name__}")


def optimizer_param_groups(
    model: nn.Module, lr: float, trunk_lr: float | None = None, weight_decay: float = 0.0
) -> list[dict[str, Any]]:
    """AdamW parameter groups for the trainable parameters of ``model``.

    Head parameters get ``lr``, trunk parameters ``trunk_lr`` (default ``lr``).
    Normalisation layers (LayerNorm, BatchNorm) and biases get no weight decay,
    the rest ``weight_decay``. Empty groups are left out; each group carries a
    ``name`` (``head``/``trunk`` + ``decay``/``no_decay``) for logging.
    """
    inner = unwrap(model)
    head = getattr(inner, "head", None)
    head_ids = {id(p) for p in head.parameters()} if isinstance(head, nn.Module) else set()
    no_decay_ids = {id(p) for m in inner.modules() if isinstance(m, _NORMS) for p in m.parameters(recurse=False)}
    no_decay_ids |= {id(p) for n, p in inner.named_parameters() if n.endswith("bias")}
    groups: dict[str, dict[str, Any]] = {}
    for _, p in inner.named_parameters():
        if not p.requires_grad:
            continue
        part = "head" if id(p) in head_ids else "trunk"
        decay = "no_decay" if id(p) in no_decay_ids else "decay"
        name = f"{part}_{decay}"
        if name not in groups:
            groups[name] = {
                "name": name,
                "params": [],
                "lr": lr if part == "head" or trunk_lr is None else trunk_lr,
                "weight_decay": 0.0 if decay == "no_decay" else weight_decay,
            }
        groups[name]["params"].append(p)
    order = ("head_decay", "head_no_decay", "trunk_decay", "trunk_no_decay")
    return [groups[n] for n in order if n in groups]


def model_config(model_size: str, geometry: Geometry) -> dict[str, Any]:
    """Enformer hyper-parameters for ``model_size`` cropped to ``geometry.n_bins``."""
    if model_size not in MODEL_SIZES:
        raise InputError(f"--model-size must be one of {sorted(MODEL_SIZES)}, got {model_size!r}")
    cfg = dict(MODEL_SIZES[model_size])
    resolution = 2 ** cfg["num_downsamples"]
    if geometry.bin_size != resolution:
        raise InputError(f"Enformer predicts {resolution}-bp bins; bin_size {geometry.bin_size} is not supported")
    cfg["target_length"] = geometry.n_bins
    return cfg


def build_model(
    model_config_: dict[str, Any], n_tracks: int, pretrained: str | Path | None = None
) -> StageEnformer:
    """Build the model; ``pretrained`` loads trunk weights from a local path (never the network).

    ``pretrained`` is a directory in Hugging Face layout (``config.json`` and
    ``model.safetensors`` / ``pytorch_model.bin``, as in
    ``EleutherAI/enformer-official-rough`` or written by
    ``Enformer.save_pretrained``) or a file holding an Enformer state dict
    (``.pt``/``.bin`` from ``torch.save``, ``.safetensors``, or a stagevep
    checkpoint, whose trunk is taken). Output heads in the weights are
    discarded; the stage head is initialised randomly.
    """
    hparams = dict(model_config_)
    if pretrained is None:
        trunk = Enformer.from_hparams(**hparams, output_heads={})
    else:
        trunk = load_pretrained_trunk(Path(pretrained), hparams)
    return StageEnformer(trunk, n_tracks)


def size_name(hparams: dict[str, Any]) -> str:
    """Name of the model size whose hyper-parameters ``hparams`` has (``full``/``tiny``), or a description."""
    for name, cfg in MODEL_SIZES.items():
        if all(hparams.get(k) == v for k, v in cfg.items()):
            return f"--model-size {name}"
    return "an Enformer with " + ", ".join(f"{k}={hparams.get(k)}" for k in ("dim", "depth", "heads"))


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


def apply_finetune_policy(model: StageEnformer, mode: str, unfreeze_last_n: int = 2) -> None:
    """Set ``requires_grad`` by policy; the head is always trained.

    - ``all``: every parameter;
    - ``head``: the stage head only;
    - ``last-n``: head + the last ``unfreeze_last_n`` transformer blocks + the
      trunk's final pointwise block (which sits between them and the head);
    - ``layernorm``: head + the affine parameters of every LayerNorm of the trunk.

    BatchNorm layers left frozen are put in eval mode now and on every later
    ``model.train()`` (see :meth:`StageEnformer.train`).
    """
    if mode not in FINETUNE_MODES:
        raise InputError(f"--finetune must be one of {FINETUNE_MODES}, got {mode!r}")
    for p in model.trunk.parameters():
        p.requires_grad = mode == "all"
    if mode == "last-n":
        blocks = list(model.trunk.transformer)
        if not 0 <= unfreeze_last_n <= len(blocks):
            raise InputError(f"--unfreeze-last-n must be between 0 and {len(blocks)}, got {unfreeze_last_n}")
        trainable = blocks[len(blocks) - unfreeze_last_n :] + [model.trunk.final_pointwise]
        for module in trainable:
            for p in module.parameters():
                p.requires_grad = True
    if mode == "layernorm":
        for module in model.trunk.modules():
            if isinstance(module, nn.LayerNorm):
                for p in module.parameters():
                    p.requires_grad = True
    for p in model.head.parameters():
        p.requires_grad = True
    model.train(model.training)


def freeze_batchnorm_of_frozen(model: nn.Module) -> None:
    """Put BatchNorm layers whose parameters are all frozen into eval mode (no running-stat drift).

    :meth:`StageEnformer.train` calls this, so callers need not.
    """
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if not any(p.requires_grad for p in module.parameters()):
                module.eval()
