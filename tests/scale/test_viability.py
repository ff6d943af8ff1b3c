"""Twin error model, mitigation parameters and the viability study's refusal of bad input."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from basisn.circuit import ChipSystem, get_preset, map_basis
from basisn.circuit.errormodel import TwinModel, residual
from basisn.circuit.mitigation import RANGES, Mitigation
from basisn.circuit.viability import ViabilityConfig, bitplane_steps, model_residuals
from basisn.layers import orthogonal
from devices.errors import ParameterError
from tests.scripts import load_study


def _steps(d, K, seed=0):
    return bitplane_steps(d, K, 8, 4, np.random.default_rng(seed))


def test_twin_is_exact_on_a_chip_without_variation():
    """No variation, no stuck cells: the twin is the chip itself (rtol 1e-10)."""
    p = get_preset("neurram", d=12, K=3)
    p = dataclasses.replace(p, cell=dataclasses.replace(p.cell, sigma=0.0, verify_tolerance=0.0, stuck_on=0.0,
                                                        stuck_off=0.0))
    B = orthogonal(12, np.random.default_rng(0))
    twin = TwinModel(p, B)
    chip = ChipSystem(map_basis(B, p))
    steps = _steps(12, 3)
    assert residual(twin, chip, steps).model < 1e-10


def test_twin_follows_and_rebuilds():
    p = get_preset("neurram", d=10, K=2)
    B = orthogonal(10, np.random.default_rng(1))
    twin = TwinModel(p, B, refit_tol=0.05)
    v = twin.version
    twin.set_basis(B * 1.001)  # small move: first-order follow, no rebuild
    assert twin.rebuilds == 1 and twin.version == v + 1
    twin.set_basis(B + 0.2 * np.random.default_rng(2).normal(size=B.shape))
    assert twin.rebuilds == 2
    with pytest.raises(ParameterError, match="refit_tol"):
        TwinModel(p, B, refit_tol=0.0)
    with pytest.raises(ParameterError, match="K = 2"):
        twin.rows(np.zeros((3, 10), bool), K=3)


def test_twin_beats_fitted_model_on_held_out_writes():
    """d = 24 neurram: on a write no model saw, the twin's residual is below the fitted model's."""
    rows = model_residuals(get_preset("neurram", d=24, K=4), moves=(0.0, 0.2), n_out=8)
    for r in rows:
        assert r["twin"] < r["fixed"] and r["twin"] < r["naive"]
        assert all(np.isfinite(v) for k, v in r.items() if isinstance(v, float))


def test_mitigation_validates_and_applies():
    m = Mitigation(g_max=1e-6, g_ratio=10, tg_r_on=100.0, r_wire=0.5, v_read=0.1, encoding="reference")
    p = m.apply(get_preset("neurram", d=8, K=2))
    assert (p.cell.g_max, p.cell.g_min, p.tg.r_on, p.wires.r_bitline, p.v_read, p.encoding) == \
        (1e-6, 1e-7, 100.0, 0.5, 0.1, "reference")
    assert Mitigation().apply(p) == p
    assert "r_on=100ohm" in m.label()
    for field, bad in (("g_max", 1.0), ("g_ratio", 1.0), ("tg_r_on", 1e9), ("r_wire", -1.0), ("v_read", 5.0)):
        with pytest.raises(ParameterError, match=f"{field}.*allowed"):
            Mitigation(**{field: bad})
    with pytest.raises(ParameterError, match="allowed"):
        Mitigation(encoding="single")
    with pytest.raises(ParameterError, match="r_off|r_on"):  # the TG refuses r_on >= r_off
        Mitigation(tg_r_on=RANGES["tg_r_on"][1]).apply(dataclasses.replace(
            get_preset("neurram", d=8, K=2), tg=dataclasses.replace(get_preset("neurram").tg, r_off=1e4)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(ds=(0,)), "positive integer"),
    (dict(ds=(3.5,)), "positive integer"),
    (dict(ds=(512,)), "does not fit"),
    (dict(preset="nope"), "unknown preset"),
    (dict(tg_r_on=(-5.0,)), "tg_r_on"),
    (dict(g_max=(1.0,)), "g_max"),
    (dict(datasets=("cifar",)), "unknown data set"),
    (dict(ds=(4,), K=8), "K = 8"),
])
def test_config_refuses_bad_input(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        ViabilityConfig(**kwargs)


def _study_main():
    return load_study("basisn_viability")


@pytest.mark.parametrize("argv", [["--d", "0"], ["--d", "300"], ["--preset", "nope"], ["--tg-r-on", "1e7"],
                                  ["--g-max", "2"], ["--encoding", "single"], ["--feedback-lr", "0"],
                                  ["--control-lr", "5000"], ["--r-bitline", "-1"],
                                  ["--encoding", "reference"]])  # stuck-cell repair needs differential pairs
def test_study_exits_2_before_training(argv, tmp_path, capsys, monkeypatch):
    mod = _study_main()

    def no_training(*args, **kwargs):
        raise AssertionError("training started despite bad input")

    monkeypatch.setattr(mod, "run_viability_task", no_training)
    code = mod.main(mod.Viability(), argv=argv + ["--out", str(tmp_path / "v.h5")], prog="basisn_viability")
    assert code == 2
    err = capsys.readouterr().err
    assert "allowed" in err
    assert not (tmp_path / "v.h5").exists()


def test_error_budget_removes_mechanisms():
    """Removing everything but the levels leaves only quantization; wires removed lowers the deviation."""
    from basisn.circuit.viability import error_budget

    r = error_budget(get_preset("neurram", d=16, K=2), n_out=4)
    assert r["levels_only"] < r["no_wires"] < r["all"]
    assert r["no_access"] == pytest.approx(r["all"], rel=1e-6)  # write-verify calibrates the access transistor
    assert all(np.isfinite(v) for k, v in r.items() if k != "n_steps")


def test_study_plumbing_with_a_stub_task(tmp_path, monkeypatch):
    """Engine run, archive, summary and heat map with the training replaced by a stub (shapes and labels)."""
    from crossbar.study import run

    mod = _study_main()
    cfg = ViabilityConfig(ds=(8, 16), tg_r_on=(1e3, 1e2), g_max=(4e-5, 4e-6), n_eval_chips=2, n_test=10,
                          row_block=(None, 4))

    def stub(config, name, seed, d, log=None):
        pts = [{"acc_before": [0.1 * i, 0.1 * i], "acc_after": [0.5 + 0.01 * i + d / 1000, 0.5], "res_twin": 0.03,
                "t_feedback": 1.0, "t_before": 0.5} for i in range(len(config.points()))]
        return {"acc_float": 0.9, "acc_ideal": 0.52, "acc_control": 0.55, "t_train": 1.0, "t_cpu": 2.0, "points": pts}

    monkeypatch.setattr(mod, "run_viability_task", stub)
    study = mod.Viability()
    res = run(study, cfg, tmp_path / "v.h5", progress=False)
    ds = res.dataset
    assert ds["acc_after"].dims == ("dataset", "seed", "d", "tg_r_on", "g_max", "r_wire", "row_block", "chip")
    assert list(ds["row_block"].values) == [0, 4]  # 0: every row driven
    # grid order r_on, g_max, r_wire, row_block: (1e2, 4e-6, 2.5, rows/4) is point 7
    assert ds["acc_after"].sel(d=16, tg_r_on=1e2, g_max=4e-6, row_block=4, chip=0).item() == \
        pytest.approx(0.5 + 0.07 + 0.016)
    text = study.summary(ds)
    assert "| mnist1d | 16 | 100 | 4 | 2.5 | all | 52.0 (55.0) |" in text and "| mnist1d | 16 | 100 | 4 | 2.5 | 4 |" in text
    assert "CPU" in text
    # the gap is taken against the better of ideal BasisN and its control (0.55 here), not the weaker one;
    # (1e2, 4e-6, 2.5, all rows) is point 6
    row = next(line for line in text.splitlines() if line.startswith("| mnist1d | 16 | 100 | 4 | 2.5 | all |"))
    assert f"{100 * (0.5 * (0.5 + 0.06 + 0.016 + 0.5) - 0.55):+.1f} ± " in row
    paths = study.figures(ds, tmp_path, "v")
    assert len(paths) == 1 and Path(paths[0]).exists()


def test_viability_task_end_to_end_picks_learning_rates_on_validation():
    """A real (small) task: control and feedback learning rates are picked by validation accuracy,
    the picked feedback run is the one evaluated, and every accuracy is a fraction."""
    from basisn.circuit.viability import run_viability_task

    cfg = ViabilityConfig(datasets=("digits",), ds=(16,), tg_r_on=(1e3,), g_max=(4e-5,), n_eval_chips=1,
                          feedback_epochs=1, n_test=60, feedback_lr=(1.0, 30.0), control_lr=(1.0, 30.0))
    out = run_viability_task(cfg, "digits", 0, 16)
    assert out["control_lr"] in (1.0, 30.0) and 0 <= out["acc_control"] <= 1
    (pt,) = out["points"]
    assert len(pt["acc_val"]) == 2 and all(0 <= v <= 1 for v in pt["acc_val"])
    assert pt["feedback_lr"] == (1.0, 30.0)[int(np.argmax(pt["acc_val"]))]
    assert all(0 <= a <= 1 for a in pt["acc_after"] + pt["acc_before"])
