"""A second backend: any OpenAI-compatible server (llama.cpp's llama-server, Ollama,
LM Studio, vLLM, llama-cpp-python's own server).

Model spec: ``openai+http://HOST:PORT/v1#MODEL`` (or ``openai+https://...``). The
part after ``#`` is the server's model id; without it the server's first model is
used. Add ``?chat=1`` before the ``#`` for an instruction model: the probe then sends
chat messages to ``/chat/completions`` instead of text to ``/completions``.

Requests use temperature 0 and a seed, a timeout, retries with exponential backoff
on connection errors and 5xx answers, and bounded concurrency (``concurrency``,
1 by default). A server that keeps the KV cache of a shared prompt prefix (llama.cpp
and llama-cpp-python do) computes a prompt in a different batch split depending on
what came before; with one request at a time the order, and so the answers, are
reproducible; with more, greedy answers can differ where two tokens nearly tie.
What a generic server does not offer
(a tokenizer, GGUF metadata, memory accounting) is asked of llama.cpp's own
endpoints (``/tokenize``, ``/props``; llama-cpp-python's ``/extras/tokenize``) and
otherwise reported as unavailable: never replaced by another tokenizer.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .errors import ReportlibError
from .generation import Completion

PREFIX = "openai+"
CHAT_PREFIX = "\x00reportlib-chat:"  #: marks a prompt that is a JSON list of chat messages


def is_server_spec(spec: str | None) -> bool:
    return bool(spec) and str(spec).startswith(PREFIX)


@dataclass(frozen=True)
class ServerSpec:
    base_url: str  #: ends with /v1 (or whatever the server's API root is)
    model: str | None
    chat: bool


def parse_server_spec(spec: str) -> ServerSpec:
    """``openai+http://127.0.0.1:8080/v1?chat=1#name`` -> its parts (raises on a bad spec)."""
    if not is_server_spec(spec):
        raise ReportlibError(f"not a server spec: {spec!r}; use openai+http://HOST:PORT/v1#MODEL")
    url = urllib.parse.urlsplit(spec[len(PREFIX) :])
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ReportlibError(f"bad server spec {spec!r}: expected openai+http://HOST:PORT/v1#MODEL")
    query = urllib.parse.parse_qs(url.query)
    unknown = set(query) - {"chat"}
    if unknown:
        raise ReportlibError(f"bad server spec {spec!r}: unknown option(s) {sorted(unknown)}; "
                             "the only option is ?chat=1")  # fmt: skip
    base = urllib.parse.urlunsplit((url.scheme, url.netloc, url.path.rstrip("/"), "", ""))
    return ServerSpec(base, url.fragment or None, query.get("chat", ["0"])[0] in ("1", "true"))


class OpenAIServerModel:
    """A model behind an OpenAI-compatible HTTP API."""

    def __init__(self, spec: str, *, timeout: float = 120.0, retries: int = 3,
                 backoff: float = 0.5, concurrency: int = 1, n_ctx: int | None = None) -> None:  # fmt: skip
        self.spec = parse_server_spec(spec)
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        if concurrency < 1:
            raise ReportlibError(f"concurrency must be at least 1, not {concurrency}")
        self.concurrency = concurrency
        models = [m["id"] for m in self._request("GET", "/models").get("data", [])]
        if self.spec.model is None:
            if not models:
                raise ReportlibError(f"the server at {self.spec.base_url} lists no models")
            self.model_id = models[0]
        elif models and self.spec.model not in models:
            raise ReportlibError(
                f"the server at {self.spec.base_url} has no model {self.spec.model!r}; "
                f"it serves: {', '.join(models)}"
            )
        else:
            self.model_id = self.spec.model
        self._n_ctx = n_ctx or self._server_context() or 0
        self.card = {"name": self.model_id, "architecture": None, "chat_template": self.spec.chat,
                     "trained_context": None, "backend": f"HTTP {self.spec.base_url}"}  # fmt: skip

    # -- HTTP ---------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        if path.startswith("/v1/") or not path.startswith("/"):
            return path
        return self.spec.base_url + path

    def _root_url(self, path: str) -> str:
        """An endpoint outside the /v1 API root (llama.cpp's /tokenize, /props)."""
        parts = urllib.parse.urlsplit(self.spec.base_url)
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None,
                 root: bool = False) -> dict[str, Any]:  # fmt: skip
        url = self._root_url(path) if root else self._url(path)
        data = json.dumps(body).encode() if body is not None else None
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(url, data=data, method=method,
                                             headers={"Content-Type": "application/json"})  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                if exc.code < 500:  # the request is wrong: retrying will not help
                    detail = exc.read().decode("utf-8", errors="replace")[:300]
                    raise ReportlibError(f"{method} {url} answered {exc.code}: {detail}") from None
                last = exc
            except TimeoutError as exc:
                raise ReportlibError(
                    f"{method} {url} timed out after {self.timeout:g} s; raise the timeout "
                    "or check the server"
                ) from exc
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                if isinstance(getattr(exc, "reason", None), TimeoutError):
                    raise ReportlibError(
                        f"{method} {url} timed out after {self.timeout:g} s"
                    ) from None
                last = exc
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        raise ReportlibError(
            f"cannot reach the server at {url} after {self.retries + 1} attempts: {last}"
        )

    def _server_context(self) -> int | None:
        try:
            props = self._request("GET", "/props", root=True)
        except ReportlibError:
            return None
        settings = props.get("default_generation_settings", {})
        return settings.get("n_ctx") or props.get("n_ctx")

    # -- the TextModel protocol -----------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        return f"openai-server:{self.model_id}"

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def name(self) -> str:
        return self.model_id

    @property
    def has_chat_template(self) -> bool:
        return self.spec.chat

    def format_chat(self, messages: list[dict[str, str]]) -> str:
        """The server applies its own template: the messages travel as JSON."""
        return CHAT_PREFIX + json.dumps(messages, ensure_ascii=False)

    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        """The server's own tokenizer (llama.cpp ``/tokenize`` or llama-cpp-python's
        ``/extras/tokenize``); there is no fallback to another tokenizer."""
        attempts = (("/tokenize", {"content": text, "add_special": add_bos}, True),
                    ("/extras/tokenize", {"input": text}, True))  # fmt: skip
        for path, body, root in attempts:
            try:
                return list(self._request("POST", path, body, root=root)["tokens"])
            except (ReportlibError, KeyError):
                continue
        raise ReportlibError(
            f"the server at {self.spec.base_url} offers no tokenizer endpoint (/tokenize or "
            "/extras/tokenize); measurements in the model's own tokens are not available"
        )

    def complete(self, prompt: str, *, max_tokens: int, seed: int, stop: Sequence[str] = (),
                 reuse_prefix: bool = False) -> Completion:  # fmt: skip
        sampling = {"max_tokens": max_tokens, "temperature": 0.0, "seed": seed, "top_p": 1.0,
                    "top_k": 1, "min_p": 0.0, "repeat_penalty": 1.0, "model": self.model_id}  # fmt: skip
        if stop:
            sampling["stop"] = list(stop)
        if prompt.startswith(CHAT_PREFIX):
            messages = json.loads(prompt[len(CHAT_PREFIX) :])
            out = self._request("POST", "/chat/completions", {"messages": messages, **sampling})
            text = out["choices"][0]["message"]["content"] or ""
        else:
            out = self._request("POST", "/completions", {"prompt": prompt, **sampling})
            text = out["choices"][0]["text"]
        usage = out.get("usage") or {}
        return Completion(text, int(usage.get("prompt_tokens", -1)),
                          int(usage.get("completion_tokens", -1)),
                          out["choices"][0].get("finish_reason") or "stop", -1)  # fmt: skip

    def complete_many(self, prompts: Sequence[str], **kwargs: Any) -> list[Completion]:
        """Several completions, at most ``concurrency`` requests in flight, in order."""
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda p: self.complete(p, **kwargs), prompts))
