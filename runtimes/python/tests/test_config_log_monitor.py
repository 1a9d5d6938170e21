"""get_config semantics, leveled and coloured logs stamped with the current call, monitor export."""
import json
import re

import pytest

from msec import (
    CallScope,
    Logger,
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


def records(lines):
    return [json.loads(l) for l in lines]


def test_threshold_comes_from_log_level_in_the_config(config, lines):
    log_debug("hidden")
    log_info("shown info")
    log_error("shown error")
    log_fatal("shown fatal")
    assert [(r["level"], r["msg"]) for r in records(lines)] == [("INFO", "shown info"), ("ERROR", "shown error"), ("FATAL", "shown fatal")]


def test_default_threshold_is_error(tmp_path, monkeypatch, lines):
    monkeypatch.setenv("MSEC_CONFIG", str(tmp_path / "missing.ini"))
    log_info("no")
    log_error("yes")
    assert [r["msg"] for r in records(lines)] == ["yes"]


def test_lines_are_json_with_flow_id_method_and_caller_first(config, lines):
    token = enter_call(CallScope(method="crawl.CrawlService.X", caller="VOA_py.MainLogic", flow_id=42, peer="10.0.0.1:5"))
    try:
        log_error("boom ü")
    finally:
        leave_call(token)
    log_error("outside")
    assert re.fullmatch(r'\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","level":"ERROR",.*\}', lines[0])
    first, second = records(lines)
    assert list(first)[:6] == ["time", "level", "flowId", "method", "caller", "msg"]
    assert (first["flowId"], first["method"], first["caller"], first["msg"], first["peer"]) == ("42", "crawl.CrawlService.X", "VOA_py.MainLogic", "boom ü", "10.0.0.1:5")
    assert (second["flowId"], second["method"], second["caller"]) == ("", "", "")


def test_a_coloured_request_is_logged_at_every_level(config, lines):
    token = enter_call(CallScope(method="a.B.C", caller="x.y", flow_id=7, coloring=1))
    try:
        log_trace("trace while coloured")
    finally:
        leave_call(token)
    log_trace("trace uncoloured")
    assert [(r["level"], r["msg"], r["coloring"]) for r in records(lines)] == [("TRACE", "trace while coloured", 1)]


def test_color_pairs_of_the_config_match_msec_header_names_and_options(config, lines):
    token = enter_call(CallScope(method="crawl.CrawlService.GetMP3List", flow_id=1))
    try:
        log_debug("matches FieldName0 (RPCName is the method)")
    finally:
        leave_call(token)
    log_debug("no match")
    log_set_option("uin", 10001)
    log_debug("matches FieldName1 through an option")
    got = records(lines)
    assert [r["msg"] for r in got] == ["matches FieldName0 (RPCName is the method)", "matches FieldName1 through an option"]
    assert got[1]["uin"] == "10001"


def test_configure_log_overrides_the_level(lines, config):
    configure_log(level=TRACE)
    log_trace("t")
    configure_log(level=INFO)
    log_debug("d")
    assert [r["msg"] for r in records(lines)] == ["t"]


def test_bound_logger_fields_are_written_and_can_colour(config, lines):
    configure_log(colors=[("component", "db")])
    Logger({"component": "db"}).debug("coloured by a bound field")
    Logger({"component": "web"}).bind(shard=3).debug("not coloured")
    Logger({"component": "web"}).bind(shard=3).error("written")
    got = records(lines)
    assert [(r["msg"], r["component"]) for r in got] == [("coloured by a bound field", "db"), ("written", "web")]
    assert got[1]["shard"] == 3


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
