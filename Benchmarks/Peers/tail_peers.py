#!/usr/bin/env python3
"""Tailing peers side by side with periscope-tail-bench: rsyslog and syslog-ng read the same
file of JSON lines from its beginning and forward every line over TCP to a counting sink here.

Each peer runs pinned to --cpu (the sink to --sink-cpu), from a fresh work directory, with the
configurations in ../shared/peers/tail (placeholders __WORK__, __FILE__, __PORT__). A run ends
when the sink has every line; the peer's CPU time (utime+stime from /proc/PID/stat) and peak
RSS (VmHWM) are read then, and the sink waits a moment longer to see any line sent twice.

Prints one JSON object: per configuration, every run's MiB per CPU-second, MiB/s wall, lines
received and peak RSS, and the median / min / max of MiB per CPU-second.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CONFIGS = {
    "rsyslog-forward": ("rsyslog", "rsyslog-forward.conf.in"),
    "rsyslog-mmjsonparse": ("rsyslog", "rsyslog-mmjsonparse.conf.in"),
    "syslog-ng-forward": ("syslog-ng", "syslog-ng-forward.conf.in"),
    "syslog-ng-forward-tuned": ("syslog-ng", "syslog-ng-forward-tuned.conf.in"),
    "syslog-ng-json": ("syslog-ng", "syslog-ng-json.conf.in"),
}
TICKS = os.sysconf("SC_CLK_TCK")


class Sink:
    """Accepts TCP connections on a free loopback port and counts newline-terminated lines."""

    def __init__(self):
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.lines = 0
        self.last_byte = None
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(connection,), daemon=True).start()

    def _read(self, connection):
        with connection:
            while True:
                try:
                    chunk = connection.recv(1 << 20)
                except OSError:
                    return
                if not chunk:
                    return
                with self.lock:
                    self.lines += chunk.count(b"\n")
                    self.last_byte = time.monotonic()

    def close(self):
        self.closed = True
        self.server.close()


def process_figures(pid):
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    peak_kib = 0
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                peak_kib = int(line.split()[1])
    return cpu, peak_kib / 1024


def command_for(tool, conf, work, cpu):
    pin = ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []
    if tool == "rsyslog":
        return pin + [os.environ.get("RSYSLOGD", "rsyslogd"), "-n", "-f", conf, "-i", os.path.join(work, "pid")], None
    binary = os.environ.get("SYSLOG_NG", "syslog-ng")
    command = pin + [binary, "-F", "--no-caps", "-f", conf, "--persist-file", os.path.join(work, "persist"),
                     "--pidfile", os.path.join(work, "pid"), "--control", os.path.join(work, "ctl")]
    if os.environ.get("SYSLOG_NG_MODULES"):
        command += ["--module-path", os.environ["SYSLOG_NG_MODULES"]]
    return command, os.environ.get("SYSLOG_NG_LIBRARY_PATH")


def run_once(name, peers_dir, path, lines, mib, cpu, timeout):
    tool, template = CONFIGS[name]
    work = tempfile.mkdtemp(prefix=f"tail-peer-{name}-")
    sink = Sink()
    try:
        with open(os.path.join(peers_dir, template)) as handle:
            text = handle.read()
        conf = os.path.join(work, "peer.conf")
        with open(conf, "w") as handle:
            handle.write(text.replace("__WORK__", work).replace("__FILE__", path).replace("__PORT__", str(sink.port)))
        command, library_path = command_for(tool, conf, work, cpu)
        environment = dict(os.environ)
        if library_path:
            environment["LD_LIBRARY_PATH"] = library_path
        log = open(os.path.join(work, "peer.log"), "w")
        started = time.monotonic()
        peer = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
        deadline = started + timeout
        while time.monotonic() < deadline and peer.poll() is None:
            with sink.lock:
                if sink.lines >= lines:
                    break
            time.sleep(0.01)
        if peer.poll() is not None:
            raise RuntimeError(f"{name} exited with {peer.returncode}: {open(os.path.join(work, 'peer.log')).read()[-800:]}")
        cpu_seconds, peak_mib = process_figures(peer.pid)
        with sink.lock:
            complete = sink.lines >= lines
            last_byte = sink.last_byte or time.monotonic()
        time.sleep(0.5)  # anything sent twice arrives now
        peer.terminate()
        try:
            peer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            peer.kill()
            peer.wait()
        log.close()
        with sink.lock:
            received = sink.lines
        wall = max(last_byte - started, 1e-6)
        return {
            "complete": complete, "lines": lines, "received": received,
            "cpuSeconds": round(cpu_seconds, 3), "wallSeconds": round(wall, 3),
            "mibPerCPUSecond": round(mib / max(cpu_seconds, 1e-6), 1), "mibPerSecond": round(mib / wall, 1),
            "peakRSSMiB": round(peak_mib, 1),
        }
    finally:
        sink.close()
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True, help="the JSON-lines file periscope-tail-bench tailed")
    parser.add_argument("--peers-dir", required=True, help="directory of the *.conf.in configurations")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated configuration names")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=1, help="CPU the peer is pinned to")
    parser.add_argument("--sink-cpu", type=int, default=0, help="CPU this sink is pinned to")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    if args.sink_cpu is not None and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {args.sink_cpu})
        except OSError:
            pass
    with open(args.file, "rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b""))
    mib = os.path.getsize(args.file) / 1048576
    report = {"file": args.file, "mib": round(mib, 1), "lines": lines, "configs": {}}
    for name in [n for n in args.configs.split(",") if n]:
        runs, error = [], None
        for _ in range(args.runs):
            try:
                runs.append(run_once(name, args.peers_dir, args.file, lines, mib, args.cpu, args.timeout))
            except (OSError, RuntimeError) as failure:
                error = str(failure)
                break
        figures = [r["mibPerCPUSecond"] for r in runs if r["complete"]]
        report["configs"][name] = {
            "runs": runs, "error": error,
            "exactlyOnce": bool(runs) and all(r["complete"] and r["received"] == lines for r in runs),
            "medianMiBPerCPUSecond": statistics.median(figures) if figures else None,
            "minMiBPerCPUSecond": min(figures) if figures else None,
            "maxMiBPerCPUSecond": max(figures) if figures else None,
            "medianMiBPerSecond": statistics.median([r["mibPerSecond"] for r in runs]) if runs else None,
        }
        print(f"{name}: {report['configs'][name]['medianMiBPerCPUSecond']} MiB/CPU-s (median of {len(figures)}), "
              f"error: {error}", file=sys.stderr)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
