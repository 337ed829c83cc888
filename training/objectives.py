"""Training objectives for cross-category transfer: gradient reversal, the DANN schedules, a category
discriminator and its adversarial loss, mean pooling, and the proxy A-distance. (The language-model loss is
`training.examples.assistant_token_loss`, the one used by every recipe.)

Components only: no training loop lives here (recipes such as `training/transfer.py` and
`training/bench/dann.py` write the loop and combine these as arithmetic,
`loss = task_loss + adv(f_src, f_tgt, lam)`, `lam` the gradient-reversal coefficient). Everything is plain
torch and unit-tested in `tests/training/test_objectives.py`.

References:
    Ganin, Ustinova, Ajakan, Germain, Larochelle, Laviolette, Marchand, Lempitsky.
    "Domain-Adversarial Training of Neural Networks", JMLR 17 (2016). https://arxiv.org/abs/1505.07818
    Ben-David, Blitzer, Crammer, Pereira. "Analysis of representations for domain adaptation", NIPS 2006
    (proxy A-distance).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class GradReverse(torch.autograd.Function):
    """Identity in the forward pass; multiplies the gradient by `-lam` in the backward pass (Ganin et al. 2016,
    eq. 13). The feature extractor below it then *maximises* the discriminator's loss it minimises above it."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, lam: float) -> torch.Tensor:
        ctx.lam = float(lam)
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad_output.neg() * ctx.lam, None


def grad_reverse(x: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """Gradient-reversal layer as a function.

    Args:
        x: any tensor (typically (B, H) pooled features).
        lam: scale of the reversed gradient (the DANN lambda at this step).

    Returns:
        `x` unchanged; its gradient becomes `-lam * grad`.

    Example:
        >>> x = torch.ones(3, requires_grad=True)
        >>> grad_reverse(x, 0.5).sum().backward()
        >>> x.grad  # tensor([-0.5, -0.5, -0.5])
    """
    return GradReverse.apply(x, lam)


def dann_lambda(progress: float, gamma: float = 10.0, max_value: float = 1.0) -> float:
    """DANN adaptation factor schedule `max_value * (2 / (1 + exp(-gamma * p)) - 1)` (Ganin et al. 2016, sec 5.2.2).

    It grows from 0 at the start (when features are still noise and the discriminator's signal is
    useless) to `max_value` at the end.

    Args:
        progress: training progress p in [0, 1] (clipped).
        gamma: steepness; 10 in the paper.
        max_value: value approached at p = 1.

    Returns:
        The lambda for this step.

    Example:
        >>> dann_lambda(0.0)  # 0.0
        >>> round(dann_lambda(1.0), 4)  # 0.9999
        >>> lam = dann_lambda(step / max_steps, max_value=0.1)
    """
    p = min(max(float(progress), 0.0), 1.0)
    return max_value * (2.0 / (1.0 + math.exp(-gamma * p)) - 1.0)


def dann_lr(progress: float, lr0: float, alpha: float = 10.0, beta: float = 0.75) -> float:
    """DANN learning-rate annealing `lr0 / (1 + alpha * p) ** beta` (Ganin et al. 2016, sec 5.2.2).

    Example:
        >>> dann_lr(0.0, 0.01)  # 0.01
        >>> dann_lr(1.0, 0.01) < 0.01  # True
        >>> for g in opt.param_groups: g["lr"] = dann_lr(step / max_steps, 0.01)
    """
    p = min(max(float(progress), 0.0), 1.0)
    return lr0 / (1.0 + alpha * p) ** beta


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of hidden states over the non-padding positions.

    Args:
        hidden: (B, T, H) hidden states.
        mask: (B, T) 1 for real tokens, 0 for padding.

    Returns:
        (B, H) pooled features (zeros for a row with no real token).

    Example:
        >>> h = torch.randn(2, 4, 8); m = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
        >>> f = mean_pool(h, m)  # (2, 8)
        >>> torch.allclose(f[0], h[0, :2].mean(0))  # True
    """
    m = mask.to(hidden.dtype).unsqueeze(-1)  # (B, T, 1)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


class CategoryDiscriminator(nn.Module):
    """MLP that predicts which category (source 0 / target 1, or one of n categories) pooled features came from.

    Args:
        in_features: H, size of the pooled features.
        hidden: width of the hidden layers.
        num_categories: 2 for source vs target; more for a multi-category discriminator.
        num_layers: number of hidden layers (DANN uses 1 for shallow nets, 2 for deep ones).
        dropout: dropout after each hidden layer.

    Example:
        >>> disc = CategoryDiscriminator(64)
        >>> logits = disc(torch.randn(4, 64))  # (4, 2)
        >>> logits.shape  # torch.Size([4, 2])
    """

    def __init__(
        self, in_features: int, hidden: int = 256, num_categories: int = 2, num_layers: int = 2, dropout: float = 0.1
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        layers.append(nn.Linear(width, num_categories))
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, H) features -> (B, num_categories) logits."""
        return self.net(features.float())


class DomainAdversarialLoss(nn.Module):
    """DANN category-adversarial loss: cross entropy of a discriminator behind a gradient-reversal layer.

    Minimising `task_loss + this` trains the discriminator to tell the categories apart while the reversed
    gradient trains the features to make them indistinguishable (Ganin et al. 2016, eq. 9-10, 18). The loss is
    the source mean plus the target mean of the discriminator's cross entropy, as in the paper's objective, so
    the reversal coefficient `lam` passed per call (use `dann_lambda(progress)`) is the paper's lambda. The
    total loss is written `task_loss + adv(f_src, f_tgt, lam)` and the discriminator always learns at full rate.

    Args:
        discriminator: module mapping (B, H) -> (B, 2) logits.

    Example:
        >>> adv = DomainAdversarialLoss(CategoryDiscriminator(64))
        >>> loss = adv(torch.randn(8, 64), torch.randn(8, 64), lam=0.3)
        >>> adv.last_accuracy  # discriminator accuracy on this batch, in [0, 1]
    """

    def __init__(self, discriminator: nn.Module):
        super().__init__()
        self.discriminator = discriminator
        self.last_accuracy: float = float("nan")

    def forward(self, f_src: torch.Tensor, f_tgt: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
        """Args: f_src (Bs, H) and f_tgt (Bt, H) features; lam the reversal scale. Returns a scalar loss."""
        f = torch.cat([f_src, f_tgt], 0)  # (Bs+Bt, H)
        y = torch.cat([torch.zeros(len(f_src)), torch.ones(len(f_tgt))]).long().to(f.device)
        logits = self.discriminator(grad_reverse(f, lam))  # (Bs+Bt, 2)
        with torch.no_grad():
            self.last_accuracy = (logits.argmax(-1) == y).float().mean().item()
        # the mean loss of each category, summed (Ganin et al. 2016, eq. 18 and Algorithm 1): each category counts
        # the same whatever the batch sizes, and a coefficient lam scales the reversed gradient as the paper's
        # lambda does (a mean over both categories together would halve it)
        return F.cross_entropy(logits[: len(f_src)], y[: len(f_src)]) + F.cross_entropy(
            logits[len(f_src) :], y[len(f_src) :]
        )


def proxy_a_distance(
    features_src: torch.Tensor,
    features_tgt: torch.Tensor,
    epochs: int = 200,
    weight_decays: tuple[float, ...] = (1e-4, 1e-3, 1e-2),
    seed: int = 0,
) -> float:
    """Proxy A-distance `2 (1 - 2 err)` of a linear classifier trained to tell source from target features.

    Half of each set trains a logistic regression (full-batch Adam on standardised features),
    the other half measures its error; the lowest held-out error over `weight_decays` is used, as in
    Ben-David et al. 2006 / Ganin et al. 2016 (sec 5.1.5). 0 means indistinguishable, 2 fully separable.

    Args:
        features_src: (Ns, H) source features (Ns >= 4).
        features_tgt: (Nt, H) target features (Nt >= 4).
        epochs: full-batch optimisation steps per weight decay.
        weight_decays: L2 strengths tried.
        seed: seed for the split.

    Returns:
        The proxy A-distance in [0, 2].

    Raises:
        ValueError: when either set has fewer than 4 rows.

    Example:
        >>> a = torch.randn(200, 5); b = torch.randn(200, 5) + 3.0
        >>> proxy_a_distance(a, b) > 1.5  # True: shifted
        >>> proxy_a_distance(a, torch.randn(200, 5)) < 0.5  # True: same distribution
    """
    if len(features_src) < 4 or len(features_tgt) < 4:
        raise ValueError(f"proxy_a_distance needs >= 4 rows per side, got {len(features_src)} and {len(features_tgt)}")
    g = torch.Generator().manual_seed(seed)
    xs, xt = features_src.detach().float().cpu(), features_tgt.detach().float().cpu()
    ps, pt = torch.randperm(len(xs), generator=g), torch.randperm(len(xt), generator=g)
    hs, ht = len(xs) // 2, len(xt) // 2
    x_tr = torch.cat([xs[ps[:hs]], xt[pt[:ht]]])
    y_tr = torch.cat([torch.zeros(hs), torch.ones(ht)])
    x_te = torch.cat([xs[ps[hs:]], xt[pt[ht:]]])
    y_te = torch.cat([torch.zeros(len(xs) - hs), torch.ones(len(xt) - ht)])
    mu, sd = x_tr.mean(0), x_tr.std(0).clamp(min=1e-6)
    x_tr, x_te = (x_tr - mu) / sd, (x_te - mu) / sd
    best_err = 0.5
    with torch.enable_grad():
        for wd in weight_decays:
            clf = nn.Linear(x_tr.size(1), 1)
            opt = torch.optim.Adam(clf.parameters(), lr=0.05, weight_decay=wd)
            for _ in range(epochs):
                opt.zero_grad()
                F.binary_cross_entropy_with_logits(clf(x_tr).squeeze(-1), y_tr).backward()
                opt.step()
            with torch.no_grad():
                pred = (clf(x_te).squeeze(-1) > 0).float()
                # balanced error, so unequal set sizes do not make a trivial classifier look good
                err = 0.5 * ((pred[y_te == 0] != 0).float().mean() + (pred[y_te == 1] != 1).float().mean()).item()
            best_err = min(best_err, min(err, 1.0 - err))
    return 2.0 * (1.0 - 2.0 * best_err)
