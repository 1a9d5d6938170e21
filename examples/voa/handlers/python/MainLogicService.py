# -*- coding: utf-8 -*-
"""MainLogic.MainLogicService of the VOA example in Python: the walkthrough's MainLogic.py
(fixtures/seed/MainLogic.py) with the example's additions, answering exactly as the
TypeScript implementation (handlers/ts/MainLogicService.ts) does.

The example's build step copies this file to voa_mainlogic_server/handlers/MainLogicService.py of
the generated Python server, and Crawl's ``_pb2`` module next to the package as
``VOA_py_Crawl_pb2.py`` (as the walkthrough does).

* the list of a type comes from the MySQL cache (PyMySQL; the database found with
  ``getroute("Database.mysql")``, the walkthrough's snippet), else from Crawl with
  ``CallMethod("VOA.Crawl", "crawl.CrawlService.GetMP3List", req, 20000)`` — then cached;
  ``msg`` says which: ``success (source: cache)`` / ``success (source: VOA.Crawl)``;
* a type ``<Group.Service>/<type>`` asks that Crawl instead (scenario 5: ``VOA2.Crawl``);
* DownloadMP3 fetches the bytes from Jsoup (``com.bison.GetMP3``, base64), not the internet.
"""
import base64
import threading

import VOA_py_Crawl_pb2
from msec import CallContext
from msec.msec_impl import *  # noqa: F401,F403

from voa_mainlogic_server.gen import MainLogic_pb2 as msec_pb2

#: Routing names and budgets (the walkthrough's 20 s for Crawl, 10 s for Jsoup).
CRAWL = "VOA.Crawl"
CRAWL_TIMEOUT_MS = 20000
JSOUP = "Jsoup.jsoup"
JSOUP_TIMEOUT_S = 10.0
DATABASE = "Database.mysql"
#: The account and database the example creates (examples/voa/mariadb.ts).
DB_USER, DB_PASSWORD, DB_NAME = "msec", "msec@anyhost", "voa"
#: Statuses (0 = success).
LIST_FAILED, TITLE_NOT_FOUND, DOWNLOAD_FAILED = 100, 101, 102

_db_lock = threading.Lock()


def _database():
    """A new connection to the routed database, or None when there is none (then nothing is cached)."""
    try:
        import pymysql  # mysql
    except ImportError:
        log_error("Fail to import mysql library.")  # noqa: F405
        return None
    route = getroute(DATABASE)  # noqa: F405
    if not route:
        return None
    try:
        db = pymysql.connect(host=route["ip"], port=route["port"], user=DB_USER, password=DB_PASSWORD, database=DB_NAME, autocommit=True)
        with db.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS mp3_cache (type VARCHAR(191) NOT NULL, position INT NOT NULL, "
                "title VARCHAR(255) NOT NULL, url VARCHAR(1024) NOT NULL, PRIMARY KEY (type, position))"
            )
        return db
    except Exception as e:
        log_error("database unavailable: %s" % e)  # noqa: F405
        return None


def _cached_list(type):
    db = _database()
    if db is None:
        return None
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT title, url FROM mp3_cache WHERE type = %s ORDER BY position", (type,))
            rows = cursor.fetchall()
        return [(title, url) for title, url in rows] or None
    except Exception as e:
        log_error("cache read failed: %s" % e)  # noqa: F405
        return None
    finally:
        db.close()


def _store_list(type, mp3s):
    if not mp3s:
        return
    db = _database()
    if db is None:
        return
    try:
        with _db_lock, db.cursor() as cursor:
            cursor.execute("DELETE FROM mp3_cache WHERE type = %s", (type,))
            cursor.executemany(
                "INSERT INTO mp3_cache (type, position, title, url) VALUES (%s, %s, %s, %s)",
                [(type, i, title, url) for i, (title, url) in enumerate(mp3s)],
            )
    except Exception as e:
        log_error("cache write failed: %s" % e)  # noqa: F405
    finally:
        db.close()


def _crawl_list(type):
    """(status, msg, [(title, url)], source) from Crawl."""
    service, slash, kind = type.partition("/")
    if not slash:
        service, kind = CRAWL, type
    crawlreq = VOA_py_Crawl_pb2.GetMP3ListRequest()
    crawlreq.type = kind
    result = CallMethod(service, "crawl.CrawlService.GetMP3List", crawlreq, CRAWL_TIMEOUT_MS)  # noqa: F405
    if result["ret"] != 0:
        log_error('callmethod error: %d %s' % (result["ret"], result["errmsg"]))  # noqa: F405
        return LIST_FAILED, "CallMethod failed: " + result["errmsg"], [], service
    crawlrsp = VOA_py_Crawl_pb2.GetMP3ListResponse()
    crawlrsp.ParseFromString(result["response"])
    if crawlrsp.status != 0:
        log_error('getmp3list response error: %d %s' % (crawlrsp.status, crawlrsp.msg))  # noqa: F405
        return LIST_FAILED, "getmp3list response failed: " + crawlrsp.msg, [], service
    return 0, "", [(mp3.title, mp3.url) for mp3 in crawlrsp.mp3s], service


def _mp3_list(type):
    """(status, msg, [(title, url)], source): from the cache, else from Crawl (then cached)."""
    cached = _cached_list(type)
    if cached is not None:
        return 0, "", cached, "cache"
    status, msg, mp3s, source = _crawl_list(type)
    if status == 0:
        _store_list(type, mp3s)
    return status, msg, mp3s, source


def _find_url(type, title):
    """(status, msg, url, source)."""
    status, msg, mp3s, source = _mp3_list(type)
    if status != 0:
        return status, msg, None, source
    for mp3_title, url in mp3s:
        if mp3_title == title:
            return 0, "", url, source
    return TITLE_NOT_FOUND, "title not found: " + title, None, source


class MainLogicService:
    """MainLogic.MainLogicService: titles and URLs from the cache or Crawl, MP3 bytes from Jsoup."""

    def GetTitles(self, request: msec_pb2.GetTitlesRequest, ctx: CallContext) -> msec_pb2.GetTitlesResponse:
        response = msec_pb2.GetTitlesResponse()
        status, msg, mp3s, source = _mp3_list(request.type)
        if status != 0:
            response.status, response.msg = status, msg
            return response
        response.status = 0
        response.msg = "success (source: %s)" % source
        for title, _ in mp3s:
            response.titles.append(title)
        log_info('GetTitles Success')  # noqa: F405
        attr_report('GetTitles success')  # noqa: F405
        return response

    def GetUrlByTitle(self, request: msec_pb2.GetUrlByTitleRequest, ctx: CallContext) -> msec_pb2.GetUrlByTitleResponse:
        response = msec_pb2.GetUrlByTitleResponse()
        status, msg, url, source = _find_url(request.type, request.title)
        if status != 0:
            response.status, response.msg = status, msg
            return response
        response.url = url
        response.status = 0
        response.msg = "success (source: %s)" % source
        attr_report('GetUrlByTitle success')  # noqa: F405
        return response

    def DownloadMP3(self, request: msec_pb2.DownloadMP3Request, ctx: CallContext) -> msec_pb2.DownloadMP3Response:
        response = msec_pb2.DownloadMP3Response()
        status, msg, url, source = _find_url(request.type, request.title)
        if status != 0:
            response.status, response.msg = status, msg
            return response
        json_req = {"handleClass": "com.bison.GetMP3", "requestBody": {"url": url}}
        json_ret = callmethod_tcp(JSOUP, json_req, _jsoup_complete, JSOUP_TIMEOUT_S)  # noqa: F405
        if json_ret["ret"] != 0:
            response.status, response.msg = DOWNLOAD_FAILED, "download failed: " + json_ret["errmsg"]
        elif json_ret["data"].get("status") != 0 or "content" not in json_ret["data"]:
            response.status, response.msg = DOWNLOAD_FAILED, "jsoup returns " + str(json_ret["data"].get("status"))
        else:
            content = base64.b64decode(json_ret["data"]["content"])
            response.status = 0
            response.msg = "success (source: %s)" % source
            response.file_len = len(content)
            response.file_content = content
            attr_report('DownloadMP3 success')  # noqa: F405
        return response


def _jsoup_complete(data):
    """Completeness of a Jsoup reply: 0 = need more bytes, >0 = its full length, <0 = malformed."""
    if len(data) < 10:
        return 0
    try:
        body_len = int(data[:10].strip())
    except ValueError:
        return -1
    return 10 + body_len if len(data) >= 10 + body_len else 0
