import { test } from "node:test";
import { strict as assert } from "node:assert";
import { Metrics, attrReport, attrSet, metricName, metrics, monitorAdd, monitorSet, renderMetrics } from "@msec-gen/runtime";

test("attrReport accumulates, attrSet sets, monitorAdd/monitorSet use the frm.rpc prefix; export text is exact", () => {
  metrics.clear();
  attrReport("GetTitles success");
  attrReport("GetTitles success", 2);
  attrReport('odd "name"\\x');
  attrSet("queue depth", 5);
  attrSet("queue depth", 3);
  monitorAdd("call [VOA.Crawl]");
  monitorSet("workers", 4);
  assert.equal(
    renderMetrics(),
    [
      "# HELP msec_attr_gauge MSEC attributes set with attrSet/monitorSet, by attribute name.",
      "# TYPE msec_attr_gauge gauge",
      'msec_attr_gauge{name="frm.rpc workers"} 4',
      'msec_attr_gauge{name="usr.queue depth"} 3',
      "# HELP msec_attr_total MSEC attributes accumulated with attrReport/monitorAdd, by attribute name.",
      "# TYPE msec_attr_total counter",
      'msec_attr_total{name="frm.rpc call [VOA.Crawl]"} 1',
      'msec_attr_total{name="usr.GetTitles success"} 3',
      'msec_attr_total{name="usr.odd \\"name\\"\\\\x"} 1',
      "",
    ].join("\n"),
  );
  metrics.clear();
  assert.equal(renderMetrics(), "");
});

test("histograms render cumulative buckets, sum and count; names are sanitised", () => {
  const m = new Metrics();
  m.histogramObserve("rpc.latency seconds", "Latency.", { method: "a.B.C" }, 0.003, [0.001, 0.01]);
  m.histogramObserve("rpc.latency seconds", "Latency.", { method: "a.B.C" }, 0.5, [0.001, 0.01]);
  m.counterAdd("requests", "Requests.\nTotal", undefined, 2);
  assert.equal(
    m.render(),
    [
      "# HELP requests Requests.\\nTotal",
      "# TYPE requests counter",
      "requests 2",
      "# HELP rpc_latency_seconds Latency.",
      "# TYPE rpc_latency_seconds histogram",
      'rpc_latency_seconds_bucket{method="a.B.C",le="0.001"} 0',
      'rpc_latency_seconds_bucket{method="a.B.C",le="0.01"} 1',
      'rpc_latency_seconds_bucket{method="a.B.C",le="+Inf"} 2',
      'rpc_latency_seconds_sum{method="a.B.C"} 0.503',
      'rpc_latency_seconds_count{method="a.B.C"} 2',
      "",
    ].join("\n"),
  );
  assert.equal(metricName("9 lives"), "_9_lives");
});

test("counters refuse negative and non-finite values; a name keeps its type", () => {
  const m = new Metrics();
  assert.throws(() => m.counterAdd("c", "h", undefined, -1), RangeError);
  assert.throws(() => m.gaugeSet("g", "h", undefined, NaN), RangeError);
  m.counterAdd("c", "h");
  assert.throws(() => m.gaugeSet("c", "h", undefined, 1), TypeError);
});
