"""Float64 NumPy references, written loop by loop from each paper's formula.

Nothing here calls or mirrors jaxssl: explicit Python loops over anchors,
pairs and triplets, so a vectorisation or masking mistake in the library
cannot be repeated here. Each function returns plain floats / float64 arrays.
"""

import math

import numpy as np


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _unit(x):
    x = _f64(x)
    return x / max(math.sqrt(float(np.dot(x, x))), 1e-6)


def _cos(a, b):
    return float(np.dot(_unit(a), _unit(b)))


def _logsumexp(values):
    m = max(values)
    return m + math.log(sum(math.exp(v - m) for v in values))


def _reduce(per_example, reduction):
    per_example = _f64(per_example)
    if reduction == "none":
        return per_example
    if reduction == "sum":
        return float(per_example.sum())
    return float(per_example.mean())


# --- contrastive --------------------------------------------------------------


def nt_xent(z1, z2, temperature, reduction="mean"):
    """SimCLR eq. (1): 2N anchors, each against its 2N-1 other embeddings."""
    n = len(z1)
    e = [_f64(v) for v in list(z1) + list(z2)]
    per_anchor = []
    for a in range(2 * n):
        pos = a + n if a < n else a - n
        logits = {b: _cos(e[a], e[b]) / temperature for b in range(2 * n) if b != a}
        per_anchor.append(_logsumexp(list(logits.values())) - logits[pos])
    per_example = [(per_anchor[i] + per_anchor[i + n]) / 2 for i in range(n)]
    return _reduce(per_example, reduction)


def contrastive_accuracy(z1, z2, k):
    """Fraction of the 2N anchors whose positive has fewer than k candidates above it."""
    n = len(z1)
    e = [_f64(v) for v in list(z1) + list(z2)]
    hits = 0
    for a in range(2 * n):
        pos = a + n if a < n else a - n
        s_pos = _cos(e[a], e[pos])
        above = sum(1 for b in range(2 * n) if b not in (a, pos) and _cos(e[a], e[b]) > s_pos)
        hits += above < k
    return hits / (2 * n)


def pair_similarities(z1, z2):
    """Mean cosine over positive pairs and over negative pairs, all 2N anchors."""
    n = len(z1)
    e = [_f64(v) for v in list(z1) + list(z2)]
    pos, neg = [], []
    for a in range(2 * n):
        p = a + n if a < n else a - n
        for b in range(2 * n):
            if b == a:
                continue
            (pos if b == p else neg).append(_cos(e[a], e[b]))
    return float(np.mean(pos)), float(np.mean(neg))


def info_nce(q, k, temperature, negatives=None, in_batch_negatives=True, reduction="mean"):
    """CPC eq. (4) / MoCo eq. (1): query i's positive is key i."""
    per = []
    for i in range(len(q)):
        logits = [_cos(q[i], k[i]) / temperature]
        if in_batch_negatives:
            logits += [_cos(q[i], k[j]) / temperature for j in range(len(k)) if j != i]
        if negatives is not None:
            logits += [_cos(q[i], m) / temperature for m in negatives]
        per.append(_logsumexp(logits) - logits[0])
    return _reduce(per, reduction)


def sup_con(z, labels, temperature, reduction="mean"):
    """SupCon L_out (eq. 2): mean over anchors that have a positive."""
    n = len(z)
    per, valid = [], []
    for i in range(n):
        others = [a for a in range(n) if a != i]
        positives = [p for p in others if labels[p] == labels[i]]
        denom = _logsumexp([_cos(z[i], z[a]) / temperature for a in others])
        if positives:
            terms = [_cos(z[i], z[p]) / temperature - denom for p in positives]
            per.append(-sum(terms) / len(positives))
            valid.append(True)
        else:
            per.append(0.0)
            valid.append(False)
    if reduction == "mean":
        return float(sum(per) / max(sum(valid), 1))
    return _reduce(per, reduction)


def clip(img, txt, logit_scale, reduction="mean"):
    """CLIP (Radford et al. 2021, Fig. 3): cross-entropy of each image over the
    texts and of each text over the images, averaged; per pair, the two terms' mean."""
    n = len(img)
    per = []
    for i in range(n):
        row = [logit_scale * _cos(img[i], txt[j]) for j in range(n)]
        col = [logit_scale * _cos(img[j], txt[i]) for j in range(n)]
        per.append(((_logsumexp(row) - row[i]) + (_logsumexp(col) - col[i])) / 2)
    return _reduce(per, reduction)


def siglip(img, txt, logit_scale, logit_bias, reduction="mean"):
    """SigLIP (Zhai et al. 2023, Alg. 1): -log sigmoid(z_ij * l_ij) over all N^2
    pairs, z = +1 on the diagonal, -1 elsewhere; per image a row sum; mean divides by N."""
    n = len(img)
    per = []
    for i in range(n):
        total = 0.0
        for j in range(n):
            z = 1.0 if i == j else -1.0
            logit = logit_scale * _cos(img[i], txt[j]) + logit_bias
            total += math.log1p(math.exp(-z * logit))  # -log sigmoid(z * logit)
        per.append(total)
    return _reduce(per, reduction)


# --- metric learning ------------------------------------------------------------


def pnorm(x, y, p):
    return float(sum(abs(a - b) ** p for a, b in zip(_f64(x), _f64(y), strict=True)) ** (1.0 / p))


def triplet_margin(a, pos, neg, margin, p, reduction="mean"):
    """FaceNet eq. (1) with a p-norm distance."""
    a, pos, neg = _f64(a), _f64(pos), _f64(neg)
    flat = a.reshape(-1, a.shape[-1]), pos.reshape(-1, a.shape[-1]), neg.reshape(-1, a.shape[-1])
    per = [
        max(0.0, pnorm(x, y, p) - pnorm(x, z, p) + margin) for x, y, z in zip(*flat, strict=True)
    ]
    return _reduce(np.reshape(per, a.shape[:-1]), reduction)


def batch_triplet(z, labels, margin, mining, squared=False, reduction="mean"):
    """Batch-hard / batch-all (Hermans et al.) and semi-hard (FaceNet, TF-Addons rule)."""
    n = len(z)

    def d(i, j):
        dist = pnorm(z[i], z[j], 2)
        return dist * dist if squared else dist

    per_anchor, counts = [], []
    for a in range(n):
        positives = [p for p in range(n) if p != a and labels[p] == labels[a]]
        negatives = [m for m in range(n) if labels[m] != labels[a]]
        terms = []
        if positives and negatives:
            if mining == "hard":
                hp = max(d(a, p) for p in positives)
                hn = min(d(a, m) for m in negatives)
                terms = [max(0.0, hp - hn + margin)]
            elif mining == "semi-hard":
                for p in positives:
                    farther = [d(a, m) for m in negatives if d(a, m) > d(a, p)]
                    dn = min(farther) if farther else max(d(a, m) for m in negatives)
                    terms.append(max(0.0, d(a, p) - dn + margin))
            else:
                terms = [max(0.0, d(a, p) - d(a, m) + margin) for p in positives for m in negatives]
        per_anchor.append(sum(terms))
        counts.append(len(terms))
    if reduction == "none":
        return _f64(per_anchor)
    if reduction == "sum":
        return float(sum(per_anchor))
    return float(sum(per_anchor) / max(sum(counts), 1))


# --- similarity and redundancy reduction ----------------------------------------


def cosine_similarity_loss(x, y, reduction="mean"):
    x, y = _f64(x), _f64(y)
    flat = zip(x.reshape(-1, x.shape[-1]), y.reshape(-1, x.shape[-1]), strict=True)
    return _reduce(np.reshape([1.0 - _cos(a, b) for a, b in flat], x.shape[:-1]), reduction)


def byol_loss(p, z, reduction="mean"):
    """BYOL eq. (2): squared distance between the normalised vectors."""
    p, z = _f64(p), _f64(z)
    flat = zip(p.reshape(-1, p.shape[-1]), z.reshape(-1, p.shape[-1]), strict=True)
    per = [float(np.sum((_unit(a) - _unit(b)) ** 2)) for a, b in flat]
    return _reduce(np.reshape(per, p.shape[:-1]), reduction)


def barlow_twins(z1, z2, lambda_, eps):
    """Barlow Twins eqs. (1)-(2), standardised with the biased batch variance."""
    z1, z2 = _f64(z1), _f64(z2)
    n, d = z1.shape

    def standardise(z):
        out = np.empty_like(z)
        for j in range(d):
            col = [z[b, j] for b in range(n)]
            mu = sum(col) / n
            var = sum((c - mu) ** 2 for c in col) / n
            for b in range(n):
                out[b, j] = (z[b, j] - mu) / math.sqrt(var + eps)
        return out

    a, b = standardise(z1), standardise(z2)
    loss = 0.0
    for i in range(d):
        for j in range(d):
            c_ij = sum(a[k, i] * b[k, j] for k in range(n)) / n
            loss += (1.0 - c_ij) ** 2 if i == j else lambda_ * c_ij**2
    return loss


def vicreg(z1, z2, sim, var, cov, gamma=1.0, eps=1e-4):
    """VICReg with the released code's normalisation (see jaxssl.losses.vicreg)."""
    z1, z2 = _f64(z1), _f64(z2)
    n, d = z1.shape
    invariance = sum((z1[b, j] - z2[b, j]) ** 2 for b in range(n) for j in range(d)) / (n * d)

    def v_and_c(z):
        mu = [sum(z[b, j] for b in range(n)) / n for j in range(d)]
        c = [
            [
                sum((z[b, i] - mu[i]) * (z[b, j] - mu[j]) for b in range(n)) / (n - 1)
                for j in range(d)
            ]
            for i in range(d)
        ]
        v = sum(max(0.0, gamma - math.sqrt(c[j][j] + eps)) for j in range(d)) / d
        off = sum(c[i][j] ** 2 for i in range(d) for j in range(d) if i != j) / d
        return v, off

    v1, c1 = v_and_c(z1)
    v2, c2 = v_and_c(z2)
    return sim * invariance + var * (v1 + v2) / 2 + cov * (c1 + c2)


# --- generative -----------------------------------------------------------------


def _log_sigmoid(x):
    # log σ(x) = -log(1 + e^{-x}), written for both signs without overflow.
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def gan_discriminator(real, fake, kind, reduction="mean"):
    real, fake = _f64(real).ravel(), _f64(fake).ravel()
    if kind == "bce":  # -log σ(r) - log(1 - σ(f)),  log(1 - σ(f)) = log σ(-f)
        rt = [-_log_sigmoid(r) for r in real]
        ft = [-_log_sigmoid(-f) for f in fake]
    elif kind == "hinge":
        rt = [max(0.0, 1 - r) for r in real]
        ft = [max(0.0, 1 + f) for f in fake]
    else:
        rt = [0.5 * (r - 1) ** 2 for r in real]
        ft = [0.5 * f**2 for f in fake]
    if reduction == "none":
        return _f64(rt) + _f64(ft)
    return _reduce(rt, reduction) + _reduce(ft, reduction)


def gan_generator(fake, kind, reduction="mean"):
    fake = _f64(fake)
    if kind == "non_saturating":
        per = [-_log_sigmoid(f) for f in fake.ravel()]
    elif kind == "hinge":
        per = [-f for f in fake.ravel()]
    else:
        per = [0.5 * (f - 1) ** 2 for f in fake.ravel()]
    return _reduce(np.reshape(per, fake.shape), reduction)


def _bernoulli_nll(logit, t):
    return -(t * _log_sigmoid(logit) + (1 - t) * _log_sigmoid(-logit))


def reconstruction(recon, target, kind, feature_reduction="mean", reduction="mean"):
    recon, target = _f64(recon), _f64(target)
    per = []
    for x, t in zip(recon.reshape(len(recon), -1), target.reshape(len(target), -1), strict=True):
        if kind == "mse":
            terms = [(a - b) ** 2 for a, b in zip(x, t, strict=True)]
        else:
            terms = [_bernoulli_nll(a, b) for a, b in zip(x, t, strict=True)]
        per.append(sum(terms) if feature_reduction == "sum" else sum(terms) / len(terms))
    return _reduce(per, reduction)


def gaussian_kl(mean, logvar, reduction="mean"):
    """Kingma & Welling appendix B, per example over all latent dimensions."""
    mean, logvar = _f64(mean), _f64(logvar)
    per = []
    for mu, lv in zip(mean.reshape(len(mean), -1), logvar.reshape(len(mean), -1), strict=True):
        per.append(sum(0.5 * (m * m + math.exp(v) - 1 - v) for m, v in zip(mu, lv, strict=True)))
    return _reduce(per, reduction)


def vae_elbo(recon, target, mean, logvar, beta, kind, reduction="mean"):
    rec = reconstruction(recon, target, kind, "sum", "none")
    kl = gaussian_kl(mean, logvar, "none")
    return _reduce(rec + beta * kl, reduction)


# --- classification ---------------------------------------------------------------


def softmax_cross_entropy(logits, labels, label_smoothing=0.0, where=None, reduction="mean"):
    logits = _f64(logits)
    c = logits.shape[-1]
    rows = logits.reshape(-1, c)
    labels = np.asarray(labels)
    integer = np.issubdtype(labels.dtype, np.integer)
    targets = labels.reshape(-1) if integer else _f64(labels).reshape(-1, c)
    keep = np.ones(len(rows), bool) if where is None else np.asarray(where).reshape(-1)
    per = []
    for r, t, k in zip(rows, targets, keep, strict=True):
        if not k:
            per.append(0.0)
            continue
        lse = _logsumexp(list(r))
        dist = [1.0 if j == t else 0.0 for j in range(c)] if integer else list(t)
        dist = [(1 - label_smoothing) * p + label_smoothing / c for p in dist]
        per.append(-sum(p * (r[j] - lse) for j, p in enumerate(dist)))
    if reduction == "mean":
        return float(sum(per) / max(int(keep.sum()), 1))
    return _reduce(np.reshape(per, logits.shape[:-1]), reduction)


def sigmoid_bce(logits, targets, reduction="mean"):
    logits, targets = _f64(logits), _f64(targets)
    per = [_bernoulli_nll(x, t) for x, t in zip(logits.ravel(), targets.ravel(), strict=True)]
    return _reduce(np.reshape(per, logits.shape), reduction)
