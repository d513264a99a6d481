"""Progress, cancellation, Ctrl-C, the released GIL, and a collection shared between threads."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import modeltree as mt
from modeltree import _modeltree
from mt_support import crowd, slow  # noqa: F401  (slow: a fixture)


def family(side: int = 32, tensors: int = 4, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    base = {f"t{k}": rng.laplace(0, 0.05, (side, side)).astype(np.float32) for k in range(tensors)}
    child = {k: (a + rng.normal(0, 0.02, a.shape)).astype(np.float32) for k, a in base.items()}
    return {"base": base, "child": child}


def test_progress_reports_rising_fractions_and_stages():
    calls: list[tuple[float, str]] = []
    mt.recover(family(), progress=lambda f, s: calls.append((f, s)))
    fractions = [f for f, _ in calls]
    assert len(calls) >= 3 and fractions == sorted(fractions)
    assert 0 <= fractions[0] and fractions[-1] == 1.0
    assert all(isinstance(s, str) and s for _, s in calls)


def test_raising_cancelled_error_cancels():
    def progress(fraction, stage):
        if fraction > 0.1:
            raise mt.CancelledError("enough")

    with pytest.raises(mt.CancelledError, match="enough") as info:
        mt.recover(family(), progress=progress)
    assert info.value.status == _modeltree.CANCELLED


def test_the_callbacks_result_is_ignored():
    # tqdm's update() returns True when it redraws: that must not cancel anything.
    g = mt.recover(family(), progress=lambda f, s: True)
    assert len(g) == 2


def test_an_exception_in_the_callback_is_reraised_as_is():
    class Stop(Exception):
        pass

    def progress(fraction, stage):
        raise Stop(stage)

    with pytest.raises(Stop):
        mt.recover(family(), progress=progress)


def test_progress_true_is_quiet_without_tqdm_and_a_bar_with_it(capsys):
    g = mt.recover(family(), progress=True)
    assert g.parent("child") == "base" or g.parent("base") == "child"
    try:
        import tqdm  # noqa: F401
    except ImportError:
        assert capsys.readouterr().err == ""
    else:
        assert "100%" in capsys.readouterr().err


_CTRL_C = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    sys.path.insert(0, sys.argv[3])
    import modeltree as mt
    from mt_support import crowd
    # Ctrl-C as an interactive Python takes it: a process started by a background job (`make
    # test &`, CI) inherits SIGINT ignored, and Python then installs no handler of its own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    mode, models = sys.argv[1], crowd(int(sys.argv[2]), 512)
    timer = []
    def progress(fraction, stage):
        if mode == "callback" and fraction > 0.3:   # Ctrl-C delivered while the callback runs
            os.kill(os.getpid(), signal.SIGINT)
        elif mode == "computing" and not timer:     # ... while the library computes, GIL released
            timer.append(threading.Timer(0.05, lambda: os.kill(os.getpid(), signal.SIGINT)))
            timer[0].start()
    start = time.monotonic()
    try:
        mt.recover(models, metric="rms", progress=progress)
    except KeyboardInterrupt:
        print("interrupted after", round(time.monotonic() - start, 2))
        g = mt.recover({"a": models["m000"], "b": models["m001"]}, metric="rms")  # still usable
        print("then", g.parent("b"))
    else:
        print("finished")
    """
)


@pytest.mark.parametrize("mode", ["callback", "computing"])
def test_ctrl_c_cancels_with_keyboard_interrupt(mode, slow):
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run([sys.executable, "-c", _CTRL_C, mode, str(slow[0]), here], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "interrupted after" in proc.stdout, proc.stdout
    assert "then " in proc.stdout


def test_recovery_releases_the_gil(slow):
    models = crowd(slow[0], 512)
    stamps: list[float] = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            stamps.append(time.perf_counter())
            time.sleep(0.001)

    thread = threading.Thread(target=tick)
    thread.start()
    time.sleep(0.05)
    reports: list[float] = []
    start = time.perf_counter()
    mt.recover(models, metric="rms", progress=lambda f, s: reports.append(time.perf_counter()))
    end = time.perf_counter()
    stop.set()
    thread.join()
    inside = [s for s in stamps if start <= s <= end]
    longest_silence = max(b - a for a, b in zip([start] + reports, reports + [end]))
    longest_tick_gap = max(b - a for a, b in zip([start] + inside, inside + [end]))
    assert longest_silence > 0.1, "the recovery was too quick to tell"
    # With the GIL held, the ticking thread would stop for the library's longest silent stretch.
    assert longest_tick_gap < longest_silence / 2, (longest_tick_gap, longest_silence)


def test_a_collection_in_use_cannot_change_and_closes_after_the_recovery():
    seen: list[str] = []
    with mt.Collection() as c:
        for model_id, state in family().items():
            c.add_state_dict(model_id, state)

        def progress(fraction, stage):
            if not seen:
                try:
                    c.add_tensor("late", "t0", np.zeros((32, 32), np.float32))
                except RuntimeError as e:
                    seen.append(str(e))
                c.close()  # deferred: the recovery keeps the collection until it returns
                seen.append(f"closed={c.closed}")

        g = c.recover(progress=progress)
        assert seen[0].startswith("the collection is in use") and seen[1] == "closed=True"
        assert set(g.ids) == {"base", "child"}
        assert c.closed and c._raw._lent() == []  # released when the recovery returned


def test_concurrent_recoveries_of_one_collection():
    with mt.Collection() as c:
        for model_id, state in family(side=128).items():
            c.add_state_dict(model_id, state)
        results: list[str] = []
        threads = [threading.Thread(target=lambda: results.append(c.recover().to_json())) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(results) == 4 and len(set(results)) == 1
