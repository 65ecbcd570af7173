"""The Prometheus text the gateway exports: counters and the overhead histogram."""

from __future__ import annotations

from bytespike.metrics import Metrics


def _lines(m: Metrics) -> list[str]:
    return m.render().decode().splitlines()


def test_counters_render_with_labels_in_any_order() -> None:
    m = Metrics()
    m.inc("bytespike_admissions_total", result="ok")
    m.inc("bytespike_admissions_total", 2, result="ok")
    m.inc("bytespike_state_round_trips_total", op="admit")
    assert m.value("bytespike_admissions_total", result="ok") == 3
    lines = _lines(m)
    assert 'bytespike_admissions_total{result="ok"} 3' in lines
    assert "# TYPE bytespike_admissions_total counter" in lines
    assert "bytespike_settlements_total 0" in lines


def test_the_overhead_histogram_is_cumulative_with_sum_and_count() -> None:
    m = Metrics()
    for value in (0.05, 0.1, 0.15, 0.4, 7.0, 5000.0):
        m.observe("bytespike_overhead_ms", value, protocol="openai_chat")
    lines = _lines(m)
    assert "# TYPE bytespike_overhead_ms histogram" in lines
    bucket = 'bytespike_overhead_ms_bucket{protocol="openai_chat",le="%s"} %d'
    assert bucket % ("0.1", 2) in lines  # le is inclusive: 0.1 falls in the 0.1 bucket
    assert bucket % ("0.2", 3) in lines and bucket % ("0.5", 4) in lines
    assert bucket % ("5", 4) in lines and bucket % ("10", 5) in lines
    assert bucket % ("1000", 5) in lines and bucket % ("+Inf", 6) in lines
    assert 'bytespike_overhead_ms_count{protocol="openai_chat"} 6' in lines
    assert 'bytespike_overhead_ms_sum{protocol="openai_chat"} 5007.7' in lines
    assert m.count("bytespike_overhead_ms", protocol="openai_chat") == 6
