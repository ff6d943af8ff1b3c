"""A small NumPy network library with hand-written gradients.

Layers (``forward(x, train=False)``, ``backward(dy) -> dx``, ``params()``):

``Dense(n_in, n_out, rng)``
    ``y = x @ W.T + b``, weights ``(n_out, n_in)`` (He init).
``Conv2D(in_ch, out_ch, kernel, rng, stride=1, padding=0)``
    NCHW convolution through im2col; weights ``(out_ch, in_ch, kh, kw)``.
``ReLU()``, ``Flatten()``, ``MaxPool2D(size)``, ``AvgPool2D(size)``
    (pooling windows non-overlapping, stride = size).
``Sequential(*layers)``
    Chains layers; ``forward``, ``backward``, ``params()``, ``predict``, ``accuracy``.

Loss and optimizers:

``softmax_cross_entropy(logits, labels) -> (loss, dlogits)``
    Mean over the batch, numerically stable.
``SGD(lr, momentum)``, ``Adam(lr, beta1, beta2, eps)``
    ``step(params, lr=None)`` updates the trainable :class:`Param` objects in place.

``im2col`` / ``col2im`` are public so the BasisN convolution reuses them. Everything is
float64 and deterministic given the ``numpy.random.Generator`` passed in. Values are
dimensionless (network activations).
"""

from __future__ import annotations

import numpy as np

from devices.errors import ParameterError

from ._checks import check_int, check_positive

__all__ = [
    "Param", "Layer", "Dense", "Conv2D", "ReLU", "Flatten", "MaxPool2D", "AvgPool2D",
    "Sequential", "softmax_cross_entropy", "SGD", "Adam", "im2col", "col2im",
]


class Param:
    """A trainable array with its gradient.

    Attributes
    ----------
    value : ndarray
        The parameter.
    grad : ndarray
        Gradient of the loss with respect to ``value`` (same shape), accumulated by
        ``backward`` and cleared by :meth:`zero_grad`.
    name : str
        For messages and optimizer state.
    trainable : bool
        Optimizers skip parameters with ``trainable = False`` (Algorithm 1 toggles it).
    """

    def __init__(self, value, name: str, trainable: bool = True):
        self.value = np.asarray(value, dtype=float)
        self.grad = np.zeros_like(self.value)
        self.name = name
        self.trainable = trainable

    def zero_grad(self) -> None:
        self.grad[...] = 0.0

    def __repr__(self) -> str:
        return f"Param({self.name!r}, shape={self.value.shape}, trainable={self.trainable})"


class Layer:
    """Base class: identity with no parameters."""

    def forward(self, x, train: bool = False):
        return x

    def backward(self, dy):
        return dy

    def params(self) -> list[Param]:
        return []


def _check_input(x, n_features: int, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != n_features:
        raise ParameterError(f"{name}: input must have shape (batch, {n_features}), got {x.shape}")
    return x


class Dense(Layer):
    """Fully connected layer ``y = x @ W.T + b``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output features (>= 1).
    rng : numpy.random.Generator
        Source of the He-normal initial weights (biases start at 0).
    """

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator):
        self.n_in = check_int(n_in, "n_in", 1)
        self.n_out = check_int(n_out, "n_out", 1)
        self.W = Param(rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in)), "W")
        self.b = Param(np.zeros(n_out), "b")

    def forward(self, x, train=False):
        x = _check_input(x, self.n_in, "Dense")
        self._x = x
        return x @ self.W.value.T + self.b.value

    def backward(self, dy):
        self.W.grad += dy.T @ self._x
        self.b.grad += dy.sum(axis=0)
        return dy @ self.W.value

    def params(self):
        return [self.W, self.b]


def _pair(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ParameterError(f"{name} must be an int or a pair, got {v!r}")
        return check_int(v[0], name, 1), check_int(v[1], name, 1)
    v = check_int(v, name, 1)
    return v, v


def im2col(x, kh: int, kw: int, stride: int = 1, padding: int = 0):
    """Unfold NCHW images into patch rows.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kh, kw : int
        Kernel height and width.
    stride, padding : int
        Same stride in both directions; zero padding on all sides.

    Returns
    -------
    cols : ndarray, shape (N * Ho * Wo, C * kh * kw)
        Row ``(n, i, j)`` holds the patch at output pixel ``(i, j)`` of image ``n``,
        flattened in ``(c, u, v)`` order (matching ``W.reshape(out_ch, -1)``).
    out_hw : tuple of int
        ``(Ho, Wo)``.
    """
    N, C, H, W = x.shape
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Hp, Wp = x.shape[2], x.shape[3]
    if Hp < kh or Wp < kw:
        raise ParameterError(f"kernel ({kh}, {kw}) is larger than the padded input ({Hp}, {Wp})")
    Ho, Wo = (Hp - kh) // stride + 1, (Wp - kw) // stride + 1
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride][:, :, :Ho, :Wo]  # (N, C, Ho, Wo, kh, kw)
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * kh * kw)
    return np.ascontiguousarray(cols), (Ho, Wo)


def col2im(dcols, x_shape, kh: int, kw: int, stride: int = 1, padding: int = 0):
    """Adjoint of :func:`im2col`: scatter-add patch gradients back to NCHW."""
    N, C, H, W = x_shape
    Hp, Wp = H + 2 * padding, W + 2 * padding
    Ho, Wo = (Hp - kh) // stride + 1, (Wp - kw) // stride + 1
    d = dcols.reshape(N, Ho, Wo, C, kh, kw)
    dx = np.zeros((N, C, Hp, Wp))
    for u in range(kh):
        for v in range(kw):
            dx[:, :, u:u + stride * Ho:stride, v:v + stride * Wo:stride] += d[:, :, :, :, u, v].transpose(0, 3, 1, 2)
    if padding:
        dx = dx[:, :, padding:-padding, padding:-padding]
    return dx


class Conv2D(Layer):
    """2-D convolution (cross-correlation) on NCHW input through im2col.

    Parameters
    ----------
    in_ch, out_ch : int
        Channels.
    kernel : int or (int, int)
        Kernel height and width.
    rng : numpy.random.Generator
        He-normal initial weights.
    stride, padding : int
    """

    def __init__(self, in_ch, out_ch, kernel, rng, stride=1, padding=0):
        self.in_ch = check_int(in_ch, "in_ch", 1)
        self.out_ch = check_int(out_ch, "out_ch", 1)
        self.kh, self.kw = _pair(kernel, "kernel")
        self.stride = check_int(stride, "stride", 1)
        self.padding = check_int(padding, "padding", 0)
        fan_in = in_ch * self.kh * self.kw
        self.W = Param(rng.normal(0.0, np.sqrt(2.0 / fan_in), (out_ch, in_ch, self.kh, self.kw)), "W")
        self.b = Param(np.zeros(out_ch), "b")

    def _cols(self, x):
        x = np.asarray(x, dtype=float)
        if x.ndim != 4 or x.shape[1] != self.in_ch:
            raise ParameterError(f"Conv2D: input must have shape (N, {self.in_ch}, H, W), got {x.shape}")
        self._x_shape = x.shape
        return im2col(x, self.kh, self.kw, self.stride, self.padding)

    def _to_nchw(self, y, N, out_hw):
        return y.reshape(N, out_hw[0], out_hw[1], -1).transpose(0, 3, 1, 2)

    def forward(self, x, train=False):
        cols, out_hw = self._cols(x)
        self._cols_cache, self._out_hw = cols, out_hw
        y = cols @ self.W.value.reshape(self.out_ch, -1).T + self.b.value
        return self._to_nchw(y, x.shape[0], out_hw)

    def _dy_rows(self, dy):
        return dy.transpose(0, 2, 3, 1).reshape(-1, self.out_ch)

    def backward(self, dy):
        dy = self._dy_rows(dy)
        self.W.grad += (dy.T @ self._cols_cache).reshape(self.W.value.shape)
        self.b.grad += dy.sum(axis=0)
        dcols = dy @ self.W.value.reshape(self.out_ch, -1)
        return col2im(dcols, self._x_shape, self.kh, self.kw, self.stride, self.padding)

    def params(self):
        return [self.W, self.b]


class ReLU(Layer):
    """``max(x, 0)``."""

    def forward(self, x, train=False):
        self._mask = x > 0
        return np.where(self._mask, x, 0.0)

    def backward(self, dy):
        return dy * self._mask


class Flatten(Layer):
    """``(N, ...) -> (N, prod(...))``."""

    def forward(self, x, train=False):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self._shape)


class _Pool2D(Layer):
    def __init__(self, size):
        self.ph, self.pw = _pair(size, "size")

    def _windows(self, x):
        N, C, H, W = x.shape
        Ho, Wo = H // self.ph, W // self.pw
        if Ho == 0 or Wo == 0:
            raise ParameterError(f"pool size ({self.ph}, {self.pw}) is larger than the input ({H}, {W})")
        self._shape = x.shape
        xc = x[:, :, :Ho * self.ph, :Wo * self.pw]
        return xc.reshape(N, C, Ho, self.ph, Wo, self.pw)

    def _scatter(self, g):
        N, C, H, W = self._shape
        dx = np.zeros(self._shape)
        Ho, Wo = H // self.ph, W // self.pw
        dx[:, :, :Ho * self.ph, :Wo * self.pw] = g.reshape(N, C, Ho * self.ph, Wo * self.pw)
        return dx


class MaxPool2D(_Pool2D):
    """Non-overlapping max pooling (stride = size; leftover rows/columns dropped).

    Ties send the gradient to every maximal entry of the window (measure-zero for real data).
    """

    def forward(self, x, train=False):
        w = self._windows(x)
        y = w.max(axis=(3, 5))
        self._mask = w == y[:, :, :, None, :, None]
        return y

    def backward(self, dy):
        return self._scatter(self._mask * dy[:, :, :, None, :, None])


class AvgPool2D(_Pool2D):
    """Non-overlapping average pooling (stride = size)."""

    def forward(self, x, train=False):
        return self._windows(x).mean(axis=(3, 5))

    def backward(self, dy):
        g = np.broadcast_to(dy[:, :, :, None, :, None] / (self.ph * self.pw),
                            dy.shape[:3] + (self.ph,) + dy.shape[3:] + (self.pw,))
        return self._scatter(g)


class Sequential(Layer):
    """A chain of layers.

    ``forward(x, train=False, crossbar=None)``: when ``crossbar`` is given, layers with
    ``accepts_crossbar = True`` (the BasisN layers) compute their products through it
    (the hardware hook, see :mod:`basisn.hardware`); other layers ignore it.
    """

    def __init__(self, *layers: Layer):
        self.layers = list(layers)

    def forward(self, x, train=False, crossbar=None):
        for layer in self.layers:
            if crossbar is not None and getattr(layer, "accepts_crossbar", False):
                x = layer.forward(x, train=train, crossbar=crossbar)
            else:
                x = layer.forward(x, train=train)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def params(self) -> list[Param]:
        seen, out = set(), []
        for layer in self.layers:
            for p in layer.params():
                if id(p) not in seen:  # a shared parameter (the global basis) appears once
                    seen.add(id(p))
                    out.append(p)
        return out

    def zero_grad(self) -> None:
        for p in self.params():
            p.zero_grad()

    def predict(self, x, batch_size: int = 1024, crossbar=None) -> np.ndarray:
        """Class indices (argmax of the logits), evaluated in batches."""
        out = [np.argmax(self.forward(x[i:i + batch_size], train=False, crossbar=crossbar), axis=1)
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out)

    def accuracy(self, x, y, crossbar=None) -> float:
        """Fraction of correctly classified samples (0-1)."""
        return float(np.mean(self.predict(x, crossbar=crossbar) == np.asarray(y)))


def softmax_cross_entropy(logits, labels):
    """Mean softmax cross-entropy and its gradient.

    Parameters
    ----------
    logits : ndarray, shape (N, classes)
    labels : ndarray of int, shape (N,)
        Class indices in ``[0, classes)``.

    Returns
    -------
    loss : float
        Mean over the batch (nats).
    dlogits : ndarray, shape (N, classes)
        Gradient of ``loss`` with respect to ``logits``.
    """
    logits = np.asarray(logits, dtype=float)
    labels = np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ParameterError(f"logits {logits.shape} and labels {labels.shape} do not match; need (N, C) and (N,)")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ParameterError(f"labels span [{labels.min()}, {labels.max()}], allowed [0, {logits.shape[1] - 1}]")
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = logits.shape[0]
    loss = -logp[np.arange(n), labels].mean()
    d = np.exp(logp)
    d[np.arange(n), labels] -= 1.0
    return float(loss), d / n


class SGD:
    """SGD with (heavy-ball) momentum: ``v = momentum * v + g; p -= lr * v``.

    Parameters
    ----------
    lr : float
        Learning rate (> 0).
    momentum : float
        In ``[0, 1)``.
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.9):
        self.lr = check_positive(lr, "lr")
        if not 0.0 <= momentum < 1.0:
            raise ParameterError(f"momentum = {momentum!r} is outside the allowed range [0, 1)")
        self.momentum = float(momentum)
        self._v: dict[int, np.ndarray] = {}

    def step(self, params, lr: float | None = None) -> None:
        lr = self.lr if lr is None else lr
        for p in params:
            if not p.trainable:
                continue
            v = self._v.setdefault(id(p), np.zeros_like(p.value))
            v *= self.momentum
            v += p.grad
            p.value -= lr * v


class Adam:
    """Adam (Kingma & Ba) with bias correction; one step counter per parameter.

    Parameters
    ----------
    lr : float
        Learning rate (> 0).
    beta1, beta2 : float
        Moment decay rates in ``[0, 1)``.
    eps : float
        Denominator guard (> 0).
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr = check_positive(lr, "lr")
        for name, b in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= b < 1.0:
                raise ParameterError(f"{name} = {b!r} is outside the allowed range [0, 1)")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), check_positive(eps, "eps")
        self._state: dict[int, list] = {}

    def step(self, params, lr: float | None = None) -> None:
        lr = self.lr if lr is None else lr
        for p in params:
            if not p.trainable:
                continue
            st = self._state.setdefault(id(p), [np.zeros_like(p.value), np.zeros_like(p.value), 0])
            m, v = st[0], st[1]
            st[2] += 1
            t = st[2]
            m *= self.beta1
            m += (1 - self.beta1) * p.grad
            v *= self.beta2
            v += (1 - self.beta2) * p.grad**2
            mhat = m / (1 - self.beta1**t)
            vhat = v / (1 - self.beta2**t)
            p.value -= lr * mhat / (np.sqrt(vhat) + self.eps)
