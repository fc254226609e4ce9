"""One compiled kernel that trains many batches of a dense stack per call (numba, optional).

The same rules as the NumPy kernels (kernels.py, optim.py, dense.py), written as loops over
scalars so that a whole slice of training is one native call: no per-op dispatch at all. It is
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

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


@numba.njit(cache=True, nogil=True)
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


@numba.njit(cache=True, nogil=True)
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


@numba.njit(cache=True, nogil=True)
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
    max_b = 0
    for k in range(first, first + count):
        max_b = max(max_b, bounds[k + 1] - bounds[k])
    z_buf = np.empty((max_b, width), np.float32)
    a_buf = np.empty((max_b, width), np.float32)
    g_buf = np.empty((max_b, width), np.float32)
    lr, wd, momentum, beta1, beta2, eps, alpha, l1 = (
        hyper[0], hyper[1], hyper[2], hyper[3], hyper[4], hyper[5], hyper[6], hyper[7],
    )  # fmt: skip
    top = layout[n_layers - 1, 5]
    abs_err = 0.0
    n_params = data.shape[0]
    for k in range(count):
        lo = bounds[first + k]
        b = bounds[first + k + 1] - lo
        # forward: z = a_in W^T + b, a = f(z), per sample
        for r in range(b):
            row = perm[lo + r]
            for li in range(n_layers):
                nin, nout, woff, boff, act, uoff, uin = layout[li]
                for o in range(nout):
                    s = np.float32(0.0) if boff < 0 else data[boff + o]
                    w0 = woff + o * nin
                    if uin < 0:
                        for i in range(nin):
                            s += data[w0 + i] * x[row, i]
                    else:
                        for i in range(nin):
                            s += data[w0 + i] * a_buf[r, uin + i]
                    z_buf[r, uoff + o] = s
                    a_buf[r, uoff + o] = _act(act, s)
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
            if uin >= 0:
                for r in range(b):
                    for i in range(nin):
                        g_buf[r, uin + i] = 0.0
            for r in range(b):
                row = perm[lo + r]
                for o in range(nout):
                    dz = g_buf[r, uoff + o] * _act_grad(act, z_buf[r, uoff + o], a_buf[r, uoff + o])
                    if boff >= 0:
                        grad[boff + o] += dz
                    w0 = woff + o * nin
                    if uin < 0:
                        for i in range(nin):
                            grad[w0 + i] += dz * x[row, i]
                    else:
                        for i in range(nin):
                            grad[w0 + i] += dz * a_buf[r, uin + i]
                            g_buf[r, uin + i] += dz * data[w0 + i]
        if l1 > 0:
            for j in range(n_weights):
                w = data[j]
                grad[j] += l1 * (1.0 if w > 0 else (-1.0 if w < 0 else 0.0))
        # the optimiser step (torch.optim's rules; L2 on the weights [:n_weights] only)
        step += 1
        if opt == 1 or opt == 2:
            bc1 = 1.0 - beta1**step
            bc2_sqrt = math.sqrt(1.0 - beta2**step)
            step_size = lr / bc1
        for j in range(n_params):
            g = grad[j]
            decay = wd if j < n_weights else 0.0
            if opt == 2:
                data[j] = data[j] * (1.0 - lr * decay)
            elif decay != 0.0:
                g = g + decay * data[j]
            if opt == 0:
                if momentum != 0.0:
                    s1[j] = momentum * s1[j] + g
                    g = s1[j]
                data[j] = data[j] - lr * g
            elif opt == 3:
                s1[j] = alpha * s1[j] + (1.0 - alpha) * g * g
                q = g / (math.sqrt(s1[j]) + eps)
                if momentum > 0.0:
                    s2[j] = momentum * s2[j] + q
                    q = s2[j]
                data[j] = data[j] - lr * q
            else:
                s1[j] = s1[j] + (1.0 - beta1) * (g - s1[j])
                s2[j] = beta2 * s2[j] + (1.0 - beta2) * g * g
                denom = math.sqrt(s2[j]) / bc2_sqrt + eps
                data[j] = data[j] - step_size * s1[j] / denom
    return count, 0, step, abs_err
