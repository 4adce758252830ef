"""hold_one_blas_thread works from any thread, whichever thread held before: BLAS's
thread count is process-wide, and what a user gets is what OpenBLAS reports."""

import threading

import pytest

from biasviz.core import engine_numpy

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> set[int]:
    return {i["num_threads"] for i in threadpoolctl.threadpool_info()
            if i["user_api"] == "blas"}


@pytest.fixture
def two_blas_threads():
    """Start from two BLAS threads (one is what the holds set: it would prove nothing)."""
    controls = engine_numpy.blas_controls()
    before = _blas_threads()
    if before == {1}:
        pytest.skip("BLAS runs one thread here: a hold changes nothing")
    yield before
    assert engine_numpy._blas_holders == 0
    # leave no limit and no thread owning the right to set it behind
    threadpoolctl.OpenBLASController.clear_controlling_thread(force=True)
    controls.limit(limits={"blas": max(before)})
    threadpoolctl.OpenBLASController.clear_controlling_thread(force=True)


class _Lingering(threading.Thread):
    """A thread that runs ``job`` then stays alive until told to end, as a QThread seen
    from Python does (a "dummy" thread is alive for ever)."""

    def __init__(self, job):
        super().__init__(daemon=True)
        self._job, self.done, self.end = job, threading.Event(), threading.Event()
        self.result = None

    def run(self) -> None:
        self.result = self._job()
        self.done.set()
        self.end.wait(10)


def _in_lingering_thread(job):
    thread = _Lingering(job)
    thread.start()
    assert thread.done.wait(10)
    return thread


def test_the_main_threads_hold_shows_after_a_worker_held(two_blas_threads):
    """The order-dependent failure: a worker (a lesson's QThread) held and released
    first; the window's hold in the GUI thread was then ignored (two BLAS threads)."""

    def hold_and_release():
        release = engine_numpy.hold_one_blas_thread()
        seen = _blas_threads()
        release()
        return seen

    worker = _in_lingering_thread(hold_and_release)
    try:
        assert worker.result == {1}
        assert _blas_threads() == two_blas_threads
        release = engine_numpy.hold_one_blas_thread()
        assert _blas_threads() == {1}  # the main thread's hold is obeyed
        release()
        assert _blas_threads() == two_blas_threads
    finally:
        worker.end.set()
        worker.join(10)


def test_a_workers_hold_shows_after_the_main_thread_held(two_blas_threads):
    """The other order: the window held first, then a lesson trains in a thread."""
    engine_numpy.hold_one_blas_thread()()

    def hold():
        return engine_numpy.hold_one_blas_thread(), _blas_threads()

    worker = _in_lingering_thread(hold)
    release, seen = worker.result
    try:
        assert seen == {1}
    finally:
        release()
        worker.end.set()
        worker.join(10)
    assert _blas_threads() == two_blas_threads


def test_a_hold_released_by_another_thread_restores(two_blas_threads):
    """Holds may end in any thread: the last one out restores two threads, even when
    the thread that took the first hold is still alive."""
    worker = _in_lingering_thread(engine_numpy.hold_one_blas_thread)
    try:
        assert _blas_threads() == {1}
        worker.result()  # released in the main thread
        assert _blas_threads() == two_blas_threads
    finally:
        worker.end.set()
        worker.join(10)
