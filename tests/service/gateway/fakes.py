"""A stand-in service for the proxy tests: echoes what it received, streams, and can be made flaky."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/echo/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(request: Request, rest: str) -> JSONResponse:
        body = await request.body()
        return JSONResponse({
            "method": request.method, "path": request.url.path,
            "raw_path": request.scope.get("raw_path", b"").decode(), "query": request.url.query,
            "headers": dict(request.headers), "body_length": len(body),
        }, status_code=201 if request.method == "POST" else 200, headers={"X-Upstream": "echo"})

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(50):
                yield f"chunk {i}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/catalogues")
    async def public_catalogues(request: Request) -> JSONResponse:
        return JSONResponse({"items": [{"id": "c1"}], "total": 1, "limit": 50, "offset": 0,
                             "saw_authorization": "authorization" in request.headers})

    @app.get("/catalogues/{cid}")
    async def public_catalogue(cid: str) -> JSONResponse:
        return JSONResponse({"type": "about:blank", "status": 404, "code": "catalogue.catalogue.not_found",
                             "detail": f"no published catalogue {cid}"}, status_code=404,
                            media_type="application/problem+json")

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"status": 404, "code": "not_found", "detail": "Not Found"}, status_code=404,
                            media_type="application/problem+json")

    return app


class FlakyTransport(httpx.AsyncBaseTransport):
    """Raises `error` for the first `failures` requests, then passes them to `inner`; counts attempts."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, failures: int = 0,
                 error: type[httpx.TransportError] = httpx.ConnectError) -> None:
        self.inner = inner
        self.failures = failures
        self.error = error
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.error("simulated", request=request)
        return await self.inner.handle_async_request(request)
