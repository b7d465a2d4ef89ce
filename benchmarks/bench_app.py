"""Time from upload to verdict in the app vs `formscout screen` on the same clip.

    .venv/bin/python benchmarks/bench_app.py [--clip tools/assets/demo_deep_squat.mp4] [--repeat 3]

Three figures, each the median of --repeat runs on the same clip, with one
fresh FormScout home (empty library) shared by all of them:
  app:       the real app (`python app.py`) in a subprocess, driven by headless
             Chromium: from handing the file to the upload widget to the
             verdict on the page (upload + screening + page update);
  cli:       `formscout screen CLIP --test T` as a subprocess, wall clock
             (includes starting Python and importing MediaPipe/torch, which
             the app pays once at start);
  in-process: agent.screening.run.screen() called directly in a warm process
             (what both wrap).
Runs are interleaved (cli, app, in-process, cli, ...) after one warm-up of
the app and of the in-process path, so a busy machine slows all three alike.
Prints one line per run and a summary; needs /usr/bin/chromium and the
playwright package. Figures only, no timed asserts.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VERDICT_DONE = """() => {
  const head = document.querySelector('#verdict h2, #verdict h3');
  return !!head && /of 3|physio review|Could not do that|Something went wrong/.test(head.innerText);
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_app(env: dict, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port)], cwd=str(REPO),
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited: see {log_path}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the app did not start within 120 s")


def app_once(browser, url: str, clip: Path) -> tuple[float, str]:
    """One upload -> verdict in a fresh page; (seconds, the verdict's heading)."""
    page = browser.new_page()
    page.goto(url)
    page.wait_for_selector("#screen_button")
    t0 = time.perf_counter()
    page.locator("#clip_upload input[type=file]").set_input_files(str(clip))
    page.wait_for_function("(n) => document.querySelector('#clip_upload').innerText.includes(n)", arg=clip.name)
    page.click("#screen_button")
    page.wait_for_function(VERDICT_DONE, timeout=600_000)
    dt = time.perf_counter() - t0
    head = page.inner_text("#verdict h2, #verdict h3").strip()
    page.close()
    return dt, head


def cli_once(clip: Path, test: str, env: dict, out: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "agent.cli.main", "screen", str(clip), "--test", test, "--out", str(out)],
                         cwd=str(REPO), env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    return dt, (res.stdout.splitlines()[0] if res.stdout else f"exit {res.returncode}: {res.stderr[-200:]}")


def in_process_once(clip: Path, test: str, out: Path) -> tuple[float, str]:
    from agent.screening.protocol import ScreenRequest
    from agent.screening.run import screen
    t0 = time.perf_counter()
    v = screen(ScreenRequest(source=str(clip), test=test, run_dir=str(out)))
    return time.perf_counter() - t0, f"score {v['score']}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", default=str(REPO / "tools" / "assets" / "demo_deep_squat.mp4"))
    p.add_argument("--test", default="deep_squat")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args(argv)
    clip = Path(args.clip).resolve()
    if not Path(args.chromium).is_file():
        print(f"{args.chromium} is absent: apt-get install -y chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="formscout_bench_app_") as tmp:
        work = Path(tmp)
        env = dict(os.environ, FORMSCOUT_HOME=str(work / "home"), FORMSCOUT_DB=str(work / "home" / "formscout.duckdb"),
                   GRADIO_ANALYTICS_ENABLED="False", GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="3")
        env.pop("GRADIO_TEMP_DIR", None)
        os.environ.update({k: env[k] for k in ("FORMSCOUT_HOME", "FORMSCOUT_DB")})
        print(f"clip {clip.name} ({clip.stat().st_size / 1e6:.2f} MB), test {args.test}, "
              f"{os.cpu_count()} CPU cores, median of {args.repeat}", flush=True)
        from playwright.sync_api import sync_playwright
        proc, url = _start_app(env, work / "app.log")
        cli, app, inproc = [], [], []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                # warm-ups: the app's first clip loads the models, as a physio's first clip does
                print(f"app  warm-up: {app_once(browser, url, clip)[0]:6.2f} s", flush=True)
                print(f"in-process warm-up: {in_process_once(clip, args.test, work / 'in_0')[0]:6.2f} s", flush=True)
                for i in range(1, args.repeat + 1):     # interleaved, so load on the machine hits all three alike
                    for name, runs, fn in (("cli ", cli, lambda: cli_once(clip, args.test, env, work / f"cli_{i}")),
                                           ("app ", app, lambda: app_once(browser, url, clip)),
                                           ("in-process", inproc, lambda: in_process_once(clip, args.test,
                                                                                          work / f"in_{i}"))):
                        dt, what = fn()
                        runs.append(dt)
                        print(f"{name} run {i}: {dt:6.2f} s  ({what})", flush=True)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    m_app, m_cli, m_in = (statistics.median(x) for x in (app, cli, inproc))
    print(f"\nupload -> verdict in the app:        {m_app:6.2f} s (median; runs {', '.join(f'{t:.2f}' for t in app)})")
    print(f"formscout screen (new process):      {m_cli:6.2f} s (median; runs {', '.join(f'{t:.2f}' for t in cli)})")
    print(f"screen() in a warm process:          {m_in:6.2f} s (median; runs {', '.join(f'{t:.2f}' for t in inproc)})")
    print(f"app / cli = {m_app / m_cli:.3f} ({100 * (m_app / m_cli - 1):+.1f}%); "
          f"app / in-process = {m_app / m_in:.3f} ({100 * (m_app / m_in - 1):+.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
