"""Energy dissipated per resistor group, step by step, with the integrator's rule."""

from __future__ import annotations

import numpy as np

from crossbar.transient.plan import capacitor_table
from devices.errors import NetlistError
from netlists.netlist import Netlist

__all__ = ["PowerMeter"]


class PowerMeter:
    """Energy dissipated per resistor group in every step, consistent with the integration rule.

    For a trapezoidal step the discrete KCL, multiplied by the midpoint voltages
    ``vm = (v^n + v^{n+1}) / 2``, gives the exact balance

        h vm' G vm + (E_C^{n+1} - E_C^n) = h vm_d' i_supply,mid

    so a group's energy in the step is ``h sum_r g_r (dv_r at vm)^2``.  A backward-Euler
    step (``vm = v^{n+1}``) also dissipates ``dv' C dv / 2`` numerically (its damping),
    recorded separately as ``numerical``.  With these the energy the sources deliver equals
    dissipation + numerical loss + change of stored energy to rounding.
    """

    def __init__(self, netlist: Netlist, sw_rows, labels, T: int):
        R = netlist.resistors
        self.n1, self.n2 = np.asarray(R.n1), np.asarray(R.n2)
        self.g = 1.0 / np.asarray(R.value, float)
        self.labels = np.asarray(labels, np.int64)
        if self.labels.shape != (len(R),):
            raise NetlistError(f"power_labels must give one group per resistor ({len(R)}), got shape {self.labels.shape}")
        self.G = int(self.labels.max()) + 1 if self.labels.size else 0
        self.sw_rows = np.asarray(sw_rows, np.int64)
        self.c1, self.c2, self.cv = capacitor_table(netlist)
        self.energy = np.zeros((T, self.G))
        self.numerical = np.zeros(T)
        self.stored = np.zeros(T)
        self._prev = None

    def _cap_energy(self, dv):
        return 0.5 * float(np.dot(self.cv, dv * dv)) if self.cv.size else 0.0

    def record(self, k, v, sw_values, h=0.0, order=0):
        """Time point ``k`` with node voltages ``v`` (all nodes), reached by a step of ``h``
        seconds and ``order`` (1: backward Euler, 2: trapezoidal; 0: the DC point).

        A trapezoidal step whose end changes a switched resistor (old ``g0``, new ``g1``)
        averages KCL at both ends, so its exact term is ``h dvm (g0 dv0 + g1 dv1) / 2``
        (``dvm`` at the midpoint); without a change that is ``h g dvm^2``."""
        self.stored[k] = self._cap_energy(v[self.c1] - v[self.c2]) if self.cv.size else 0.0
        g = self.g
        if self.sw_rows.size:
            g = g.copy()
            g[self.sw_rows] = np.where(np.isinf(sw_values), 0.0, 1.0 / sw_values)
        dv1 = v[self.n1] - v[self.n2]
        if order == 1:
            w = g * dv1 * dv1
            if self.cv.size:
                d = v - self._prev
                self.numerical[k] = self._cap_energy(d[self.c1] - d[self.c2])
        elif order == 2:
            dv0 = self._prev[self.n1] - self._prev[self.n2]
            w = 0.25 * (dv0 + dv1) * (self._g_prev * dv0 + g * dv1)
        if order:
            self.energy[k] = h * np.bincount(self.labels, weights=w, minlength=self.G)
        self._prev = v.copy()
        self._g_prev = g
