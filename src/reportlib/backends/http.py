"""A second backend: any OpenAI-compatible server (llama.cpp's llama-server, Ollama,
LM Studio, vLLM, llama-cpp-python's own server).

Model spec: ``openai+http://HOST:PORT/v1#MODEL`` (or ``openai+https://...``). The
part after ``#`` is the server's model id; without it the server's first model is
used. Add ``?chat=1`` (or ``true``; ``0`` and ``false`` are the default, plain text) before
the ``#`` for an instruction model: the probe then sends chat messages to
``/chat/completions`` instead of text to ``/completions``. A server applies its own
adapters: ``+lora:`` is refused on a server spec (:func:`reportlib.backends.specs.parse_spec`
parses every spec).

Requests use temperature 0 and a seed, a timeout per read and an overall deadline per
request that covers connecting, the status line and headers, and the body (by default 1.5
times the timeout: the server may compute for ``timeout`` seconds before its first byte,
then has half as long again to send a few kilobytes), a maximum response size, retries with
exponential backoff on connection errors, responses cut mid-body and 5xx answers, and
bounded concurrency (``concurrency``, 1 by default). Redirects are not followed: a request
redirected elsewhere would reach another server, as a GET without its prompt. An answer
whose text is not text (``null``, an object) is refused, so it never enters the cache.

A server that keeps the KV cache of a shared prompt prefix (llama.cpp
and llama-cpp-python do) computes a prompt in a different batch split depending on
what came before; with one request at a time the order, and so the answers, are
reproducible; with more, greedy answers can differ where two tokens nearly tie.
What a generic server does not offer
(a tokenizer, GGUF metadata, memory accounting) is asked of llama.cpp's own
endpoints (``/tokenize``, ``/props``; llama-cpp-python's ``/extras/tokenize``) and
otherwise reported as unavailable: never replaced by another tokenizer.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from typing import Any

from reportlib.backends.interface import (
    Backend,
    Completion,
    LoadSettings,
    TextModel,
    check_max_tokens,
    map_concurrently,
    register_backend,
)
from reportlib.backends.sampling import Sampling
from reportlib.backends.specs import SERVER_PREFIX, ServerSpec, parse_spec
from reportlib.core.errors import ReportlibError

PREFIX = SERVER_PREFIX
CHAT_PREFIX = "\x00reportlib-chat:"  #: marks a prompt that is a JSON list of chat messages


def is_server_spec(spec: str | None) -> bool:
    return bool(spec) and str(spec).startswith(PREFIX)


def parse_server_spec(spec: str) -> ServerSpec:
    """``openai+http://127.0.0.1:8080/v1?chat=1#name`` -> its parts (raises on a bad spec;
    :func:`reportlib.backends.specs.parse_spec` is the parser)."""
    parsed = parse_spec(spec)
    if parsed.server is None:
        raise ReportlibError(f"not a server spec: {spec!r}; use openai+http://HOST:PORT/v1#MODEL")
    return parsed.server


#: a response larger than this is refused (a completion of a few hundred tokens is ~10 kB)
MAX_RESPONSE_BYTES = 4 * 2**20
#: the default deadline of a request, in read timeouts: the server may compute for one
#: timeout before its first byte, then send its answer within half a timeout more
DEADLINE_IN_TIMEOUTS = 1.5


class ServerTooSlow(ReportlibError):
    """A server that did not answer within the timeout or the deadline: asking another
    endpoint of it (a fallback) would only wait again, so this is never swallowed."""


class OpenAIServerModel(TextModel):
    """A model behind an OpenAI-compatible HTTP API."""

    def __init__(
        self,
        spec: str,
        *,
        timeout: float = 120.0,
        deadline: float | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        retries: int = 3,
        backoff: float = 0.5,
        concurrency: int = 1,
        n_ctx: int | None = None,
    ) -> None:
        self.spec = parse_server_spec(spec)
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.deadline = DEADLINE_IN_TIMEOUTS * timeout if deadline is None else deadline
        self.max_response_bytes = max_response_bytes
        if concurrency < 1:
            raise ReportlibError(f"concurrency must be at least 1, not {concurrency}")
        if timeout <= 0 or self.deadline <= 0 or max_response_bytes <= 0:
            raise ReportlibError("timeout, deadline and max_response_bytes must be positive")
        self.concurrency = concurrency
        listing = self._request("GET", "/models").get("data", [])
        try:
            models = [str(m["id"]) for m in listing]
        except (TypeError, KeyError):
            raise ReportlibError(
                f"the server at {self.spec.base_url} answered /models without a list of model "
                f"ids: {json.dumps(listing)[:200]}"
            ) from None
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
        self._card: dict[str, Any] = {
            "name": self.model_id,
            "architecture": None,
            "chat_template": self.spec.chat,
            "trained_context": None,
            "backend": f"HTTP {self.spec.base_url}",
        }

    # -- HTTP ---------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        if path.startswith("/v1/") or not path.startswith("/"):
            return path
        return self.spec.base_url + path

    def _root_url(self, path: str) -> str:
        """An endpoint outside the /v1 API root (llama.cpp's /tokenize, /props)."""
        parts = urllib.parse.urlsplit(self.spec.base_url)
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, root: bool = False
    ) -> dict[str, Any]:
        url = self._root_url(path) if root else self._url(path)
        data = json.dumps(body).encode() if body is not None else None
        started = time.monotonic()
        last: Exception | str | None = None
        for attempt in range(self.retries + 1):
            try:
                status, reason, location, raw = self._exchange(method, url, data, started)
            except TimeoutError:
                raise ServerTooSlow(
                    f"{method} {url} timed out after {self.timeout:g} s without a byte; raise "
                    "the timeout or check the server"
                ) from None
            except http.client.IncompleteRead as exc:  # cut mid-body: try again
                last = f"the response was cut after {len(exc.partial)} bytes"
            except (OSError, http.client.HTTPException) as exc:  # refused, reset, closed
                last = exc
            else:
                if 200 <= status < 300:
                    return self._parse_json(raw, method, url)
                if 300 <= status < 400:
                    raise ReportlibError(
                        f"{method} {url} answered {status}, a redirect to {location!r}, which "
                        "API calls do not follow (it would send the request elsewhere, without "
                        "its body); give the address that answers in the model spec"
                    )
                if status < 500:  # the request is wrong: retrying will not help
                    detail = raw[:300].decode("utf-8", errors="replace")
                    raise ReportlibError(f"{method} {url} answered {status}: {detail}")
                last = f"HTTP Error {status}: {reason}"
            if attempt < self.retries:
                if time.monotonic() - started + self.backoff * 2**attempt > self.deadline:
                    break  # no retry past the request's deadline
                time.sleep(self.backoff * 2**attempt)
        raise ReportlibError(
            f"cannot reach the server at {url} after {self.retries + 1} attempts: {last}"
        )

    def _exchange(
        self, method: str, url: str, data: bytes | None, started: float
    ) -> tuple[int, str, str | None, bytes]:
        """One request: (status, reason, the Location header, the body). The deadline
        covers connecting, the status line and headers, and the body: a watchdog shuts the
        socket when it passes, so a server that trickles a byte now and then, headers or
        body, cannot keep a request (and a run) alive; each read also has ``timeout``."""
        too_late = ServerTooSlow(
            f"{method} {url} did not finish within the deadline of {self.deadline:g} s; "
            "refused (raise the deadline if the server is this slow)"
        )
        remaining = self.deadline - (time.monotonic() - started)
        if remaining <= 0:
            raise too_late
        parts = urllib.parse.urlsplit(url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(
            parts.hostname or "", parts.port, timeout=min(self.timeout, remaining)
        )
        lock, state = threading.Lock(), {"done": False, "expired": False}
        sockets: list[socket.socket] = []  # the connection's socket, once connected

        def expire() -> None:
            with lock:
                if state["done"]:
                    return
                state["expired"] = True
                for sock in sockets:  # wakes the read blocked on it
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(remaining, expire)
        watchdog.daemon = True
        watchdog.start()
        response: http.client.HTTPResponse | None = None
        try:
            connection.connect()
            with lock:  # kept here: a response that closes the connection takes its socket
                sockets.append(connection.sock)
                if state["expired"]:
                    raise too_late
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            headers = {"Content-Type": "application/json"} if data is not None else {}
            connection.request(method, target, body=data, headers=headers)
            response = connection.getresponse()
            if not 200 <= response.status < 300:  # a few bytes of why, no more
                out = (response.status, response.reason, response.getheader("Location"))
                return (*out, response.read(300))
            chunks, size = [], 0
            while chunk := response.read1(65536):
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise ReportlibError(
                        f"{method} {url} sent more than {self.max_response_bytes:,} bytes; "
                        "refused (raise max_response_bytes if this is expected)"
                    )
                if time.monotonic() - started > self.deadline:
                    raise too_late
                chunks.append(chunk)
            if response.length:  # the server closed before sending what it announced
                raise http.client.IncompleteRead(b"".join(chunks), response.length)
            return response.status, response.reason, None, b"".join(chunks)
        except (OSError, http.client.HTTPException):
            if state["expired"]:  # the watchdog closed the socket: that is the reason
                raise too_late from None
            raise
        finally:
            with lock:
                state["done"] = True
                expired = state["expired"]
            watchdog.cancel()
            if response is not None:
                response.close()
            connection.close()
            if expired:  # what was read after the socket was shut may be cut short
                raise too_late

    @staticmethod
    def _parse_json(raw: bytes, method: str, url: str) -> dict[str, Any]:
        try:
            out = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            head = raw[:120].decode("utf-8", errors="replace")
            raise ReportlibError(
                f"{method} {url} did not answer with JSON (it sent {len(raw):,} bytes "
                f"starting {head!r})"
            ) from None
        if not isinstance(out, dict):
            raise ReportlibError(
                f"{method} {url} answered JSON that is not an object: {out!r:.120}"
            )
        return out

    def _server_context(self) -> int | None:
        try:
            props = self._request("GET", "/props", root=True)
        except ServerTooSlow:
            raise
        except ReportlibError:  # no such endpoint: the window is not known
            return None
        settings = props.get("default_generation_settings", {})
        return settings.get("n_ctx") or props.get("n_ctx")

    # -- the TextModel interface -----------------------------------------------------------
    @property
    def card(self) -> dict[str, Any]:
        return self._card

    @property
    def fingerprint(self) -> str:
        return f"openai-server:{self.model_id}"

    def cache_identity(self) -> dict[str, Any]:
        """The server's address is part of the identity: two servers may serve different
        weights under one model id."""
        return {
            "model": self.fingerprint,
            "backend": type(self).__name__,
            "server": self.spec.base_url,
            "chat": self.spec.chat,
            "n_ctx": self._n_ctx,
        }

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
        attempts = (
            ("/tokenize", {"content": text, "add_special": add_bos}, True),
            ("/extras/tokenize", {"input": text}, True),
        )
        for path, body, root in attempts:
            try:
                return list(self._request("POST", path, body, root=root)["tokens"])
            except ServerTooSlow:
                raise
            except (ReportlibError, KeyError):
                continue
        raise ReportlibError(
            f"the server at {self.spec.base_url} offers no tokenizer endpoint (/tokenize or "
            "/extras/tokenize); measurements in the model's own tokens are not available"
        )

    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
        reuse_prefix: bool = False,
        sampling: Sampling | None = None,
    ) -> Completion:
        """One completion (``reuse_prefix`` is the server's business: llama.cpp's servers
        keep the KV cache of a shared prefix themselves). With ``sampling``, its settings
        and the seed are sent with llama.cpp's and Ollama's names; the server's own sampler
        draws (its random numbers are not the in-process sampler's)."""
        check_max_tokens(max_tokens)
        settings: dict[str, Any] = {
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "seed": seed,
            "top_p": 1.0,
            "top_k": 1,
            "min_p": 0.0,
            "repeat_penalty": 1.0,
            "model": self.model_id,
        }
        if sampling is not None:
            settings |= {
                "temperature": sampling.temperature,
                "top_p": sampling.top_p,
                "top_k": sampling.top_k,
                "min_p": sampling.min_p,
                "repeat_penalty": sampling.repeat_penalty,
                "repeat_last_n": sampling.repeat_last_n,
            }
        if stop:
            settings["stop"] = list(stop)
        if prompt.startswith(CHAT_PREFIX):
            messages = json.loads(prompt[len(CHAT_PREFIX) :])
            path, body = "/chat/completions", {"messages": messages, **settings}
        else:
            path, body = "/completions", {"prompt": prompt, **settings}
        out = self._request("POST", path, body)
        try:
            choice = out["choices"][0]
            chat = path == "/chat/completions"
            text = choice["message"]["content"] if chat else choice["text"]
            if not isinstance(text, str):  # null, a number, an object: not an answer
                field = "choices[0].message.content" if chat else "choices[0].text"
                raise ReportlibError(
                    f"POST {self._url(path)} answered {field} = {json.dumps(text)[:120]}, not "
                    f"text; refused, and nothing was cached: {json.dumps(out)[:200]}"
                )
            usage = out.get("usage") or {}
            return Completion(
                text,
                int(usage.get("prompt_tokens", -1)),
                int(usage.get("completion_tokens", -1)),
                str(choice.get("finish_reason") or "stop"),
                -1,
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise ReportlibError(
                f"POST {self._url(path)} answered JSON without a completion "
                f"(no choices[0] text): {json.dumps(out)[:200]}"
            ) from None

    def complete_many(
        self,
        prompts: Sequence[str],
        *,
        max_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
        sampling: Sampling | None = None,
    ) -> Iterator[Completion]:
        """Several completions, at most ``concurrency`` requests in flight, in order."""

        def one(prompt: str) -> Completion:
            return self.complete(
                prompt, max_tokens=max_tokens, seed=seed, stop=stop, sampling=sampling
            )

        yield from map_concurrently(one, prompts, self.concurrency)


def _load(spec: str, settings: LoadSettings) -> TextModel:
    return OpenAIServerModel(spec)


HTTP_BACKEND = register_backend(
    Backend(
        name="openai-http",
        matches=is_server_spec,
        load=_load,
        describe=lambda spec: dict(OpenAIServerModel(spec).card),
    )
)
