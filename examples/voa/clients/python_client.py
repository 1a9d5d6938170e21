"""Scenario 1's Python client: calls VOA.MainLogic through the generated Python caller
(``msec-gen caller MainLogic.proto --name VOA.MainLogic --lang python``), which resolves the
routing name through etcd (``$MSEC_ETCD_ENDPOINTS``, ``$MSEC_ETCD_PREFIX``: the runtime's
``msec.etcd`` resolver, put in front of the routes file). Prints one line per call in the format
of the example's TypeScript client (examples/voa/report.ts).

    PYTHONPATH=<caller>/python:<caller>/python/runtime/src MSEC_ETCD_ENDPOINTS=<url> MSEC_ETCD_PREFIX=/msec python3 python_client.py <fixture mp3 folder>
"""
import hashlib
import json
import os
import sys

from msec.etcd import DEFAULT_PREFIX, PREFIX_ENV, EtcdResolver, endpoints_from_env
from msec.route import default_router
from voa_mainlogic import (
    DownloadMP3Request,
    GetTitlesRequest,
    GetUrlByTitleRequest,
    MainLogicServiceClient,
)

#: The walkthrough's budget for MainLogic's calls.
TIMEOUT_MS = 20000


def js(value):
    """JSON text as JavaScript's JSON.stringify writes it (no spaces)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def describe_mp3(content, fixtures):
    digest = hashlib.sha256(content).hexdigest()
    same = next(
        (f for f in sorted(os.listdir(fixtures)) if hashlib.sha256(open(os.path.join(fixtures, f), "rb").read()).hexdigest() == digest),
        "no fixture file",
    )
    return "starts %s, bytes of %s" % (js(content[:3].decode("latin-1")), same)


def describe(reply, fixtures):
    parts = ["status %d" % reply.status, "msg " + js(reply.msg)]
    if getattr(reply, "titles", None):
        parts.append("titles " + js(list(reply.titles)))
    if getattr(reply, "url", ""):
        parts.append("url " + reply.url)
    if getattr(reply, "file_content", b""):
        parts += ["file_len %d" % reply.file_len, describe_mp3(reply.file_content, fixtures)]
    return ", ".join(parts)


def main():
    fixtures = sys.argv[1]
    endpoints = endpoints_from_env()
    if endpoints is None:
        sys.exit("python_client.py: set MSEC_ETCD_ENDPOINTS to the example's etcd")
    resolver = EtcdResolver(endpoints, prefix=os.environ.get(PREFIX_ENV) or DEFAULT_PREFIX)
    default_router.resolvers.insert(0, resolver)
    try:
        call_main_logic(fixtures)
    finally:
        resolver.close()


def call_main_logic(fixtures):
    title = "Mars Rover Finds Ice"
    with MainLogicServiceClient("VOA.MainLogic", timeout_ms=TIMEOUT_MS) as client:
        calls = [
            ("GetTitles(special)", lambda: client.get_titles(GetTitlesRequest(type="special"))),
            ('GetUrlByTitle(special, "%s")' % title, lambda: client.get_url_by_title(GetUrlByTitleRequest(type="special", title=title))),
            ('DownloadMP3(special, "%s")' % title, lambda: client.download_mp3(DownloadMP3Request(type="special", title=title))),
        ]
        for name, call in calls:
            print("  [python] %s -> %s" % (name, describe(call(), fixtures)), flush=True)


if __name__ == "__main__":
    main()
