"""Level-1 (Shichman-Hodges) MOSFET drain current and its derivatives, vectorized.

Matches ngspice's ``mos1load`` for ``level=1`` with ``gamma = 0`` (no body effect),
``is = js = 0`` (no junction diodes) and ``ld = 0``: ``beta = kp * w / l``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["level1"]


def level1(vd, vg, vs, polarity, vto, kp, lam, w, l):
    """Channel current from drain to source and its partial derivatives.

    Parameters
    ----------
    vd, vg, vs : numpy.ndarray
        Terminal voltages, volt.
    polarity : numpy.ndarray
        +1 for nmos, -1 for pmos.
    vto, kp, lam, w, l : numpy.ndarray
        Model and instance parameters (V, A/V^2, 1/V, m, m).

    Returns
    -------
    ids, d_vd, d_vg, d_vs : numpy.ndarray
        Current (A) flowing from drain to source through the channel and its
        derivatives with respect to vd, vg, vs (S).
    """
    p = polarity
    vds = p * (vd - vs)
    forward = vds >= 0
    # in reverse mode the roles of drain and source swap
    vgs = p * np.where(forward, vg - vs, vg - vd)
    vds_m = np.abs(vds)
    vth = p * vto
    beta = kp * w / l
    vov = vgs - vth
    on = vov > 0
    sat = on & (vds_m >= vov)
    lin = on & ~sat
    clm = 1.0 + lam * vds_m
    i = np.zeros_like(vds_m)
    gm = np.zeros_like(vds_m)
    gds = np.zeros_like(vds_m)
    # linear region
    il = beta * (vov - 0.5 * vds_m) * vds_m
    i = np.where(lin, il * clm, i)
    gm = np.where(lin, beta * vds_m * clm, gm)
    gds = np.where(lin, beta * (vov - vds_m) * clm + il * lam, gds)
    # saturation
    isat = 0.5 * beta * vov * vov
    i = np.where(sat, isat * clm, i)
    gm = np.where(sat, beta * vov * clm, gm)
    gds = np.where(sat, isat * lam, gds)
    # map back: forward mode  I_ds = p*i(vgs, vds), reverse mode I_ds = -p*i(vgd, vsd)
    sign = np.where(forward, 1.0, -1.0)
    ids = p * sign * i
    # derivatives (p*p = 1): forward: d/dvd = gds, d/dvg = gm, d/dvs = -(gm+gds)
    #                        reverse: d/dvd = gm+gds, d/dvg = -gm, d/dvs = -gds
    d_vd = np.where(forward, gds, gm + gds)
    d_vg = np.where(forward, gm, -gm)
    d_vs = np.where(forward, -(gm + gds), -gds)
    return ids, d_vd, d_vg, d_vs
