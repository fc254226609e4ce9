"""One compiled kernel that trains many batches of a dense stack per call (numba, optional).

The same rules as the NumPy kernels (kernels.py, optim.py, dense.py), written as loops so that
a whole slice of training is one native call: no per-op dispatch at all. The loops are written
for LLVM to run in SIMD lanes: each indexes a view from 0 (numba wraps an index that may be
negative, and that branch stops vectorisation), division follows NumPy's error model (Python's
raises on zero: a branch per division), sums may be reordered, and tanh is a rational function
instead of a libm call. A spiral-starter epoch (25 batches, 1.2k parameters, Adam) went from
1.01 to 0.20 ms (bench/kernel.py). It is
compiled once per machine (numba's disk cache under `<cache_dir>/numba`) in a background thread
(`warm`), while runs train on the NumPy path; each run switches at its next epoch once the
kernel is loaded. Without numba installed (`pip install layerlab[fast]`) this module is never
imported and the NumPy path is used.

Layout, one row per linear layer l: [in, out, weight offset, bias offset (-1: none),
activation code, offset of its outputs in the activation buffers, offset of its inputs there
(-1: the batch itself)].
"""

from __future__ import annotations

import math

import numba
import numpy as np

# Codes: fused_codes.py. hyper: [lr, weight_decay, momentum, beta1, beta2, eps, alpha, l1]

# Sums may be reordered (SIMD lanes) and multiply-adds fused; nothing is assumed finite:
# the divergence check reads the NaN and inf a diverging run produces.
_FAST = {"reassoc", "contract"}

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _act(code, z):
    if code == 1:
        return z if z > 0 else 0.0
    if code == 2:
        return z if z > 0 else z * np.float32(0.01)
    if code == 3:
        return z if z > 0 else math.expm1(z)
    if code == 4:
        return 0.5 * z * (1.0 + math.erf(z * _INV_SQRT2))
    if code == 5:
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
    if code == 6:
        return math.tanh(z)
    return z


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _act_grad(code, z, a):
    """d a / d z at pre-activation z with output a (PyTorch's rule at z = 0)."""
    if code == 1:
        return 1.0 if z > 0 else 0.0
    if code == 2:
        return 1.0 if z > 0 else 0.01
    if code == 3:
        return 1.0 if z > 0 else math.exp(z)
    if code == 4:
        return 0.5 * (1.0 + math.erf(z * _INV_SQRT2)) + z * _INV_SQRT2PI * math.exp(-0.5 * z * z)
    if code == 5:
        return a * (1.0 - a)
    if code == 6:
        return 1.0 - a * a
    return 1.0


# tanh(z) = z P(z^2) / Q(z^2) for |z| <= 9 (beyond, float32's tanh is +-1): a rational fit
# made for this kernel (minimax-weighted least squares against float64 tanh, relative error
# 2e-8 in float64; 6 ulp at most evaluated in float32), so that a layer's tanh runs in SIMD
# lanes like its sums instead of one libm call per value (a third of a spiral epoch).
_TANH_P = (0.99999997960203824, 0.13381041839734276, 3.4956061422327786e-03,
           2.0609327407800777e-05, 1.3354907295496921e-08)  # fmt: skip
_TANH_Q = (1.0, 0.46714357472732104, 2.5877053957703764e-02, 3.2856620689492271e-04,
           7.7766784614805746e-07)  # fmt: skip
_P0, _P1, _P2, _P3, _P4 = (np.float32(c) for c in _TANH_P)
_Q1, _Q2, _Q3, _Q4 = (np.float32(c) for c in _TANH_Q[1:])
_TANH_EDGE = np.float32(9.0)


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST, inline="always")
def _tanh(z):
    # comparisons are false for NaN, which stays NaN (the divergence check reads it)
    c = _TANH_EDGE if z > _TANH_EDGE else z
    c = -_TANH_EDGE if c < -_TANH_EDGE else c
    s = c * c
    p = (((_P4 * s + _P3) * s + _P2) * s + _P1) * s + _P0
    q = (((_Q4 * s + _Q3) * s + _Q2) * s + _Q1) * s + np.float32(1.0)
    t = c * p / q
    t = np.float32(1.0) if t > np.float32(1.0) or z > _TANH_EDGE else t
    return np.float32(-1.0) if t < np.float32(-1.0) or z < -_TANH_EDGE else t


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST, inline="always")
def _activate(code, z, a, n):
    """a[:n] = f(z[:n]): one loop per code, so that the common ones run in SIMD lanes."""
    if code == 6:
        for o in range(n):
            a[o] = _tanh(z[o])
    elif code == 1:
        for o in range(n):
            a[o] = z[o] if z[o] > 0 else np.float32(0.0)
    elif code == 0:
        for o in range(n):
            a[o] = z[o]
    else:
        for o in range(n):
            a[o] = _act(code, z[o])


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST, inline="always")
def _deltas(code, g, z, a, dz, n):
    """dz[:n] = g[:n] f'(z[:n]) (the outputs a for sigmoid and tanh), per code as _activate."""
    if code == 6:
        for o in range(n):
            dz[o] = g[o] * (np.float32(1.0) - a[o] * a[o])
    elif code == 1:
        for o in range(n):
            dz[o] = g[o] if z[o] > 0 else np.float32(0.0)
    elif code == 0:
        for o in range(n):
            dz[o] = g[o]
    else:
        for o in range(n):
            dz[o] = np.float32(g[o] * _act_grad(code, z[o], a[o]))


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST, inline="always")
def _adam_span(data, grad, m, v, decay, one_b1, b2, one_b2, step_size, bc2, eps):
    """Adam on a span: m.lerp_(g, 1 - b1); v = b2 v + (1 - b2) g^2; p -= step m / denom."""
    for j in range(data.shape[0]):
        g = grad[j]
        if decay != 0.0:
            g += decay * data[j]
        mj = m[j] + one_b1 * (g - m[j])
        vj = b2 * v[j] + one_b2 * (g * g)
        m[j] = mj
        v[j] = vj
        data[j] -= step_size * (mj / (np.sqrt(vj) / bc2 + eps))


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST, inline="always")
def _adam_step(data, grad, m, v, n_weights, decay, keep, one_b1, b2, one_b2, step_size, bc2, eps):
    """One run's Adam step over its flat buffers (weights [:n_weights] first): `decay` coupled
    L2 on the weights (Adam), `keep` = 1 - lr * weight_decay multiplying them first (AdamW;
    else 1); the biases without either."""
    w = data[:n_weights]
    if keep != 1.0:
        for j in range(n_weights):
            w[j] *= keep
    _adam_span(w, grad[:n_weights], m[:n_weights], v[:n_weights], decay, one_b1, b2, one_b2,
               step_size, bc2, eps)  # fmt: skip
    _adam_span(data[n_weights:], grad[n_weights:], m[n_weights:], v[n_weights:],
               np.float32(0.0), one_b1, b2, one_b2, step_size, bc2, eps)  # fmt: skip


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def adam_rows(data, grad, m, v, n_weights, decay, keep, one_b1, b2, one_b2, step_size, bc2, eps):
    """`_adam_step` on each row of (R, P) arenas (engine/fastpath/stacked.py: one run per row),
    its hyper-parameters (R,) float32, one per run: one pass per row instead of NumPy's eleven
    over the whole arena."""
    for r in range(data.shape[0]):
        _adam_step(data[r], grad[r], m[r], v[r], n_weights, decay[r], keep[r], one_b1[r], b2[r],
                   one_b2[r], step_size[r], bc2[r], eps[r])  # fmt: skip


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST, inline="always")
def _sgd_span(data, grad, buf, decay, lr, momentum):
    for j in range(data.shape[0]):
        g = grad[j]
        if decay != 0.0:
            g += decay * data[j]
        if momentum != 0.0:
            g = momentum * buf[j] + g
            buf[j] = g
        data[j] -= lr * g


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST, inline="always")
def _rmsprop_span(data, grad, sq, buf, decay, lr, alpha, one_alpha, eps, momentum):
    for j in range(data.shape[0]):
        g = grad[j]
        if decay != 0.0:
            g += decay * data[j]
        sj = alpha * sq[j] + one_alpha * (g * g)
        sq[j] = sj
        q = g / (np.sqrt(sj) + eps)
        if momentum > 0.0:
            q = momentum * buf[j] + q
            buf[j] = q
        data[j] -= lr * q


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST, inline="always")
def _forward(layout, data, x_rows, z_buf, a_buf, b):
    """The stack on rows x_rows[:b], layer by layer: z = a_in W^T + b, a = f(z), into
    z_buf[:b] and a_buf[:b] (each layer at its offset). Loops index views from 0: a numba index
    that may be negative is wrapped, and that keeps LLVM from vectorising."""
    for li in range(layout.shape[0]):
        nin, nout, woff, boff, act, uoff, uin = layout[li]
        for r in range(b):
            a_in = x_rows[r] if uin < 0 else a_buf[r, uin : uin + nin]
            z = z_buf[r, uoff : uoff + nout]
            for o in range(nout):
                w = data[woff + o * nin : woff + (o + 1) * nin]
                acc = np.float32(0.0)
                for i in range(nin):
                    acc += w[i] * a_in[i]
                z[o] = acc
            if boff >= 0:
                bias = data[boff : boff + nout]
                for o in range(nout):
                    z[o] += bias[o]
            _activate(act, z, a_buf[r, uoff : uoff + nout], nout)


# Rows per forward call of `predict`: its buffers stay in the L1 cache.
PREDICT_ROWS = 64


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def predict(x, layout, data, out):
    """out (N, D) = the stack's raw outputs on x (N, F): what the model returns in eval mode
    (a covered stack has no dropout or batch norm), for the validation records."""
    n_layers = layout.shape[0]
    width = layout[n_layers - 1, 5] + layout[n_layers - 1, 1]
    top, d_out = layout[n_layers - 1, 5], layout[n_layers - 1, 1]
    z_buf = np.empty((PREDICT_ROWS, width), np.float32)
    a_buf = np.empty((PREDICT_ROWS, width), np.float32)
    for lo in range(0, x.shape[0], PREDICT_ROWS):
        b = min(PREDICT_ROWS, x.shape[0] - lo)
        _forward(layout, data, x[lo : lo + b], z_buf, a_buf, b)
        for r in range(b):
            for o in range(d_out):
                out[lo + r, o] = a_buf[r, top + o]


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def train_batches(
    x, y_cls, y_reg, perm, bounds, first, count, layout, data, grad, s1, s2, n_weights,
    opt, loss_code, hyper, step, outs, losses,
):  # fmt: skip
    """Train batches first .. first+count-1 (stopping before the update of a batch whose loss
    is not finite). -> (batches done, 1 if it stopped on a non-finite loss else 0, optimiser
    step count, sum of the batches' per-sample mean absolute errors (regression)).
    losses[k] = (loss, loss + L1 term) of batch first+k; outs rows get the batch outputs."""
    n_layers = layout.shape[0]
    width = layout[n_layers - 1, 5] + layout[n_layers - 1, 1]
    d_out = layout[n_layers - 1, 1]
    n_in = layout[0, 0]
    max_b = 0
    for k in range(first, first + count):
        max_b = max(max_b, bounds[k + 1] - bounds[k])
    x_buf = np.empty((max_b, n_in), np.float32)  # the batch's inputs, contiguous
    z_buf = np.empty((max_b, width), np.float32)
    a_buf = np.empty((max_b, width), np.float32)
    g_buf = np.empty((max_b, width), np.float32)
    d_buf = np.empty((max_b, layout[:, 1].max()), np.float32)  # a layer's dz
    lr, wd, momentum, beta1, beta2, eps, alpha, l1 = (
        hyper[0], hyper[1], hyper[2], hyper[3], hyper[4], hyper[5], hyper[6], hyper[7],
    )  # fmt: skip
    # the element rules in float32, as the NumPy path's (optim.py)
    lr32, wd32, mom32, eps32 = np.float32(lr), np.float32(wd), np.float32(momentum), np.float32(eps)
    one_b1, one_b2, b2_32 = np.float32(1.0 - beta1), np.float32(1.0 - beta2), np.float32(beta2)
    alpha32, one_alpha = np.float32(alpha), np.float32(1.0 - alpha)
    keep = np.float32(1.0 - lr * wd)  # AdamW's decoupled decay
    top = layout[n_layers - 1, 5]
    abs_err = 0.0
    n_params = data.shape[0]
    for k in range(count):
        lo = bounds[first + k]
        b = bounds[first + k + 1] - lo
        for r in range(b):
            row = perm[lo + r]
            for i in range(n_in):
                x_buf[r, i] = x[row, i]
        _forward(layout, data, x_buf, z_buf, a_buf, b)
        # loss and dL/d(output) into g_buf[:, top:top+d_out]
        total = 0.0
        if loss_code == 0:
            for r in range(b):
                m = -np.inf
                for o in range(d_out):
                    m = max(m, a_buf[r, top + o])
                se = 0.0
                for o in range(d_out):
                    se += math.exp(a_buf[r, top + o] - m)
                lse = m + math.log(se)
                t = y_cls[perm[lo + r]]
                total += lse - a_buf[r, top + t]
                for o in range(d_out):
                    p = math.exp(a_buf[r, top + o] - lse)
                    g_buf[r, top + o] = (p - (1.0 if o == t else 0.0)) / b
            value = total / b
        else:
            scale = 1.0 / (b * d_out)
            for r in range(b):
                row = perm[lo + r]
                for o in range(d_out):
                    out = a_buf[r, top + o]
                    d = out - y_reg[row, o]
                    if loss_code == 1:
                        total += d * d
                        g = 2.0 * d
                    elif loss_code == 2:
                        total += abs(d)
                        g = 1.0 if d > 0 else (-1.0 if d < 0 else 0.0)
                    elif loss_code == 3:
                        total += 0.5 * d * d if abs(d) < 1.0 else abs(d) - 0.5
                        g = min(1.0, max(-1.0, d))
                    else:
                        total += (
                            max(out, 0.0) - out * y_reg[row, o] + math.log1p(math.exp(-abs(out)))
                        )
                        g = _act(5, out) - y_reg[row, o]
                    g_buf[r, top + o] = g * scale
            value = total * scale
        value = np.float32(value)  # as the float32 loss eager computes (and checks)
        full = value
        if l1 > 0:
            s_abs = 0.0
            for j in range(n_weights):
                s_abs += abs(data[j])
            full = np.float32(value + l1 * s_abs)
        losses[k, 0] = value
        losses[k, 1] = full
        if not (math.isfinite(value) and math.isfinite(full)):
            return k, 1, step, abs_err
        # the training metric, from the outputs before this batch's update
        for r in range(b):
            row = perm[lo + r]
            if loss_code == 0:
                for o in range(d_out):
                    outs[lo + r, o] = a_buf[r, top + o]
            else:
                e = 0.0
                for o in range(d_out):
                    p = a_buf[r, top + o]
                    if loss_code == 4:
                        p = _act(5, p)
                    e += abs(np.float32(p) - y_reg[row, o])
                abs_err += e / d_out
        # backward: dz = g f'(z); dW += dz a_in^T; db += dz; g_in = W^T dz
        grad[:] = 0.0
        for li in range(n_layers - 1, -1, -1):
            nin, nout, woff, boff, act, uoff, uin = layout[li]
            for r in range(b):
                dz = d_buf[r, :nout]
                _deltas(act, g_buf[r, uoff : uoff + nout], z_buf[r, uoff : uoff + nout],
                        a_buf[r, uoff : uoff + nout], dz, nout)  # fmt: skip
                if boff >= 0:
                    gb = grad[boff : boff + nout]
                    for o in range(nout):
                        gb[o] += dz[o]
                a_in = x_buf[r] if uin < 0 else a_buf[r, uin : uin + nin]
                g_in = g_buf[r, uin : uin + nin] if uin >= 0 else x_buf[r]  # unused for uin < 0
                if uin >= 0:
                    for i in range(nin):
                        g_in[i] = 0.0
                for o in range(nout):
                    d = dz[o]
                    gw = grad[woff + o * nin : woff + (o + 1) * nin]
                    for i in range(nin):
                        gw[i] += d * a_in[i]
                    if uin >= 0:
                        w = data[woff + o * nin : woff + (o + 1) * nin]
                        for i in range(nin):
                            g_in[i] += d * w[i]
        if l1 > 0:
            l1_32 = np.float32(l1)
            for j in range(n_weights):
                w = data[j]
                grad[j] += l1_32 * (1.0 if w > 0 else (-1.0 if w < 0 else 0.0))
        # the optimiser step (torch.optim's rules; L2 on the weights [:n_weights] only, never
        # written into the gradients): the weights' span, then the biases' without decay
        step += 1
        decay = wd32 if opt != 2 else np.float32(0.0)  # AdamW decays the weights directly
        if opt == 1 or opt == 2:
            bc2 = np.float32(math.sqrt(1.0 - beta2**step))
            step_size = np.float32(lr / (1.0 - beta1**step))
            _adam_step(data, grad, s1, s2, n_weights, decay, keep if opt == 2 else np.float32(1.0),
                       one_b1, b2_32, one_b2, step_size, bc2, eps32)  # fmt: skip
        elif opt == 0:
            for lo_j, hi_j, d in ((0, n_weights, decay), (n_weights, n_params, np.float32(0.0))):
                _sgd_span(data[lo_j:hi_j], grad[lo_j:hi_j], s1[lo_j:hi_j], d, lr32, mom32)
        else:
            for lo_j, hi_j, d in ((0, n_weights, decay), (n_weights, n_params, np.float32(0.0))):
                _rmsprop_span(
                    data[lo_j:hi_j],
                    grad[lo_j:hi_j],
                    s1[lo_j:hi_j],
                    s2[lo_j:hi_j],
                    d,
                    lr32,
                    alpha32,
                    one_alpha,
                    eps32,
                    mom32,
                )
    return count, 0, step, abs_err
