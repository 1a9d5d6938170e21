"""get_config semantics, leveled and coloured logs stamped with the current call, monitor export."""
import pytest

from msec import (
    CallScope,
    Monitor,
    attr_report,
    attr_set,
    configure_log,
    default_monitor,
    get_config,
    log_debug,
    log_error,
    log_fatal,
    log_info,
    log_set_option,
    monitor_add,
    monitor_set,
    reset_log,
)
from msec.context import enter_call, leave_call
from msec.log import INFO, TRACE, log_trace

CONFIG = """# comment
[SRPC]
listen=7963/tcp
; another comment
[LOG]
Level = info
Empty =
[COLOR]
FieldName0=RPCName
FieldValue0=crawl.CrawlService.GetMP3List
FieldName1=uin
FieldValue1=10001
"""


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "config.ini"
    path.write_text(CONFIG)
    monkeypatch.setenv("MSEC_CONFIG", str(path))
    yield str(path)


@pytest.fixture
def lines():
    out = []
    reset_log()
    configure_log(sink=out.append)
    yield out
    reset_log()


def test_get_config_reads_sections_and_keys_case_sensitively(config):
    assert get_config("LOG", "Level") == "info"
    assert get_config("LOG", "level") is None
    assert get_config("SRPC", "listen", config) == "7963/tcp"
    assert get_config("LOG", "Empty") is None
    assert get_config("NOPE", "x") is None
    assert get_config("LOG", "Level", "/nonexistent/config.ini") is None


def test_get_config_sees_edits(config):
    import os

    with open(config, "a") as f:
        f.write("[NEW]\nk=v\n")
    os.utime(config, (10, 10))
    assert get_config("NEW", "k") == "v"


def test_threshold_comes_from_log_level_in_the_config(config, lines):
    log_debug("hidden")
    log_info("shown info")
    log_error("shown error")
    log_fatal("shown fatal")
    assert [l.split(" ", 2)[1] for l in lines] == ["INFO", "ERROR", "FATAL"]
    assert lines[0].endswith(" shown info")


def test_default_threshold_is_error(tmp_path, monkeypatch, lines):
    monkeypatch.setenv("MSEC_CONFIG", str(tmp_path / "missing.ini"))
    log_info("no")
    log_error("yes")
    assert len(lines) == 1 and "ERROR" in lines[0]


def test_every_line_carries_flow_id_method_and_caller(config, lines):
    token = enter_call(CallScope(method="crawl.CrawlService.X", caller="VOA_py.MainLogic", flow_id=42))
    try:
        log_error("boom")
    finally:
        leave_call(token)
    log_error("outside")
    assert " ERROR ReqID=42 RPCName=crawl.CrawlService.X Caller=VOA_py.MainLogic boom" in lines[0]
    assert " ERROR ReqID=0 RPCName=- Caller=- outside" in lines[1]


def test_a_coloured_request_is_logged_at_every_level(config, lines):
    token = enter_call(CallScope(method="a.B.C", caller="x.y", flow_id=7, coloring=1))
    try:
        log_trace("trace while coloured")
    finally:
        leave_call(token)
    log_trace("trace uncoloured")
    assert len(lines) == 1
    assert "TRACE ReqID=7 RPCName=a.B.C Caller=x.y Coloring=1 trace while coloured" in lines[0]


def test_color_pairs_of_the_config_match_headers_and_options(config, lines):
    token = enter_call(CallScope(method="crawl.CrawlService.GetMP3List", flow_id=1))
    try:
        log_debug("matches FieldName0")
    finally:
        leave_call(token)
    log_debug("no match")
    log_set_option("uin", 10001)
    log_debug("matches FieldName1 through an option")
    assert len(lines) == 2
    assert lines[0].endswith("matches FieldName0")
    assert "uin=10001" in lines[1] and lines[1].endswith("matches FieldName1 through an option")


def test_configure_log_overrides_the_level(lines, config):
    configure_log(level=TRACE)
    log_trace("t")
    configure_log(level=INFO)
    log_debug("d")
    assert len(lines) == 1


def test_monitor_functions_prefix_and_export_prometheus_text():
    default_monitor.clear()
    attr_report("GetTitles success")
    attr_report("GetTitles success", 2)
    attr_set("queue", 5)
    attr_set("queue", 3)
    monitor_add('call [VOA_py.Crawl] "quoted"')
    monitor_set("conns", 9)
    assert default_monitor.counters() == {"usr.GetTitles success": 3, 'frm.rpc call [VOA_py.Crawl] "quoted"': 1}
    assert default_monitor.gauges() == {"usr.queue": 3, "frm.rpc conns": 9}
    assert default_monitor.prometheus_text() == (
        "# HELP msec_attr_total MSEC attributes accumulated with attr_report/monitor_add, by attribute name.\n"
        "# TYPE msec_attr_total counter\n"
        'msec_attr_total{name="frm.rpc call [VOA_py.Crawl] \\"quoted\\""} 1\n'
        'msec_attr_total{name="usr.GetTitles success"} 3\n'
        "# HELP msec_attr_gauge MSEC attributes set with attr_set/monitor_set, by attribute name.\n"
        "# TYPE msec_attr_gauge gauge\n"
        'msec_attr_gauge{name="frm.rpc conns"} 9\n'
        'msec_attr_gauge{name="usr.queue"} 3\n'
    )
    default_monitor.clear()


def test_a_private_monitor_is_independent():
    m = Monitor()
    m.add("x", 2)
    assert m.counters() == {"x": 2}
    assert "x" not in default_monitor.counters()
