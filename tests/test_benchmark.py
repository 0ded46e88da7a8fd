"""The benchmark's memory column: each row is measured in a fresh process."""

import numpy as np

from mediumvc.benchmark import run_benchmark


def test_peak_rss_is_not_inflated_by_what_the_benchmark_process_holds():
    held = np.ones(1200 * 2**20 // 8)  # 1.2 GB resident in this process, as earlier rows' leftovers would be
    result = run_benchmark(
        config="tiny",
        seconds=[1.0, 2.0],
        precisions=["fp32"],
        repeats=1,
        threads=1,
        batch=1,
        stream_seconds=0,
        vocoders=["default"],
    )
    rss = [row["peak_rss_mb"] for row in result["rtf"]]
    assert all(100 < r < 1200 for r in rss), rss  # about 0.6 GB each
    assert held.sum() > 0
