"""Writes periscope-dashboard.json beside this file: the Grafana dashboard for Periscope's
/metrics (SLOs, collector ingest, agent queues). Edit the panels here, then run
`python3 Examples/grafana/generate-dashboard.py`; the end-to-end test evaluates every
query of the JSON against a real Prometheus scraping a real collector and agent."""
import json
import os
ds = {"type": "prometheus", "uid": "${datasource}"}
panels = []
pid = [0]
y = [0]
def row(title):
    pid[0] += 1
    panels.append({"id": pid[0], "type": "row", "title": title, "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y[0]}, "panels": []})
    y[0] += 1
x = [0]
def panel(kind, title, description, targets, unit=None, w=8, h=8, extra=None):
    pid[0] += 1
    if x[0] + w > 24:
        x[0] = 0
        y[0] += h
    p = {"id": pid[0], "type": kind, "title": title, "description": description, "datasource": ds,
         "gridPos": {"h": h, "w": w, "x": x[0], "y": y[0]},
         "targets": [dict({"datasource": ds, "refId": chr(65 + i), "expr": e, "legendFormat": l}, **({"instant": True} if kind == "stat" else {"range": True})) for i, (e, l) in enumerate(targets)],
         "fieldConfig": {"defaults": {"unit": unit} if unit else {}, "overrides": []},
         "options": {}}
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True}, "tooltip": {"mode": "multi"}}
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "value", "textMode": "value_and_name"}
    if extra:
        p.update(extra)
    panels.append(p)
    x[0] += w
def endrow(h=8):
    x[0] = 0
    y[0] += h

S = 'slo=~"$slo"'
row("SLOs")
panel("stat", "SLI over the window", "Good events / all events over each SLO's rolling window (periscope_slo_sli_ratio). Absent for an SLO without traffic in its window.",
      [(f'periscope_slo_sli_ratio{{{S}}}', "{{slo}}")], "percentunit")
panel("stat", "Error budget remaining", "The share of the error budget left over the window: 1 untouched, 0 or less spent.",
      [(f'periscope_slo_error_budget_remaining_ratio{{{S}}}', "{{slo}}")], "percentunit",
      extra={"fieldConfig": {"defaults": {"unit": "percentunit", "thresholds": {"mode": "absolute", "steps": [
          {"color": "red", "value": None}, {"color": "orange", "value": 0}, {"color": "green", "value": 0.25}]}}, "overrides": []}})
panel("stat", "Time to exhaustion", "When the budget runs out at the last hour's burn rate; absent while the budget is not being spent.",
      [(f'periscope_slo_time_to_exhaustion_seconds{{{S}}}', "{{slo}}")], "s")
endrow()
panel("timeseries", "Burn rate by window", "Error ratio / error budget over each alerting window. 1 spends the budget exactly over the SLO window; the page fires at 14.4 (1h and 5m) or 6 (6h and 30m), the ticket at 3 (1d and 2h) or 1 (3d and 6h).",
      [(f'periscope_slo_burn_rate{{{S}}}', "{{slo}} {{window}}")], None, w=12)
panel("timeseries", "Error budget remaining over time", "periscope_slo_error_budget_remaining_ratio as Prometheus recorded it at each scrape.",
      [(f'periscope_slo_error_budget_remaining_ratio{{{S}}}', "{{slo}}")], "percentunit", w=12)
endrow()
panel("timeseries", "Burn-rate alerts", "1 while the collector's multi-window burn-rate alert of that severity fires (the same alerts it sends to Alertmanager).",
      [(f'periscope_slo_alert_firing{{{S}}}', "{{slo}} {{severity}}")], None, w=12)
panel("timeseries", "Events over the window", "All and good events counted over each SLO's window.",
      [(f'periscope_slo_window_events{{{S}}}', "{{slo}} {{kind}}")], "short", w=12)
endrow()
row("Collector")
panel("timeseries", "Stored items/s", "Spans, log records and metric points stored, per collector and signal.",
      [('sum by (instance, signal) (rate(periscope_collector_stored_items_total[$__rate_interval]))', "{{instance}} {{signal}}")], "short")
panel("timeseries", "Refused requests/s", "Requests refused whole: 400 undecodable, 408 too slow, 413 too large, 415 wrong type, 503 disk refusing writes or at the request limit.",
      [('sum by (instance, signal, code) (rate(periscope_collector_refused_requests_total[$__rate_interval]))', "{{instance}} {{signal}} {{code}}")], "reqps")
panel("timeseries", "Rejected items and duplicate batches/s", "Items refused one by one (outside retention, too far ahead), and batches acknowledged again without being stored again.",
      [('sum by (instance, signal) (rate(periscope_collector_rejected_items_total[$__rate_interval]))', "rejected {{instance}} {{signal}}"),
       ('sum by (instance, signal) (rate(periscope_collector_duplicate_batches_total[$__rate_interval]))', "duplicate {{instance}} {{signal}}")], "short")
endrow()
panel("timeseries", "SLO evaluations/s", "Evaluations this collector ran (with a shared store, the turns it took), by result.",
      [('sum by (instance, result) (rate(periscope_collector_slo_evaluations_total[$__rate_interval]))', "{{instance}} {{result}}")], "short", w=12)
panel("timeseries", "Alertmanager posts/s", "Posts of SLO alerts to each Alertmanager, by result.",
      [('sum by (alertmanager, result) (rate(periscope_collector_alertmanager_posts_total[$__rate_interval]))', "{{alertmanager}} {{result}}")], "short", w=12)
endrow()
row("Agents")
panel("timeseries", "Queue utilization", "Bytes queued / the queue's max_size. At 100 % the agent answers 429 (queue.when_full: backpressure) or drops its oldest segment (drop_oldest).",
      [('periscope_agent_queue_utilization_ratio', "{{instance}}")], "percentunit")
panel("timeseries", "Oldest queued batch", "Age of the oldest batch not yet delivered: how far behind the collector the agent is.",
      [('periscope_agent_queue_oldest_age_seconds', "{{instance}}")], "s")
panel("timeseries", "Shipped items/s and drops", "Items delivered to the collector; batches dropped from a full queue; retries.",
      [('sum by (instance) (rate(periscope_agent_shipper_shipped_items_total[$__rate_interval]))', "shipped {{instance}}"),
       ('sum by (instance) (rate(periscope_agent_queue_dropped_total[$__rate_interval]))', "dropped batches {{instance}}"),
       ('sum by (instance) (rate(periscope_agent_shipper_retries_total[$__rate_interval]))', "retries {{instance}}")], "short")
endrow()

dashboard = {
    "__inputs": [],
    "annotations": {"list": []},
    "description": "Periscope: SLOs (burn rates, error budgets, alerts), collector ingest and agent queues, from the collector's and agents' /metrics.",
    "editable": True,
    "graphTooltip": 1,
    "links": [],
    "panels": panels,
    "refresh": "30s",
    "schemaVersion": 39,
    "tags": ["periscope", "slo"],
    "templating": {"list": [
        {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus", "current": {}, "hide": 0, "refresh": 1},
        {"name": "slo", "label": "SLO", "type": "query", "datasource": ds,
         "query": {"query": "label_values(periscope_slo_objective_ratio, slo)", "refId": "slo"},
         "definition": "label_values(periscope_slo_objective_ratio, slo)",
         "multi": True, "includeAll": True, "allValue": ".+", "current": {"text": "All", "value": "$__all"}, "refresh": 2, "sort": 1, "hide": 0},
    ]},
    "time": {"from": "now-6h", "to": "now"},
    "timepicker": {},
    "timezone": "",
    "title": "Periscope",
    "uid": "periscope-overview",
    "version": 1,
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'periscope-dashboard.json')
with open(out, 'w') as f:
    json.dump(dashboard, f, indent=2)
    f.write('\n')
