"""Unit tests of the transfer objectives: GRL, DANN schedule, pooling, adversarial loss, proxy A-distance.

Run: python -m pytest -q tests/training/test_objectives.py
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from training.objectives import (
    CategoryDiscriminator,
    DomainAdversarialLoss,
    dann_lambda,
    dann_lr,
    grad_reverse,
    mean_pool,
    proxy_a_distance,
)


def test_grad_reverse_flips_gradient_scaled_by_scheduled_lambda():
    for progress in (0.0, 0.1, 0.5, 1.0):
        lam = dann_lambda(progress)
        x = torch.randn(4, 3, requires_grad=True)
        w = torch.randn(4, 3)
        (grad_reverse(x, lam) * w).sum().backward()
        assert torch.allclose(x.grad, -lam * w)
    y = torch.randn(5, requires_grad=True)
    out = grad_reverse(y, 0.7)
    assert torch.equal(out, y)  # identity forward


def test_adversarial_loss_reverses_the_feature_gradient_by_the_scheduled_coefficient():
    """Features get -lam x the discriminator loss's gradient; the discriminator itself learns at full rate."""
    torch.manual_seed(0)
    f_src, f_tgt = torch.randn(4, 6), torch.randn(3, 6)
    for progress in (0.05, 0.5, 1.0):
        lam = dann_lambda(progress, max_value=0.3)
        adv = DomainAdversarialLoss(CategoryDiscriminator(6, hidden=8, num_layers=1, dropout=0.0))
        a, b = f_src.clone().requires_grad_(), f_tgt.clone().requires_grad_()
        adv(a, b, lam=lam).backward()
        disc_grads = [p.grad.clone() for p in adv.parameters()]
        adv.zero_grad()
        c, d = f_src.clone().requires_grad_(), f_tgt.clone().requires_grad_()
        adv(c, d, lam=-1.0).backward()  # reversal by -1: the plain gradient of the discriminator loss
        assert torch.allclose(a.grad, lam * -c.grad) and torch.allclose(b.grad, lam * -d.grad)
        assert all(torch.allclose(g, p.grad) for g, p in zip(disc_grads, adv.parameters()))


def test_dann_lambda_endpoints_and_monotone():
    assert dann_lambda(0.0) == 0.0
    assert dann_lambda(1.0) == pytest.approx(2 / (1 + math.exp(-10)) - 1)
    assert dann_lambda(1.0, max_value=0.1) == pytest.approx(0.1, abs=1e-4)
    assert dann_lambda(-1.0) == 0.0 and dann_lambda(2.0) == dann_lambda(1.0)
    values = [dann_lambda(p / 10) for p in range(11)]
    assert all(a < b for a, b in zip(values, values[1:]))
    assert dann_lr(0.0, 0.01) == 0.01 and dann_lr(1.0, 0.01) == pytest.approx(0.01 / 11**0.75)


def test_mean_pool_skips_padding():
    h = torch.randn(2, 4, 3)
    m = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    f = mean_pool(h, m)
    assert torch.allclose(f[0], h[0, :2].mean(0)) and torch.allclose(f[1], h[1].mean(0))


def _train_toy_dann(lam_max: float, steps: int = 600) -> tuple[float, float, float]:
    """Linear 3 -> 2 features + task head + discriminator; the categories differ along x1, the label is x0 > 0.

    Returns (discriminator accuracy over the last 100 steps, fresh linear probe's held-out accuracy at telling
    the categories apart from the final features, target task accuracy).
    """
    torch.manual_seed(0)
    xs, xt = torch.randn(512, 3), torch.randn(512, 3) + torch.tensor([0.0, 3.0, 0.0])
    ys, yt = (xs[:, 0] > 0).long(), (xt[:, 0] > 0).long()
    features, head = nn.Linear(3, 2), nn.Linear(2, 2)  # a bottleneck: the features can drop the shifted direction
    adv = DomainAdversarialLoss(CategoryDiscriminator(2, hidden=16, num_layers=1, dropout=0.0))
    opt = torch.optim.Adam([*features.parameters(), *head.parameters(), *adv.parameters()], lr=3e-3)
    accs = []
    for step in range(steps):
        i = torch.randint(0, 512, (64,))
        opt.zero_grad()
        f_src = features(xs[i])
        task = nn.functional.cross_entropy(head(f_src), ys[i])
        loss = task + adv(f_src, features(xt[i]), lam=dann_lambda(step / steps, max_value=lam_max))
        loss.backward()
        opt.step()
        accs.append(adv.last_accuracy)
    with torch.no_grad():
        probe_acc = 0.5 + proxy_a_distance(features(xs), features(xt)) / 4  # PAD = 2 (1 - 2 err)
        target_acc = (head(features(xt)).argmax(-1) == yt).float().mean().item()
    return sum(accs[-100:]) / 100, probe_acc, target_acc


def test_discriminator_and_fresh_probe_accuracy_fall_under_adversarial_training():
    adv_acc, adv_probe, target_acc = _train_toy_dann(lam_max=1.0)
    control_acc, control_probe, _ = _train_toy_dann(lam_max=0.0)  # same run without gradient reversal
    assert control_acc > 0.8 and control_probe > 0.75  # without reversal the categories stay apart
    assert adv_acc < 0.6  # the discriminator it trained against is fooled ...
    assert adv_probe < 0.6  # ... and so is a linear probe trained afresh on the final features
    assert target_acc > 0.9  # the task survives the alignment


def test_proxy_a_distance_larger_for_shifted_than_identical():
    torch.manual_seed(1)
    a = torch.randn(300, 6)
    same = torch.randn(300, 6)
    shifted = torch.randn(300, 6) + 1.5
    d_same, d_shift = proxy_a_distance(a, same), proxy_a_distance(a, shifted)
    assert d_shift > 1.5 and d_same < 0.5 and d_shift > d_same
    with pytest.raises(ValueError):
        proxy_a_distance(a[:2], shifted)
