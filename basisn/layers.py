"""BasisN layers: one global basis, per-piece b-bit coefficients, bit-serial inference.

``BasisConfig(d, coeff_bits, cell_bits=None)``
    Frozen settings of a BasisN network.
``GlobalBasis(d, rng, cell_bits=None)``
    The one ``(d, d)`` basis ``B`` (rows ``b_l``, orthogonal init) shared by every layer;
    ``effective()`` is what the cells store (``cell_bits``-level quantized if set).
``BasisCore``
    The product of a ``(kernels, fan_in)`` weight matrix with input rows, the weights
    being pieces ``k_ij = C_ij . B`` with quantized ``C``. Training path: dense product
    with ``W_q``; inference path with a crossbar model: bit plane by bit plane.
``BasisDense``, ``BasisConv2D``
    Layers built on a core (the convolution unfolds its input with im2col).
``BasisNetwork``
    A :class:`basisn.nn.Sequential` that knows its basis and cores.
``basis_from_float(float_net, cfg, rng)``
    Fine-tuning initialisation (paper 3.4): ``C = W_piece @ inv(B)``, quantized in the
    forward pass.

Coefficient quantization (paper 3.2): codes ``q = clip(round(C / s), -2**(b-1),
2**(b-1) - 1)`` (two's complement, ``b = coeff_bits``), with one step ``s`` per layer
chosen at initialisation to minimise the squared quantization error of ``C``
(:func:`basisn.quant.best_scale`) and kept fixed; the latent float ``C`` is trained
through a straight-through estimator (gradient passed where ``C / s`` is inside the
code range, zero where it is clipped). ``s`` is applied digitally after shift-and-add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices.errors import ParameterError

from ._checks import check_bits, check_d, check_int
from .hardware import IdealCrossbar, check_crossbar
from .nn import Conv2D, Dense, Layer, Param, Sequential, _pair, col2im, im2col
from .quant import best_scale, bit_planes, cell_levels, plane_weights, twos_complement_range

__all__ = [
    "BasisConfig", "GlobalBasis", "BasisCore", "BasisDense", "BasisConv2D", "BasisNetwork",
    "basis_from_float", "orthogonal",
]


@dataclass(frozen=True)
class BasisConfig:
    """Settings of a BasisN network."""

    d: int
    """Crossbar size = piece length = number of basis vectors (>= 1)."""
    coeff_bits: int
    """Bits of each control coefficient, two's complement (1-16)."""
    cell_bits: int | None = None
    """Bits per RRAM cell storing the basis (1-16), or None for a float basis."""

    def __post_init__(self):
        check_d(self.d)
        check_bits(self.coeff_bits, "coeff_bits")
        if self.cell_bits is not None:
            check_bits(self.cell_bits, "cell_bits")


def orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``(d, d)`` orthogonal matrix (QR of a Gaussian, sign-fixed: Haar measure)."""
    d = check_d(d)
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


class GlobalBasis:
    """The global basis ``B`` shared by all layers.

    Parameters
    ----------
    d : int
        Basis size (>= 1).
    rng : numpy.random.Generator
        For the orthogonal initialisation.
    cell_bits : int or None
        If set, the crossbar stores ``cell_levels(B, cell_bits)``; the forward pass uses
        that and the gradient passes straight through to the float ``B``.

    Attributes
    ----------
    B : Param
        ``(d, d)``, rows are the basis vectors ``b_l`` (weight units).
    """

    def __init__(self, d: int, rng: np.random.Generator, cell_bits: int | None = None):
        self.d = check_d(d)
        self.B = Param(orthogonal(d, rng), "basis")
        self.cell_bits = None if cell_bits is None else check_bits(cell_bits, "cell_bits")

    def effective(self) -> np.ndarray:
        """The basis the crossbar cells hold: quantized to ``cell_bits`` levels if set."""
        if self.cell_bits is None:
            return self.B.value
        return cell_levels(self.B.value, self.cell_bits)


class BasisCore:
    """Weights ``(n_out, fan_in)`` as pieces ``C_ij . B``; products with input rows.

    Parameters
    ----------
    n_out, fan_in : int
        Kernels and inputs per kernel.
    basis : GlobalBasis
        Shared basis (``d = basis.d``); ``ceil(fan_in / d)`` pieces per kernel, the last
        one zero-padded (the padded inputs are 0, so padding never matters).
    bits : int
        Coefficient bits (1-16).
    rng : numpy.random.Generator
        For the He-like random initial coefficients (``std = sqrt(2 / fan_in)``; with an
        orthonormal basis the weights get the same distribution).
    coeffs : ndarray, optional
        Initial latent coefficients ``(n_out, parts, d)`` instead of random ones.
    bias : ndarray, optional
        Initial bias ``(n_out,)``.

    Attributes
    ----------
    C : Param
        Latent float coefficients ``(n_out, parts, d)``.
    b : Param
        Bias ``(n_out,)``, added digitally.
    scale : float
        Coefficient step ``s`` (weight units per code).
    backward_transfer : object or None
        The hardware's realized transfer for the backward pass (None: the ideal basis).
        An object with ``realized(core) -> R`` (``(d, d)``, weight units: the layer's
        weights on the hardware are ``Cq @ R`` to first order) and
        ``basis_vjp(core, G) -> dB`` (the gradient ``G`` with respect to ``R`` carried to
        the stored basis ``B``). Set by :func:`basisn.circuit.hwgrad.hardware_gradients`.
    """

    backward_transfer = None

    def __init__(self, n_out, fan_in, basis: GlobalBasis, bits, rng, coeffs=None, bias=None):
        self.n_out = check_int(n_out, "n_out", 1)
        self.fan_in = check_int(fan_in, "fan_in", 1)
        self.bits = check_bits(bits, "coeff_bits")
        self.basis = basis
        self.d = basis.d
        self.parts = -(-self.fan_in // self.d)
        shape = (self.n_out, self.parts, self.d)
        if coeffs is None:
            coeffs = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        coeffs = np.asarray(coeffs, dtype=float)
        if coeffs.shape != shape:
            raise ParameterError(f"coeffs must have shape {shape}, got {coeffs.shape}")
        self.C = Param(coeffs, "coeffs")
        self.b = Param(np.zeros(n_out) if bias is None else np.asarray(bias, float).copy(), "bias")
        if self.b.value.shape != (n_out,):
            raise ParameterError(f"bias must have shape ({n_out},), got {self.b.value.shape}")
        self.scale = best_scale(coeffs, self.bits)

    # -- quantities -------------------------------------------------------------------
    def codes(self) -> np.ndarray:
        """Integer coefficient codes ``q`` (n_out, parts, d), two's complement range."""
        qmin, qmax = twos_complement_range(self.bits)
        return np.clip(np.rint(self.C.value / self.scale), qmin, qmax).astype(np.int64)

    def planes(self) -> np.ndarray:
        """Bit planes of the codes, bool ``(n_out, parts, bits, d)`` (the scheduler's input)."""
        return bit_planes(self.codes(), self.bits)

    def quantized_coeffs(self) -> np.ndarray:
        """``s * q`` (n_out, parts, d), weight units per basis vector."""
        return self.scale * self.codes()

    def weight(self, padded: bool = False) -> np.ndarray:
        """Quantized weights ``W_q`` (n_out, fan_in): piece ``(i, j)`` is ``(s q_ij) @ B_eff``."""
        w = (self.quantized_coeffs() @ self.basis.effective()).reshape(self.n_out, self.parts * self.d)
        return w if padded else w[:, :self.fan_in]

    # -- forward / backward ------------------------------------------------------------
    def _pad(self, x):
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.fan_in:
            raise ParameterError(f"BasisN layer: input rows must have shape (rows, {self.fan_in}), got {x.shape}")
        extra = self.parts * self.d - self.fan_in
        return np.pad(x, ((0, 0), (0, extra))) if extra else x

    def forward_rows(self, x, crossbar=None) -> np.ndarray:
        """``y = x @ W_q.T + b`` for input rows ``x`` (rows, fan_in).

        Parameters
        ----------
        x : ndarray, shape (rows, fan_in)
        crossbar : crossbar model, optional
            If given (see :mod:`basisn.hardware`), every partition ``j`` is one call
            ``crossbar.combine(x[:, j*d:(j+1)*d], P_j)`` with ``P_j`` the bool patterns of
            all (kernel, bit) pairs of that partition, shape ``(n_out * bits, d)``,
            kernel-major, bit-minor (LSB first). The ``(rows, n_out * bits)`` result is
            combined by shift-and-add with weights ``[1, 2, ..., -2**(b-1)]`` (MSB plane
            subtracted), scaled by ``s``, summed over partitions, plus bias. With
            :class:`~basisn.hardware.IdealCrossbar` this equals the dense product.
            Without a crossbar the dense product ``x @ W_q.T`` is used (training path).

        Returns
        -------
        ndarray, shape (rows, n_out)
        """
        xp = self._pad(x)
        if crossbar is None:
            self._xp = xp
            self._wp = self.weight(padded=True)
            return xp @ self._wp.T + self.b.value
        check_crossbar(crossbar, self.d)
        planes = self.planes()  # (n_out, parts, bits, d)
        w = plane_weights(self.bits)
        rows = xp.shape[0]
        y = np.zeros((rows, self.n_out))
        for j in range(self.parts):
            pats = planes[:, j].reshape(self.n_out * self.bits, self.d)
            out = np.asarray(crossbar.combine(xp[:, j * self.d:(j + 1) * self.d], pats), dtype=float)
            if out.shape != (rows, pats.shape[0]):
                raise ParameterError(
                    f"crossbar.combine returned shape {out.shape}, expected {(rows, pats.shape[0])}"
                )
            y += out.reshape(rows, self.n_out, self.bits) @ w
        return self.scale * y + self.b.value

    def forward_scheduled(self, x, crossbar, K: int):
        """``y = x @ W_q.T + b`` executed step by step as the TG scheduler packs it.

        Every crossbar step of :func:`basisn.scheduler.schedule_layer` (one partition, at
        most ``K`` contest-free TG patterns) is one call
        ``crossbar.combine_step(x[:, j*d:(j+1)*d], patterns)`` if the crossbar has that
        method (the rows of ``patterns`` are then TG sets closed *at the same time*), else
        ``crossbar.combine(...)``. Outputs are shift-added into their kernels; empty bit
        planes are never evaluated (they contribute 0).

        Parameters
        ----------
        x : ndarray, shape (rows, fan_in)
        crossbar : crossbar model (see :mod:`basisn.hardware`)
        K : int
            TG sets per crossbar.

        Returns
        -------
        y : ndarray, shape (rows, n_out)
        schedule : basisn.scheduler.Schedule
        """
        from .scheduler import schedule_layer

        check_crossbar(crossbar, self.d)
        xp = self._pad(x)
        planes = self.planes()
        sch = schedule_layer(planes, self.d, K)
        w = plane_weights(self.bits)
        step_fn = getattr(crossbar, "combine_step", None) or crossbar.combine
        acc = np.zeros((self.n_out, xp.shape[0]))
        bounds = np.searchsorted(sch.step, np.arange(sch.n_steps + 1))
        for s in range(sch.n_steps):
            sl = slice(bounds[s], bounds[s + 1])
            kern, bit = sch.kernel[sl], sch.bit[sl]
            j = int(sch.partition[sl][0])
            out = np.asarray(step_fn(xp[:, j * self.d:(j + 1) * self.d], planes[kern, j, bit]), dtype=float)
            if out.shape != (xp.shape[0], kern.size):
                raise ParameterError(f"crossbar returned shape {out.shape}, expected {(xp.shape[0], kern.size)}")
            np.add.at(acc, kern, (out * w[bit]).T)
        return self.scale * acc.T + self.b.value, sch

    def backward_rows(self, dy) -> np.ndarray:
        """Accumulate ``C.grad``, ``b.grad`` and the basis gradient; return ``dL/dx``.

        With ``W_ij = Cq_ij @ B``: ``dCq_ij = dW_ij @ B.T`` and
        ``dB = sum_ij Cq_ij^T dW_ij``; the straight-through estimator passes ``dCq`` to
        the latent ``C`` where ``C / s`` lies in ``[qmin - 1/2, qmax + 1/2]``.

        With :attr:`backward_transfer` set (hardware in the loop), the weights are
        ``W_ij = Cq_ij @ R(B)`` with ``R`` the basis the hardware realizes:
        ``dCq_ij = dW_ij @ R.T`` and ``dB = (dR/dB)^T (sum_ij Cq_ij^T dW_ij)``.
        """
        dw = (dy.T @ self._xp).reshape(self.n_out, self.parts, self.d)
        cq = self.quantized_coeffs()
        qmin, qmax = twos_complement_range(self.bits)
        u = self.C.value / self.scale
        inside = (u >= qmin - 0.5) & (u <= qmax + 0.5)
        g_basis = cq.reshape(-1, self.d).T @ dw.reshape(-1, self.d)  # dL/d(realized basis)
        hw = self.backward_transfer
        if hw is None:
            realized = self.basis.effective()
        else:
            realized = np.asarray(hw.realized(self), float)
            if realized.shape != (self.d, self.d) or not np.all(np.isfinite(realized)):
                raise ParameterError(f"backward_transfer.realized must return a finite ({self.d}, {self.d}) basis, "
                                     f"got shape {realized.shape}")
            g_basis = np.asarray(hw.basis_vjp(self, g_basis), float)
        self.C.grad += (dw @ realized.T) * inside
        self.basis.B.grad += g_basis
        self.b.grad += dy.sum(axis=0)
        return (dy @ self._wp)[:, :self.fan_in]

    def params(self):
        return [self.C, self.b, self.basis.B]


class BasisDense(Layer):
    """Dense BasisN layer ``y = x @ W_q.T + b`` (input (batch, n_in), output (batch, n_out))."""

    accepts_crossbar = True

    def __init__(self, n_in, n_out, basis: GlobalBasis, bits, rng, coeffs=None, bias=None):
        self.core = BasisCore(n_out, n_in, basis, bits, rng, coeffs, bias)
        self.n_in, self.n_out = self.core.fan_in, self.core.n_out

    @property
    def positions(self) -> int:
        """Input vectors per sample presented to the crossbar (1 for a dense layer)."""
        return 1

    def forward(self, x, train=False, crossbar=None):
        return self.core.forward_rows(x, crossbar)

    def backward(self, dy):
        return self.core.backward_rows(dy)

    def params(self):
        return self.core.params()


class BasisConv2D(Layer):
    """2-D convolution whose ``(out_ch, in_ch*kh*kw)`` weight matrix is a BasisN core.

    Same arguments as :class:`basisn.nn.Conv2D` plus ``basis`` and ``bits``; the im2col
    patch rows are the crossbar inputs.
    """

    accepts_crossbar = True

    def __init__(self, in_ch, out_ch, kernel, basis, bits, rng, stride=1, padding=0, coeffs=None, bias=None):
        self.in_ch = check_int(in_ch, "in_ch", 1)
        self.out_ch = check_int(out_ch, "out_ch", 1)
        self.kh, self.kw = _pair(kernel, "kernel")
        self.stride = check_int(stride, "stride", 1)
        self.padding = check_int(padding, "padding", 0)
        self.core = BasisCore(out_ch, in_ch * self.kh * self.kw, basis, bits, rng, coeffs, bias)
        self._out_hw = None

    @property
    def positions(self) -> int | None:
        """Output pixels of the last forward pass (input vectors per sample); None before one."""
        return None if self._out_hw is None else self._out_hw[0] * self._out_hw[1]

    def forward(self, x, train=False, crossbar=None):
        x = np.asarray(x, dtype=float)
        if x.ndim != 4 or x.shape[1] != self.in_ch:
            raise ParameterError(f"BasisConv2D: input must have shape (N, {self.in_ch}, H, W), got {x.shape}")
        self._x_shape = x.shape
        cols, self._out_hw = im2col(x, self.kh, self.kw, self.stride, self.padding)
        y = self.core.forward_rows(cols, crossbar)
        return y.reshape(x.shape[0], self._out_hw[0], self._out_hw[1], -1).transpose(0, 3, 1, 2)

    def backward(self, dy):
        dy = dy.transpose(0, 2, 3, 1).reshape(-1, self.out_ch)
        dcols = self.core.backward_rows(dy)
        return col2im(dcols, self._x_shape, self.kh, self.kw, self.stride, self.padding)

    def params(self):
        return self.core.params()


class BasisNetwork(Sequential):
    """A sequential network whose weight layers share one :class:`GlobalBasis`.

    Parameters
    ----------
    basis : GlobalBasis
    *layers : Layer
        Any mix of BasisN layers (which must use ``basis``) and parameter-free layers.
    """

    def __init__(self, basis: GlobalBasis, *layers: Layer):
        super().__init__(*layers)
        self.basis = basis
        for layer in self.layers:
            core = getattr(layer, "core", None)
            if core is not None and core.basis is not basis:
                raise ParameterError("every BasisN layer of a BasisNetwork must share the network's basis")
            if core is None and layer.params():
                raise ParameterError(f"layer {type(layer).__name__} has its own weights; use BasisN layers only")

    @property
    def d(self) -> int:
        return self.basis.d

    def basis_layers(self) -> list[Layer]:
        """The layers that hold a :class:`BasisCore`, in order."""
        return [layer for layer in self.layers if hasattr(layer, "core")]

    def cores(self) -> list[BasisCore]:
        return [layer.core for layer in self.basis_layers()]

    def coefficient_params(self) -> list[Param]:
        """Coefficients and biases of every layer (the set trained in coefficient epochs)."""
        return [p for c in self.cores() for p in (c.C, c.b)]

    def basis_params(self) -> list[Param]:
        """The global basis (trained in basis epochs)."""
        return [self.basis.B]

    def ideal_crossbar(self) -> IdealCrossbar:
        """An :class:`IdealCrossbar` holding the basis as the cells store it."""
        return IdealCrossbar(self.basis.effective())

    def set_cell_bits(self, cell_bits: int | None) -> None:
        """Change the cell quantization of the stored basis (None = float)."""
        self.basis.cell_bits = None if cell_bits is None else check_bits(cell_bits, "cell_bits")


def basis_from_float(float_net: Sequential, cfg: BasisConfig, rng: np.random.Generator,
                     basis: GlobalBasis | None = None) -> BasisNetwork:
    """Fine-tuning initialisation (paper 3.4) of a BasisN copy of a trained float network.

    Every :class:`~basisn.nn.Dense` / :class:`~basisn.nn.Conv2D` becomes a BasisN layer
    with latent coefficients ``C_ij = k_ij @ inv(B_eff)`` (``k_ij`` the pieces of the
    trained weights, zero-padded), which the forward pass quantizes to ``cfg.coeff_bits``
    (``C = quantize(W_piece @ inv(B))``). Parameter-free layers are reused as they are.

    Parameters
    ----------
    float_net : Sequential
        Trained float network (Dense, Conv2D and parameter-free layers).
    cfg : BasisConfig
    rng : numpy.random.Generator
        For the orthogonal basis (ignored if ``basis`` is given).
    basis : GlobalBasis, optional
        Use this basis instead of a new one.

    Returns
    -------
    BasisNetwork
    """
    if basis is None:
        basis = GlobalBasis(cfg.d, rng, cfg.cell_bits)
    if basis.d != cfg.d:
        raise ParameterError(f"basis size {basis.d} does not match cfg.d = {cfg.d}")
    binv = np.linalg.pinv(basis.effective())
    layers = []
    for layer in float_net.layers:
        if isinstance(layer, (Dense, Conv2D)):
            w = layer.W.value.reshape(layer.W.value.shape[0], -1)
            n_out, fan_in = w.shape
            parts = -(-fan_in // cfg.d)
            wp = np.pad(w, ((0, 0), (0, parts * cfg.d - fan_in))).reshape(n_out, parts, cfg.d)
            coeffs = wp @ binv
            if isinstance(layer, Dense):
                layers.append(BasisDense(fan_in, n_out, basis, cfg.coeff_bits, rng, coeffs, layer.b.value))
            else:
                layers.append(BasisConv2D(layer.in_ch, layer.out_ch, (layer.kh, layer.kw), basis, cfg.coeff_bits,
                                          rng, layer.stride, layer.padding, coeffs, layer.b.value))
        elif layer.params():
            raise ParameterError(f"cannot convert layer {type(layer).__name__} with parameters to BasisN")
        else:
            layers.append(layer)
    return BasisNetwork(basis, *layers)
