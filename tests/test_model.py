"""Model construction, freezing policy, offline weight loading and checkpoints."""

import numpy as np
import pytest
import torch

from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.model.checkpoint import load_checkpoint, save_checkpoint
from stagevep.model.enformer import build_model
from stagevep.model.finetune import apply_finetune_policy, set_gradient_checkpointing
from stagevep.model.sizes import model_config

GEOM = Geometry(n_bins=16, bin_size=128, context_length=4096)


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return build_model(model_config("tiny", GEOM), n_tracks=5)


def test_output_shape_and_positive(tiny):
    y = tiny(torch.rand(2, 4096, 4))
    assert y.shape == (2, 16, 5)
    assert (y > 0).all()  # softplus head


def test_geometry_checks():
    with pytest.raises(InputError, match="128-bp bins"):
        model_config("tiny", Geometry(n_bins=16, bin_size=64, context_length=4096))
    with pytest.raises(InputError, match="longer than the context"):
        Geometry(n_bins=64, bin_size=128, context_length=4096)
    with pytest.raises(InputError, match="--model-size"):
        model_config("huge", GEOM)


def test_finetune_policies(tiny):
    apply_finetune_policy(tiny, "head")
    trainable = {n for n, p in tiny.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("head.") for n in trainable)
    apply_finetune_policy(tiny, "last-n", unfreeze_last_n=1)
    trainable = {n for n, p in tiny.named_parameters() if p.requires_grad}
    assert any(n.startswith("trunk.transformer.1.") for n in trainable)
    assert not any(n.startswith("trunk.transformer.0.") for n in trainable)
    assert not any(n.startswith("trunk.stem.") for n in trainable)
    apply_finetune_policy(tiny, "all")
    assert all(p.requires_grad for p in tiny.parameters())


def test_pretrained_from_local_directory_and_state_dict(tmp_path, tiny):
    """Weights saved in Hugging Face layout (config.json + pytorch_model.bin, as the official
    EleutherAI/enformer-official-rough repository, or model.safetensors) or as a state dict (zip or legacy
    torch.save format, safetensors) load offline into the trunk."""
    hf_dir = tmp_path / "enformer"
    tiny.trunk.save_pretrained(hf_dir, safe_serialization=False)
    assert (hf_dir / "config.json").exists()
    from safetensors.torch import save_file

    own_names = {k: v.contiguous() for k, v in tiny.trunk.state_dict().items() if not k.startswith("_trunk.")}
    save_file(own_names, tmp_path / "trunk.safetensors")  # safetensors refuses the aliased duplicates
    (tmp_path / "hf_st").mkdir()
    save_file(own_names, tmp_path / "hf_st" / "model.safetensors")
    torch.save(tiny.trunk.state_dict(), tmp_path / "trunk.pt")
    torch.save(tiny.trunk.state_dict(), tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    for source in (hf_dir, tmp_path / "hf_st", tmp_path / "trunk.pt", tmp_path / "legacy.pt",
                   tmp_path / "trunk.safetensors"):
        model = build_model(model_config("tiny", GEOM), n_tracks=5, pretrained=source)
        for (name, a), (_, b) in zip(model.trunk.state_dict().items(), tiny.trunk.state_dict().items(), strict=True):
            assert torch.equal(a, b), name


def test_missing_or_wrong_weights(tmp_path):
    with pytest.raises(InputError, match=r"pretrained weights not found: .*missing\. Expected a directory with "
                                         r"config.json and model.safetensors or pytorch_model.bin"):
        build_model(model_config("tiny", GEOM), 5, pretrained=tmp_path / "missing")
    torch.save({"not": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(InputError, match=r"do not fit the model chosen \(--model-size tiny.*"
                                         r"They do not look like Enformer weights"):
        build_model(model_config("tiny", GEOM), 5, pretrained=tmp_path / "bad.pt")
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "empty_dir" / "config.json").write_text("{}")
    with pytest.raises(InputError, match="holds no Enformer weights: expected model.safetensors or pytorch_model.bin"):
        build_model(model_config("tiny", GEOM), 5, pretrained=tmp_path / "empty_dir")
    (tmp_path / "text.pt").write_text("not a torch file")
    with pytest.raises(InputError, match="cannot read weights from .*text.pt"):
        build_model(model_config("tiny", GEOM), 5, pretrained=tmp_path / "text.pt")


def test_weights_of_another_shape_name_keys_shapes_and_size(tmp_path, tiny):
    """Tiny weights offered to a model of another width: the message gives the expected and found shapes
    (checked against the tensors themselves) and the model size the weights belong to."""
    torch.save(tiny.trunk.state_dict(), tmp_path / "tiny.pt")
    other = dict(model_config("tiny", GEOM), dim=48, heads=2)
    expected = build_model(other, 5).trunk.state_dict()["stem.0.weight"].shape
    found = tiny.trunk.state_dict()["stem.0.weight"].shape
    with pytest.raises(InputError) as err:
        build_model(other, 5, pretrained=tmp_path / "tiny.pt")
    msg = str(err.value)
    assert f"stem.0.weight: expected {tuple(expected)}, found {tuple(found)}" in msg
    assert "dim=48" in msg and "They look like an Enformer with dim=96, depth=2 (--model-size tiny)" in msg
    # the same weights in Hugging Face layout fail the same way
    tiny.trunk.save_pretrained(tmp_path / "hf", safe_serialization=False)
    with pytest.raises(InputError, match=r"They look like an Enformer with dim=96, depth=2 \(--model-size tiny\)"):
        build_model(other, 5, pretrained=tmp_path / "hf")


def test_full_size_state_dict_roundtrips_through_pretrained(tmp_path):
    """The one full-size test (trunk ~230M parameters, ~0.9 GB): random weights saved as a state dict load back
    exactly."""
    torch.manual_seed(0)
    cfg = model_config("full", Geometry())
    reference = build_model(cfg, n_tracks=5).trunk.state_dict()
    assert sum(v.numel() for k, v in reference.items() if not k.startswith("_trunk.")) > 200_000_000
    torch.save(reference, tmp_path / "full.pt")
    loaded = build_model(cfg, n_tracks=5, pretrained=tmp_path / "full.pt").trunk.state_dict()
    assert loaded.keys() == reference.keys()
    for name, value in reference.items():
        assert torch.equal(loaded[name], value), name
    del reference, loaded
    with pytest.raises(InputError, match=r"do not fit the model chosen \(--model-size tiny.*"
                                         r"They look like an Enformer with dim=1536, depth=11 \(--model-size full\)"):
        build_model(model_config("tiny", GEOM), 5, pretrained=tmp_path / "full.pt")


def test_stagevep_checkpoint_and_alias_only_keys_load_as_pretrained(tmp_path, tiny):
    """A stagevep checkpoint (keys trunk.*/head.*) and a state dict naming tensors only by their
    ``_trunk.N`` aliases both load the trunk exactly."""
    payload = {"model_config": model_config("tiny", GEOM), "tracks": list("ABCDE"), "geometry": GEOM.to_dict(),
               "target_transform": {}}
    save_checkpoint(tmp_path / "c.pt", tiny, payload)
    alias_only = {k: v for k, v in tiny.trunk.state_dict().items() if k.startswith("_trunk.")}
    torch.save(alias_only, tmp_path / "alias.pt")
    for source in (tmp_path / "c.pt", tmp_path / "alias.pt"):
        model = build_model(model_config("tiny", GEOM), n_tracks=5, pretrained=source)
        for name, value in tiny.trunk.state_dict().items():
            assert torch.equal(model.trunk.state_dict()[name], value), (source.name, name)


def test_checkpoint_roundtrip(tmp_path, tiny):
    payload = {"model_config": model_config("tiny", GEOM), "tracks": list("ABCDE"), "geometry": GEOM.to_dict(),
               "target_transform": {"transform": "log1p"}}
    save_checkpoint(tmp_path / "c.pt", tiny, payload)
    model, ckpt = load_checkpoint(tmp_path / "c.pt")
    x = torch.rand(1, 4096, 4)
    tiny.eval()
    with torch.no_grad():
        assert torch.allclose(model(x), tiny(x))
    assert ckpt["tracks"] == list("ABCDE") and "stagevep_version" in ckpt
    assert not (tmp_path / ".c.pt.tmp").exists()
    with pytest.raises(InputError, match="not a stagevep checkpoint"):
        torch.save({"state_dict": {}}, tmp_path / "x.pt")
        load_checkpoint(tmp_path / "x.pt")


class _StrandModel(torch.nn.Module):
    """Toy model: per-bin count of A (track 0) and of T (track 1) in 4-bp bins of a (B, L, 4) one-hot."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, length, _ = x.shape
        return x[..., [0, 3]].reshape(b, length // 4, 4, 2).sum(2)


def test_predict_rc_average_flips_back_and_averages():
    """RC of a sequence swaps A and T counts and reverses bins; averaging must undo the reversal."""
    from stagevep.model.predict import predict_batches

    x = torch.nn.functional.one_hot(torch.randint(0, 4, (3, 32)), 4).float()
    model = _StrandModel()
    fwd = predict_batches(model, [x], torch.device("cpu"), "fp32")
    both = predict_batches(model, [x], torch.device("cpu"), "fp32", rc_average=True)
    # independent computation: RC prediction, per bin, counts T as "A" and A as "T" in the same bin
    expected = 0.5 * (fwd + fwd[..., ::-1])
    np.testing.assert_allclose(both, expected)
    assert not np.allclose(both, fwd)


def _bn_stats(model):
    return {n: b.clone() for n, b in model.named_buffers() if "running" in n or "num_batches" in n}


def _tiny_in_train_mode(checkpointing: bool):
    torch.manual_seed(0)
    model = build_model(model_config("tiny", GEOM), n_tracks=3)
    set_gradient_checkpointing(model, checkpointing)
    return model.train()


def test_gradient_checkpointing_matches_plain_forward_and_backward():
    """Checkpointing (stem, conv tower, transformer, final block) changes neither outputs, gradients,
    nor the BatchNorm running statistics (the recomputation must not update them a second time)."""
    x = torch.rand(2, 4096, 4)
    results = []
    for enabled in (False, True):
        model = _tiny_in_train_mode(enabled)
        torch.manual_seed(1)  # same dropout masks in both runs
        y = model(x)
        y.square().mean().backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        results.append((y.detach(), grads, _bn_stats(model)))
    (y0, g0, s0), (y1, g1, s1) = results
    torch.testing.assert_close(y1, y0)
    assert g0.keys() == g1.keys()
    for name in g0:
        torch.testing.assert_close(g1[name], g0[name], msg=name)
    assert any(n.startswith("trunk.stem.") for n in s0)  # the conv stem has BatchNorm stats to compare
    for name in s0:
        torch.testing.assert_close(s1[name], s0[name], msg=name)


def test_gradient_checkpointing_saves_activations_of_the_conv_tower():
    """With checkpointing, autograd keeps far fewer tensors from the forward pass (independent count via
    saved-tensor hooks), and the conv tower's activations are among those dropped."""
    x = torch.rand(1, 4096, 4)
    saved_bytes = []
    for enabled in (False, True):
        model = _tiny_in_train_mode(enabled)
        total = [0]

        def pack(t, total=total):
            total[0] += t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(x).sum()
        saved_bytes.append(total[0])
    # without checkpointing the full-length stem activations alone are (4096 x 48 floats) several times over
    assert saved_bytes[1] < saved_bytes[0] / 5


def test_optimizer_param_groups():
    from stagevep.model.finetune import optimizer_param_groups

    torch.manual_seed(0)
    model = build_model(model_config("tiny", GEOM), n_tracks=3)
    apply_finetune_policy(model, "last-n", unfreeze_last_n=1)
    groups = optimizer_param_groups(model, lr=1e-3, trunk_lr=1e-4, weight_decay=0.05)
    by_name = {g["name"]: g for g in groups}
    assert set(by_name) == {"head_decay", "head_no_decay", "trunk_decay", "trunk_no_decay"}
    names = {id(p): n for n, p in model.named_parameters()}
    grouped = [names[id(p)] for g in groups for p in g["params"]]
    # every trainable parameter exactly once, no frozen one
    assert sorted(grouped) == sorted(n for n, p in model.named_parameters() if p.requires_grad)
    assert {names[id(p)] for p in by_name["head_decay"]["params"]} == {"head.0.weight"}
    assert {names[id(p)] for p in by_name["head_no_decay"]["params"]} == {"head.0.bias"}
    assert by_name["head_decay"]["lr"] == 1e-3 and by_name["trunk_decay"]["lr"] == 1e-4
    assert by_name["trunk_decay"]["weight_decay"] == 0.05 and by_name["trunk_no_decay"]["weight_decay"] == 0.0
    norm_ids = {id(p) for m in model.modules() if isinstance(m, (torch.nn.LayerNorm, torch.nn.BatchNorm1d))
                for p in m.parameters()}
    for p in by_name["trunk_decay"]["params"]:
        assert id(p) not in norm_ids and not names[id(p)].endswith("bias")
    assert any(id(p) in norm_ids for p in by_name["trunk_no_decay"]["params"])
    # default trunk_lr is lr; an AdamW accepts the groups as they are
    assert {g["lr"] for g in optimizer_param_groups(model, lr=3e-4)} == {3e-4}
    torch.optim.AdamW(groups)


def _policy_names(model, mode):
    """Trainable parameter names each policy should give, from the names alone (independent of the code)."""
    names = [n for n, _ in model.named_parameters()]
    last = f"trunk.transformer.{len(model.trunk.transformer) - 1}."
    layernorm = {n for n in names if n.startswith("trunk.transformer.") and ".fn.0." in n
                 and n.split(".")[3] in ("0", "1") and n.endswith((".fn.0.weight", ".fn.0.bias"))}
    head = {n for n in names if n.startswith("head.")}
    return {
        "all": set(names),
        "head": head,
        "last-n": head | {n for n in names if n.startswith((last, "trunk.final_pointwise."))},
        "layernorm": head | layernorm,
    }[mode]


@pytest.mark.parametrize("mode", ["head", "last-n", "layernorm", "all"])
def test_only_policy_parameters_receive_gradients_and_frozen_batchnorm_stays_put(mode):
    """After a few AdamW steps in train mode: exactly the policy's parameters got gradients and changed;
    running statistics of BatchNorm layers with frozen parameters did not move, those of trained ones did."""
    torch.manual_seed(0)
    model = build_model(model_config("tiny", GEOM), n_tracks=3)
    apply_finetune_policy(model, mode, unfreeze_last_n=1)
    expected = _policy_names(model, mode)
    ln_count = sum(isinstance(m, torch.nn.LayerNorm) for m in model.trunk.modules())
    if mode == "layernorm":
        assert len(expected - _policy_names(model, "head")) == 2 * ln_count  # weight + bias of each LayerNorm
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    stats = {n: b.clone() for n, b in model.named_buffers() if "running_mean" in n}
    frozen_bn = {f"{n}.running_mean" for n, m in model.named_modules()
                 if isinstance(m, torch.nn.BatchNorm1d) and not m.weight.requires_grad}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    nonzero: set[str] = set()
    for step in range(3):
        model.eval()
        model.train()  # switching modes must not wake frozen BatchNorm up
        opt.zero_grad()
        x = torch.nn.functional.one_hot(torch.randint(0, 4, (2, 4096)), 4).float()
        model(x).log().square().mean().backward()
        # (attention q/k/v gradients are exactly 0 at the first step: enformer-pytorch zero-inits to_out)
        got_grad = {n for n, p in model.named_parameters() if p.grad is not None}
        assert got_grad == expected, (step, sorted(got_grad ^ expected)[:5])
        nonzero |= {n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
        opt.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    # frozen parameters never change; trainable ones change once their gradient is non-zero (the LayerNorm
    # feeding a frozen attention whose zero-initialised output projection blocks its gradient stays put)
    assert nonzero <= changed <= expected and len(nonzero) >= len(expected) - 2 * len(model.trunk.transformer)
    for name, value in stats.items():
        moved = not torch.equal(dict(model.named_buffers())[name], value)
        assert moved == (name not in frozen_bn), name
    if mode == "all":
        assert not frozen_bn
    else:
        assert frozen_bn  # the stem and tower BatchNorms are frozen under every other policy


def _random_onehot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.one_hot(torch.randint(0, 4, (n, length), generator=g), 4).float()


def test_pair_attention_pool_matches_enformer_pytorch_values_and_gradients():
    from enformer_pytorch.modeling_enformer import AttentionPool

    from stagevep.model.enformer import PairAttentionPool

    torch.manual_seed(0)
    stock = AttentionPool(6)
    stock.to_attn_logits.weight.data.normal_()
    pair = PairAttentionPool(6)
    pair.load_state_dict(stock.state_dict())
    for n in (10, 7):  # even: the sigmoid form; odd: enformer-pytorch's padded softmax
        x = torch.randn(3, 6, n, requires_grad=True)
        y_stock, y_pair = stock(x), pair(x)
        assert y_pair.shape == (3, 6, (n + 1) // 2)
        torch.testing.assert_close(y_pair, y_stock, rtol=1e-5, atol=1e-6)
        g = torch.randn_like(y_stock)
        gx_stock, gw_stock = torch.autograd.grad((y_stock * g).sum(), (x, stock.to_attn_logits.weight))
        gx_pair, gw_pair = torch.autograd.grad((y_pair * g).sum(), (x, pair.to_attn_logits.weight))
        torch.testing.assert_close(gx_pair, gx_stock, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(gw_pair, gw_stock, rtol=1e-4, atol=1e-5)


def test_loaded_models_use_pair_pooling_and_the_swap_keeps_parameters(tmp_path, tiny):
    """Training builds enformer-pytorch's pooling; a model loaded for inference pools with PairAttentionPool,
    with the same state dict and outputs."""
    from enformer_pytorch.modeling_enformer import AttentionPool

    from stagevep.model.enformer import PairAttentionPool, set_pair_attention_pool

    def pools(model):
        return [type(m) for m in model.modules() if isinstance(m, AttentionPool)]

    assert pools(tiny) == [AttentionPool] * 7  # stem + 6 tower blocks
    save_checkpoint(tmp_path / "c.pt", tiny, {"model_config": model_config("tiny", GEOM), "tracks": list("ABCDE"),
                                              "geometry": GEOM.to_dict(), "target_transform": {}})
    loaded, _ = load_checkpoint(tmp_path / "c.pt")
    assert pools(loaded) == [PairAttentionPool] * 7
    tiny.eval()
    x = _random_onehot(2, 4096)
    state = {k: v.clone() for k, v in tiny.state_dict().items()}
    with torch.no_grad():
        y_stock = tiny(x)
        torch.testing.assert_close(loaded(x), y_stock, rtol=1e-5, atol=1e-6)
        set_pair_attention_pool(tiny)
        assert pools(tiny) == [PairAttentionPool] * 7
        assert type(tiny.trunk._trunk[1][2]) is PairAttentionPool  # the alias Enformer keeps sees the swap too
        y_pair = tiny(x)
        set_pair_attention_pool(tiny, False)
        assert pools(tiny) == [AttentionPool] * 7
    assert tiny.state_dict().keys() == state.keys()
    assert all(torch.equal(v, state[k]) for k, v in tiny.state_dict().items())
    torch.testing.assert_close(y_pair, y_stock, rtol=1e-5, atol=1e-6)


def test_receptive_field_by_hand_and_by_perturbation():
    """Stem conv (15 wide): 7 bases each side; six tower convs (5 wide) at 2..64 bp per position: 2 * (2 + ... + 64)
    more; the 128-bp pooled position adds 127 on the right. Perturbing one base must change only the features in
    that range, and the range must be tight (its end features do change)."""
    from conftest import mixing_model

    model = mixing_model(GEOM, 2)
    assert model.receptive_field() == (128, 7 + 2 * 126, 7 + 2 * 126 + 127)
    x = _random_onehot(1, 4096)
    with torch.no_grad():
        h = model.conv_features(x)
        for index in (0, 1000, 2048, 2175, 4095):
            y = x.clone()
            y[0, index] = y[0, index].roll(1)
            changed = torch.nonzero((model.conv_features(y) != h).any(dim=1)[0]).flatten().tolist()
            lo, hi = max(0, -((386 - index) // 128)), min(31, (index + 259) // 128)
            assert changed and min(changed) == lo and max(changed) == hi, (index, changed, lo, hi)
    model.train()
    with pytest.raises(TypeError, match="eval"):
        model.receptive_field()


def test_tiled_equals_untiled():
    from conftest import mixing_model
    from stagevep.model.receptive import tiled

    model = mixing_model(GEOM, 2)
    t = model.trunk
    x = _random_onehot(3, 4096).transpose(1, 2)
    with torch.no_grad():
        for module in (t.stem, torch.nn.Sequential(t.stem, t.conv_tower[0]), torch.nn.Sequential(t.stem, t.conv_tower)):
            whole = module(x)
            for tile in (128, 300, 1024, 4000):
                torch.testing.assert_close(tiled(module, x, tile), whole, rtol=1e-5, atol=1e-6)
    # the model's own inference path (tiled on the CPU) against the training path (untiled, with autograd)
    xs = _random_onehot(2, 4096, seed=3)
    with torch.no_grad():
        inference = model(xs)
    torch.testing.assert_close(model(xs).detach(), inference, rtol=1e-5, atol=1e-6)


def test_snv_pairs_equal_full_passes_anywhere_in_the_window():
    from conftest import mixing_model
    from stagevep.core.sequence import reverse_complement_onehot
    from stagevep.model.receptive import SNVPairs

    model = mixing_model(GEOM, 3)
    pairs = SNVPairs(model)
    ref = _random_onehot(3, 4096)
    for index in (2048, 0, 130, 4095, 3000):
        x = ref.repeat_interleave(2, dim=0)
        x[1::2, index] = x[1::2, index].roll(1, dims=-1)
        with torch.no_grad():
            full, fast = model(x), pairs(x)
            full_rc, fast_rc = model(reverse_complement_onehot(x)), pairs(reverse_complement_onehot(x))
        assert (full[1::2] - full[0::2]).abs().max() > 2e-5  # the change matters well above rounding (1e-7)
        torch.testing.assert_close(fast, full, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(fast_rc, full_rc, rtol=1e-5, atol=1e-6)
    x = ref[:2].repeat_interleave(2, dim=0)
    x[1::2, 10] = x[1::2, 10].roll(1, dims=-1)
    x[3, 20] = x[3, 20].roll(1)
    with pytest.raises(ValueError, match="exactly one position"):
        pairs(x)
    with pytest.raises(ValueError, match="even number"):
        pairs(x[:3])
    model.train()
    with pytest.raises(RuntimeError, match="eval mode"):
        pairs(x)
