"""The HTTP backend: spec parsing, retries and timeouts against tiny local servers, and
the real llama-cpp-python OpenAI-compatible server on loopback with the embedded model."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reportlib.backends.cached_model import CachedModel
from reportlib.backends.http import OpenAIServerModel, parse_server_spec
from reportlib.backends.llamacpp import FLASH_ATTENTION
from reportlib.backends.loading import load_model
from reportlib.core.cache import ResultCache
from reportlib.core.errors import ReportlibError

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def test_spec_parsing():
    spec = parse_server_spec("openai+http://127.0.0.1:8080/v1/?chat=1#llama-3.1-8b")
    assert spec.base_url == "http://127.0.0.1:8080/v1" and spec.model == "llama-3.1-8b"
    assert spec.chat
    assert parse_server_spec("openai+https://gpu.example/v1").model is None
    for bad in ("openai+ftp://x/v1", "openai+http:///v1", "openai+http://h:1/v1?foo=1"):
        with pytest.raises(ReportlibError, match="server spec"):
            parse_server_spec(bad)


class Scripted(BaseHTTPRequestHandler):
    """A fake server: /v1/models, and /v1/completions answering by a script."""

    script: list[tuple[int, float]] = []  # (status, delay) per completion request
    hits = 0
    in_flight = 0  #: completion requests being answered now
    most_in_flight = 0  #: the most at any one time
    lock = threading.Lock()

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(200, {"data": [{"id": "fake"}]})

    def do_POST(self):
        cls = type(self)
        status, delay = cls.script[min(cls.hits, len(cls.script) - 1)]
        with cls.lock:
            cls.hits += 1
            cls.in_flight += 1
            cls.most_in_flight = max(cls.most_in_flight, cls.in_flight)
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(delay)
        with cls.lock:
            cls.in_flight -= 1
        if status != 200:
            self._send(status, {"error": "scripted"})
        else:
            self._send(
                200,
                {
                    "choices": [{"text": " ok", "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 1},
                },
            )


@pytest.fixture
def fake_server():
    port = free_port()
    server = ThreadingHTTPServer((LOOPBACK, port), Scripted)
    Scripted.hits, Scripted.script = 0, [(200, 0.0)]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"openai+http://{LOOPBACK}:{port}/v1"
    server.shutdown()


def test_retries_on_5xx_then_succeeds(fake_server):
    Scripted.script = [(503, 0.0), (500, 0.0), (200, 0.0)]
    model = OpenAIServerModel(fake_server, retries=3, backoff=0.01)
    assert model.complete("hi", max_tokens=4, seed=0).text == " ok"
    assert Scripted.hits == 3


def test_gives_up_after_the_retries(fake_server):
    Scripted.script = [(500, 0.0)]
    model = OpenAIServerModel(fake_server, retries=2, backoff=0.01)
    with pytest.raises(ReportlibError, match="after 3 attempts"):
        model.complete("hi", max_tokens=4, seed=0)


def test_a_slow_server_hits_the_timeout(fake_server):
    Scripted.script = [(200, 2.0)]
    model = OpenAIServerModel(fake_server, timeout=0.3, retries=0)
    with pytest.raises(ReportlibError, match="timed out after 0.3 s"):
        model.complete("hi", max_tokens=4, seed=0)


def test_a_wrong_model_name(fake_server):
    with pytest.raises(ReportlibError, match=r"has no model 'llama'.*serves: fake"):
        OpenAIServerModel(fake_server + "#llama")


def test_an_unreachable_address():
    spec = f"openai+http://{LOOPBACK}:{free_port()}/v1#x"  # nothing listens there
    with pytest.raises(ReportlibError, match="cannot reach the server"):
        OpenAIServerModel(spec, retries=1, backoff=0.01)


def test_concurrency_is_bounded_and_order_kept(fake_server, tmp_path):
    """Counted at the server, not timed: a loaded machine cannot make it flaky."""
    Scripted.script = [(200, 0.2)]
    deadline = time.monotonic() + 30  # an earlier test's slow answers finish first
    while Scripted.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    Scripted.most_in_flight = 0
    model = CachedModel(OpenAIServerModel(fake_server, concurrency=4), ResultCache(tmp_path / "c"))
    prompts = [f"p{i}" for i in range(8)]
    out = list(model.complete_many(prompts, max_tokens=2, seed=0))
    assert len(out) == 8 and Scripted.hits == 8
    assert Scripted.most_in_flight == 4  # four at a time, never more, and not one by one
    assert [r.text for r in out] == [" ok"] * 8 and len(model.cache) == 8


# -- the real server ------------------------------------------------------------------------
# llama-cpp-python's own OpenAI-compatible server (the `server` extra, a dev dependency), on
# loopback, with the embedded model and the in-process backend's settings.


def start_llama_server(port: int) -> subprocess.Popen:
    from reportlib.backends.specs import resolve_model

    path = resolve_model("default").path
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(path),
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
            "--n_batch",
            "512",
            "--model_alias",
            "gemma-embedded",
            "--verbose",
            "False",
            "--flash_attn",
            str(FLASH_ATTENTION),
        ],  # as the in-process backend
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://{LOOPBACK}:{port}/v1/models", timeout=1)
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("llama_cpp.server exited at start") from None
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("llama_cpp.server did not start in 90 s")


@pytest.fixture
def llama_server():
    """A fresh server per test: its KV cache starts empty, like a fresh in-process model."""
    port = free_port()
    proc = start_llama_server(port)
    yield f"openai+http://{LOOPBACK}:{port}/v1#gemma-embedded", port
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.model
@pytest.mark.slow
def test_probe_answers_equal_in_process(llama_server, tmp_path):
    from reportlib.experiments.probe.prompts import probe_language_codes
    from reportlib.experiments.probe.runner import run_language_probe

    spec, _ = llama_server
    langs = probe_language_codes("en,ko")
    remote = run_language_probe(
        load_model(spec, cache=ResultCache(tmp_path / "a")), "m", langs, samples=2, max_tokens=24
    )
    # llama_cpp.server answers with llama-cpp-python's create_completion, which reuses any
    # prefix it shares with the previous request (the book's in-process reuse keeps whole
    # batches only, so that an answer never depends on the one before): the same call on
    # the same model in process, in the same order, must give the server's answers
    local = load_model("default", n_ctx=2048, cache=ResultCache(tmp_path / "b")).model
    greedy = {"temperature": 0.0, "top_k": 1, "top_p": 1.0, "min_p": 0.0, "repeat_penalty": 1.0}
    expected = [
        local._llm.create_completion(r["prompt"], max_tokens=24, seed=0, **greedy)["choices"][0][
            "text"
        ]
        for r in remote
    ]
    assert [r["answer"] for r in remote] == expected


@pytest.mark.model
@pytest.mark.slow
def test_needle_grid_over_http_uses_the_servers_tokenizer(llama_server, tmp_path):
    from reportlib.experiments.context.needles import needle_grid, run_needle_grid

    spec, port = llama_server
    with pytest.raises(ReportlibError, match="no model 'nope'.*gemma-embedded"):
        OpenAIServerModel(f"openai+http://{LOOPBACK}:{port}/v1#nope")
    remote = load_model(spec, cache=ResultCache(tmp_path / "a"))
    local = load_model("default", n_ctx=2048, cache=ResultCache(tmp_path / "b"))
    assert remote.tokenize("토큰화 hello") == local.tokenize("토큰화 hello")
    cases = needle_grid(remote.tokenize, [256, 512], [0.0, 1.0], needles=1)
    over_http = run_needle_grid(remote, cases)
    # the server's call (create_completion, reusing any shared prefix), in process, in order
    greedy = {"temperature": 0.0, "top_k": 1, "top_p": 1.0, "min_p": 0.0, "repeat_penalty": 1.0}
    llm = local.model._llm
    expected = [
        llm.create_completion(c.prompt, max_tokens=12, seed=0, **greedy)["choices"][0]["text"]
        for c in cases
    ]
    assert [r["answer"] for r in over_http] == expected
    # the book's own reuse gives a fresh evaluation's answers, in any order (uncached)
    in_order = [r["answer"] for r in run_needle_grid(local.model, cases)]
    reversed_order = [r["answer"] for r in run_needle_grid(local.model, cases[::-1])][::-1]
    assert in_order == reversed_order


@pytest.mark.model
@pytest.mark.slow
def test_server_stopped_mid_run_keeps_results_and_resumes(tmp_path):
    from reportlib.experiments.probe.prompts import probe_language_codes
    from reportlib.experiments.probe.runner import run_language_probe

    port = free_port()
    proc = start_llama_server(port)
    spec = f"openai+http://{LOOPBACK}:{port}/v1#gemma-embedded"
    cache = ResultCache(tmp_path / "cache")
    model = CachedModel(OpenAIServerModel(spec, retries=1, backoff=0.05), cache)
    langs = probe_language_codes("en,ko,ru")

    def kill_after_three_answers() -> None:
        deadline = time.time() + 300
        while len(cache) < 3 and time.time() < deadline:
            time.sleep(0.05)
        proc.kill()

    stopper = threading.Thread(target=kill_after_three_answers)
    stopper.start()
    with pytest.raises(ReportlibError, match="cannot reach the server"):
        run_language_probe(model, "m", langs, samples=3, max_tokens=32)
    stopper.join()
    kept = len(cache)
    assert 0 < kept < 27
    proc = start_llama_server(port)
    try:
        resumed = CachedModel(OpenAIServerModel(spec), cache)
        rows = run_language_probe(resumed, "m", langs, samples=3, max_tokens=32)
        # only the missing answers are asked for (English's two request styles share a prompt)
        assert len(rows) == 27 and resumed.calls == len({r["prompt"] for r in rows}) - kept
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_http_backend_is_chosen_by_the_spec(fake_server, tmp_path):
    model = load_model(fake_server, cache=ResultCache(tmp_path / "c"))
    assert isinstance(model.model, OpenAIServerModel)
    assert model.name == "fake"
    assert model.cache_identity()["server"] == fake_server.removeprefix("openai+")


def test_a_server_model_has_a_card(fake_server):
    from reportlib.backends.loading import model_card_for

    card = model_card_for(fake_server)
    assert card["name"] == "fake" and card["backend"].startswith("HTTP http://127.0.0.1")


@pytest.mark.model
@pytest.mark.slow
def test_context_chapter_runs_against_a_server(llama_server, tmp_path):
    """A chapter receives a server model like any other: the needle grid runs over HTTP with
    the server's tokenizer, and what needs the model in process is reported as not measured."""
    import nbformat
    import pandas as pd

    from reportlib.site.chapters import run_chapter

    spec, _ = llama_server
    params = {
        "model": spec,
        "lengths": [256, 512],
        "depths": [0.5],
        "needles": 1,
        "latency_lengths": [128],
        "kv_contexts": [1024],
        "n_ctx": 2048,
        # RULER's grids at their smallest: the point is the chapter over HTTP, not the grid
        "ruler_lengths": {"flores-en": [1024], "filler": [1024]},
        "ruler_samples": {"1024": 1},
        "separate_lengths": [640, 1024],
        "separate_samples": 1,
        "control_samples": 1,
    }
    executed = run_chapter("context", params, tmp_path, progress=False)
    grid = pd.read_csv(executed.parent / "context-needles.csv")
    assert len(grid) == 2 and grid.answer.notna().all()
    outputs = " ".join(  # displayed or glued (glue prefixes the mime type)
        str(value)
        for c in nbformat.read(executed, as_version=4).cells
        for o in c.get("outputs", [])
        for mime, value in o.get("data", {}).items()
        if mime.endswith("text/markdown")
    )
    assert "Not measured:** latency" in outputs and "Not measured:** KV-cache memory" in outputs


class Hostile(BaseHTTPRequestHandler):
    """A misbehaving server: its completion endpoint answers according to ``mode``."""

    mode = "ok"
    answer = " ok"
    hits = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        data = json.dumps({"data": [{"id": "fake"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        cls = type(self)
        cls.hits += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        good = {"choices": [{"text": cls.answer, "finish_reason": "stop"}], "usage": {}}
        body = json.dumps(good).encode()
        self.send_response(200)
        if cls.mode == "trickle":  # a byte now and then, never finishing within the deadline
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(60):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
            return
        if cls.mode == "huge":
            body = b'{"choices": [{"text": "' + b"x" * (6 * 2**20) + b'"}]}'
        elif cls.mode == "cut" and cls.hits == 1:  # the first answer is cut mid-body
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:10])
            self.wfile.flush()
            self.close_connection = True
            return
        elif cls.mode == "html":
            body = b"<html><body>502 Bad Gateway</body></html>"
        elif cls.mode == "nochoices":
            body = b'{"object": "text_completion"}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def hostile_server(mode: str, answer: str = " ok") -> tuple[ThreadingHTTPServer, str]:
    port = free_port()
    handler = type(f"Hostile_{mode}_{port}", (Hostile,), {"mode": mode, "answer": answer})
    server = ThreadingHTTPServer((LOOPBACK, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"openai+http://{LOOPBACK}:{port}/v1"


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("trickle", "did not finish within the deadline of 1 s"),
        ("huge", "sent more than 4,194,304 bytes"),
        ("html", "did not answer with JSON .*502 Bad Gateway"),
        ("nochoices", "answered JSON without a completion"),
    ],
)
def test_a_misbehaving_server_gets_one_clear_error_naming_it(mode, message):
    server, spec = hostile_server(mode)
    try:
        model = OpenAIServerModel(spec, deadline=1.0, retries=0)
        start = time.perf_counter()
        with pytest.raises(ReportlibError, match=message) as error:
            model.complete("hi", max_tokens=4, seed=0)
        assert spec.removeprefix("openai+") in str(error.value)
        assert time.perf_counter() - start < 10
    finally:
        server.shutdown()


def test_a_response_cut_mid_body_is_retried():
    server, spec = hostile_server("cut")
    try:
        model = OpenAIServerModel(spec, retries=2, backoff=0.01)
        assert model.complete("hi", max_tokens=4, seed=0).text == " ok"
    finally:
        server.shutdown()


def test_two_servers_with_one_model_id_do_not_share_cached_answers(tmp_path):
    first, first_spec = hostile_server("ok", " from the first")
    second, second_spec = hostile_server("ok", " from the second")
    cache = ResultCache(tmp_path / "c")
    try:
        a = CachedModel(OpenAIServerModel(first_spec), cache).complete("hi", max_tokens=4, seed=0)
        b = CachedModel(OpenAIServerModel(second_spec), cache).complete("hi", max_tokens=4, seed=0)
    finally:
        first.shutdown()
        second.shutdown()
    assert (a.text, b.text) == (" from the first", " from the second")


class BadListing(Hostile):
    def do_GET(self):
        data = json.dumps({"data": ["just-a-name"]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_a_malformed_model_listing_is_one_clear_error():
    port = free_port()
    server = ThreadingHTTPServer((LOOPBACK, port), BadListing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ReportlibError, match=r"answered /models without a list of model ids"):
            OpenAIServerModel(f"openai+http://{LOOPBACK}:{port}/v1")
    finally:
        server.shutdown()


# -- hostile servers, round three (issue 28, items 2, 3 and 9) --------------------------------
class Elsewhere(Hostile):
    """The host a redirect points to: it answers anything, a GET included."""

    def do_GET(self):
        type(self).hits += 1
        body = json.dumps({"choices": [{"text": " from elsewhere"}], "data": []}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_redirect_to_another_host_is_refused_not_followed(tmp_path):
    """Was: followed as a GET without the prompt, and the other host's answer cached under
    the first server's identity."""
    port = free_port()
    elsewhere = ThreadingHTTPServer(("127.0.0.2", port), type("E", (Elsewhere,), {"hits": 0}))
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    target = f"http://127.0.0.2:{port}/v1/completions"

    class Redirecting(Hostile):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

    first = ThreadingHTTPServer((LOOPBACK, free_port()), Redirecting)
    threading.Thread(target=first.serve_forever, daemon=True).start()
    spec = f"openai+http://{LOOPBACK}:{first.server_port}/v1"
    cache = ResultCache(tmp_path / "c")
    try:
        model = CachedModel(OpenAIServerModel(spec, retries=0), cache)
        with pytest.raises(ReportlibError) as error:
            model.complete("hi", max_tokens=4, seed=0)
    finally:
        first.shutdown()
        elsewhere.shutdown()
    assert str(error.value) == (
        f"POST http://{LOOPBACK}:{first.server_port}/v1/completions answered 302, a redirect "
        f"to {target!r}, which API calls do not follow (it would send the request elsewhere, "
        "without its body); give the address that answers in the model spec"
    )
    assert elsewhere.RequestHandlerClass.hits == 0 and len(cache) == 0


@pytest.mark.parametrize(
    ("answer", "chat", "shown"),
    [
        ({"text": None}, False, "choices[0].text = null"),
        ({"text": {"evil": 1}}, False, 'choices[0].text = {"evil": 1}'),
        ({"text": 7}, False, "choices[0].text = 7"),
        ({"message": {"role": "assistant", "content": None}}, True, "message.content = null"),
    ],
)
def test_an_answer_that_is_not_text_is_refused_and_not_cached(tmp_path, answer, chat, shown):
    """Was: null became "", an object its Python repr, both cached with finish "stop"."""
    body = json.dumps({"choices": [{**answer, "finish_reason": "stop"}], "usage": {}}).encode()

    class NotText(Hostile):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((LOOPBACK, free_port()), NotText)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    spec = f"openai+http://{LOOPBACK}:{server.server_port}/v1" + ("?chat=1" if chat else "")
    cache = ResultCache(tmp_path / "c")
    try:
        model = CachedModel(OpenAIServerModel(spec, retries=0), cache)
        prompt = model.format_chat([{"role": "user", "content": "hi"}]) if chat else "hi"
        with pytest.raises(ReportlibError) as error:
            model.complete(prompt, max_tokens=4, seed=0)
    finally:
        server.shutdown()
    path = "chat/completions" if chat else "completions"
    assert str(error.value).startswith(f"POST http://{LOOPBACK}:{server.server_port}/v1/{path} ")
    assert f"{shown}, not text; refused, and nothing was cached: " in str(error.value)
    assert json.dumps(answer)[1:-1] in str(error.value)  # what came back is quoted
    assert len(cache) == 0


class Trickling(BaseHTTPRequestHandler):
    """Lists its model at once, then answers POSTs a byte every ``interval`` seconds: its
    headers (``where = "headers"``) or its body; ``hits`` counts POSTs by path."""

    where, interval, hits = "headers", 0.1, {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        data = json.dumps({"data": [{"id": "fake"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        cls = type(self)
        cls.hits[self.path] = cls.hits.get(self.path, 0) + 1
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"choices": [{"text": " ok"}], "tokens": [1, 2]}'
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nX-Pad: {'x' * 400}\r\n\r\n"
        slow, fast = (head.encode(), body) if cls.where == "headers" else (body, head.encode())
        if cls.where == "body":
            self.wfile.write(fast)
        try:
            for byte in slow[:150]:  # at most 15 s: the old client waited for all of it
                self.wfile.write(bytes([byte]))
                time.sleep(cls.interval)
        except OSError:  # the client gave up: what it should do
            pass


def trickling_server(where: str, interval: float) -> tuple[ThreadingHTTPServer, str]:
    handler = type(f"Trickling_{where}", (Trickling,), {"where": where, "interval": interval})
    handler.hits = {}
    server = ThreadingHTTPServer((LOOPBACK, free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"openai+http://{LOOPBACK}:{server.server_port}/v1"


def test_a_server_that_trickles_its_headers_is_stopped_at_the_deadline(tmp_path):
    """Was: the deadline was checked only while the body was read (timeout=2, deadline=5:
    still blocked at 40 s)."""
    server, spec = trickling_server("headers", 0.1)
    try:
        model = OpenAIServerModel(spec, timeout=1.0, deadline=2.0, retries=0)
        start = time.monotonic()
        with pytest.raises(ReportlibError) as error:
            model.complete("hi", max_tokens=4, seed=0)
        elapsed = time.monotonic() - start
    finally:
        server.shutdown()
    assert str(error.value) == (
        f"POST {spec.removeprefix('openai+')}/completions did not finish within the deadline "
        "of 2 s; refused (raise the deadline if the server is this slow)"
    )
    assert 1.9 < elapsed < 5


@pytest.mark.parametrize("where", ["headers", "body"])
def test_the_default_deadline_stops_a_run_against_a_trickling_server(tmp_path, where):
    """A byte every 20 s against the default timeout of 120 s must stop a run within 5
    minutes: the same proportions, scaled down (a byte every 0.2 s, a timeout of 1.2 s, the
    run stopped within 2.5 timeouts). The first slow answer ends the run: no other prompt is
    tried, and no fallback endpoint waits again."""
    server, spec = trickling_server(where, 0.2)
    try:
        model = CachedModel(OpenAIServerModel(spec, timeout=1.2), ResultCache(tmp_path / "c"))
        assert model.model.deadline == 1.5 * 1.2  # 180 s with the default timeout of 120 s
        start = time.monotonic()
        with pytest.raises(ReportlibError, match="did not finish within the deadline of 1.8 s"):
            list(model.complete_many([f"prompt {i}" for i in range(5)], max_tokens=4, seed=0))
        assert time.monotonic() - start < 2.5 * 1.2
        with pytest.raises(ReportlibError, match="did not finish within the deadline"):
            model.tokenize("hi")  # /tokenize is slow: /extras/tokenize is not tried
    finally:
        server.shutdown()
    assert server.RequestHandlerClass.hits == {"/v1/completions": 1, "/tokenize": 1}
    assert len(model.cache) == 0


def test_concurrent_requests_stop_with_the_first_slow_answer(tmp_path):
    """With four requests in flight, the prompts not yet sent are not sent once one has
    missed the deadline (they were all sent, each waiting its own deadline)."""
    server, spec = trickling_server("headers", 0.2)
    try:
        model = CachedModel(
            OpenAIServerModel(spec, timeout=1.0, concurrency=4), ResultCache(tmp_path / "c")
        )
        start = time.monotonic()
        with pytest.raises(ReportlibError, match="did not finish within the deadline of 1.5 s"):
            list(model.complete_many([f"prompt {i}" for i in range(40)], max_tokens=4, seed=0))
        assert time.monotonic() - start < 1.5 + 1
    finally:
        server.shutdown()
    assert server.RequestHandlerClass.hits["/v1/completions"] == 4  # the first four only


def test_the_default_deadline_is_proportionate():
    """With the default timeout (120 s), 180 s: a run against a server that sends a byte
    every 20 s stops within 5 minutes (it was 600 s per prompt)."""
    import inspect

    timeout = inspect.signature(OpenAIServerModel).parameters["timeout"].default
    from reportlib.backends.http import DEADLINE_IN_TIMEOUTS

    assert timeout * DEADLINE_IN_TIMEOUTS <= 300 - 20
