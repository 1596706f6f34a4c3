"""Smoke tests of benchmarks/: each script's --quick pass runs on the CPU and writes its JSON.

Speed is not checked (the scripts measure it; see the README's Performance
section). What is checked: the scripts run, every row is complete, and the
derived columns agree with the measured ones (images/s with the step time,
the median with the samples, scaling efficiency with the per-device rates).
"""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, str(BENCH / name), *args], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def check_record(payload: dict, benchmark: str) -> None:
    """The fields every results file has: which benchmark, the machine and the versions."""
    assert payload["benchmark"] == benchmark
    assert {"processor", "cpu_count", "system", "python"} <= set(payload["machine"])
    assert "jax" in payload["versions"] and "jaxlib" in payload["versions"]
    assert payload["written"]


def check_timing(row: dict, repeats: int) -> None:
    samples = row["step_ms_samples"]
    assert len(samples) == repeats and all(s > 0 for s in samples)
    assert row["step_ms"] == pytest.approx(statistics.median(samples))
    assert row["step_ms_min"] == min(samples) and row["step_ms_max"] == max(samples)
    assert row["spread"] == pytest.approx((max(samples) - min(samples)) / row["step_ms"])
    assert row["images_per_s"] == pytest.approx(2 * row["batch"] / (row["step_ms"] / 1e3))


@pytest.mark.slow
def test_train_step_quick_and_recount(tmp_path):
    out = tmp_path / "train_step.json"
    proc = run_script("bench_train_step.py", "--quick", "--out", str(out))
    assert "| small_cnn | 16 | float32 | 1 |" in proc.stdout
    payload = json.loads(out.read_text())
    check_record(payload, "train_step")
    info = payload["info"]
    assert info["device"]["platform"] == "cpu"
    assert info["peak_tflops"]["float32"] > 0 and "measured" in info["peak_source"]
    (row,) = payload["rows"]
    assert row["status"] == "ok", row
    assert (row["model"], row["batch"], row["dtype"], row["devices"]) == (
        "small_cnn",
        16,
        "float32",
        1,
    )
    check_timing(row, repeats=2)
    assert row["images_per_s_per_device"] == pytest.approx(row["images_per_s"])
    # FLOPs: a two-view step of a CNN is at least 2 x batch x (one forward's
    # multiply-adds); here only > 0 and the derived rates are checked.
    assert row["gflop_per_step"] > 0
    assert row["tflops_per_s_per_device"] == pytest.approx(row["gflop_per_step"] / row["step_ms"])
    assert row["mfu"] == pytest.approx(
        row["tflops_per_s_per_device"] / info["peak_tflops"]["float32"]
    )
    assert row["peak_mib"] > 0 and row["compile_s"] > 0
    # --recount counts the same program again: the same FLOPs, the timings untouched
    # (in this process: it lowers the step for the CPU and runs nothing)
    sys.path.insert(0, str(BENCH))
    try:
        import bench_train_step
    finally:
        sys.path.remove(str(BENCH))
    (again,) = bench_train_step.recount(out)["rows"]
    assert again["gflop_per_step"] == row["gflop_per_step"]
    assert again["step_ms_samples"] == row["step_ms_samples"]
    assert again["flops_counted"].startswith("recounted")


# not marked slow: scheduled after the train-step test, its one-device case
# (the same program) then comes from the compilation cache
def test_scaling_quick(tmp_path):
    out = tmp_path / "scaling.json"
    proc = run_script("bench_scaling.py", "--quick", "--out", str(out))
    assert "simulated" in proc.stdout
    payload = json.loads(out.read_text())
    check_record(payload, "scaling")
    assert payload["simulated"] is True
    rows = payload["rows"]
    assert [r["devices"] for r in rows] == [1, 2] and [r["batch"] for r in rows] == [16, 32]
    for r in rows:
        assert r["status"] == "ok", r
        check_timing(r, repeats=2)
        assert r["images_per_s_per_device"] == pytest.approx(r["images_per_s"] / r["devices"])
        assert r["device"]["count"] == 2
    assert rows[0]["efficiency"] == 1.0
    assert rows[1]["efficiency"] == pytest.approx(
        rows[1]["images_per_s_per_device"] / rows[0]["images_per_s_per_device"]
    )


def test_vs_torch_quick(tmp_path):
    out = tmp_path / "vs_torch.json"
    proc = run_script("bench_vs_torch.py", "--quick", "--out", str(out))
    payload = json.loads(out.read_text())
    check_record(payload, "vs_torch")
    if payload["torch_skipped"]:  # the test environment has no PyTorch: a clear message, exit 0
        assert "not installed" in payload["torch_skipped"]
        assert "skipped" in proc.stderr and payload["rows"] == []
        return
    jax_row, torch_row = payload["rows"]
    assert (jax_row["framework"], torch_row["framework"]) == ("jaxssl", "torch")
    for r in payload["rows"]:
        assert r["status"] == "ok", r
        check_timing(r, repeats=2)
    assert torch_row["ratio"] == pytest.approx(jax_row["images_per_s"] / torch_row["images_per_s"])


def test_losses_and_input_through_run_all(tmp_path, data_dir):
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "run_all.py"),
            "--quick",
            "--only",
            "losses",
            "input",
            "--out-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TFDS_DATA_DIR": str(data_dir)},  # the digits this session prepared
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "## losses" in proc.stdout and "## input" in proc.stdout
    losses = json.loads((tmp_path / "bench_losses.json").read_text())
    check_record(losses, "losses")
    assert [(r["impl"], r["chunk_size"]) for r in losses["rows"]] == [
        ("jaxssl_dense", None),
        ("jaxssl_chunked", 128),
        ("optax", None),
    ]
    for r in losses["rows"]:
        assert r["status"] == "ok" and r["time_ms_min"] <= r["time_ms"] <= r["time_ms_max"], r
    inputs = json.loads((tmp_path / "bench_input.json").read_text())
    check_record(inputs, "input")
    assert [r["unit"] for r in inputs["rows"]] == ["examples/s", "images/s"]
    assert all(r["rate"] > 0 for r in inputs["rows"])


def test_knn_quick_in_process(tmp_path, capsys):
    """bench_knn.py's main here (run_all's subprocess would import JAX and scikit-learn again)."""
    sys.path.insert(0, str(BENCH))
    try:
        import bench_knn
    finally:
        sys.path.remove(str(BENCH))
    bench_knn.main(["--quick", "--out", str(tmp_path / "knn.json")])
    knn = json.loads((tmp_path / "knn.json").read_text())
    check_record(knn, "knn")
    assert [r["k"] for r in knn["rows"]] == [20]
    for r in knn["rows"]:
        assert len(r["jaxssl"]["samples"]) == len(r["sklearn"]["samples"]) == 1
        assert r["speedup"] == pytest.approx(r["sklearn_s"] / r["jaxssl_s"]), r
    assert "| 20 |" in capsys.readouterr().out


def test_image_text_loss_cases_in_process():
    """bench_losses.py's CLIP and SigLIP cases (run_all's quick pass runs NT-Xent only)."""
    sys.path.insert(0, str(BENCH))
    try:
        import bench_losses
    finally:
        sys.path.remove(str(BENCH))
    rows = []
    for loss in ("clip", "siglip"):
        for k in (None, 24):  # 24 does not divide N: the padded last block
            case = {"loss": loss, "impl": "jaxssl_dense" if k is None else "jaxssl_chunked"}
            case.update(n=64, dim=8, chunk_size=k, temperature=0.1, warmup=1, repeats=1)
            rows.append(bench_losses.run_case(dict(case, max_temp_gib=1.0)))
    for r in rows:
        assert r["status"] == "ok" and r["temp_mib"] > 0, r
    table = bench_losses.markdown(rows, "cpu")
    assert "CLIP forward+backward" in table and "SigLIP forward+backward" in table


def test_bad_arguments_are_named():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_train_step.py"), "--repeats", "0"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "--repeats must be >= 1, got 0" in proc.stderr
