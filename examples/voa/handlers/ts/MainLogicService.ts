// Handler of MainLogic.MainLogicService for the VOA example. The example's
// build step copies this file over the skeleton msec-gen writes to
// src/handlers/, and Crawl's generated Crawl_pb.ts into src/gen/ (as the
// walkthrough copies Crawl's _pb2 module into MainLogic).
import { create } from "@bufbuild/protobuf";
import { type CallContext, attrReport, callJsonTcp, callMethod, registerTypes } from "@msec-gen/runtime";
import { type GetMP3ListResponseSchema, GetMP3ListRequestSchema, file_Crawl } from "../gen/Crawl_pb.js";
import type { MainLogicServiceHandler } from "../gen/MainLogic_msec.js";
import { type Mp3, cachedList, storeList } from "./mp3-cache.js";

registerTypes(file_Crawl);

/** Routing name of the Crawl service asked by default. */
const CRAWL = "VOA.Crawl";
/** The walkthrough's budget for Crawl: 20 s. */
const CRAWL_TIMEOUT_MS = 20_000;
/** Routing name of the Jsoup service, which also serves the MP3 bytes. */
const JSOUP = "Jsoup.jsoup";
const JSOUP_TIMEOUT_MS = 10_000;
/** Statuses (0 = success): the list could not be had, the title is not in it, the download failed. */
const Status = { listFailed: 100, titleNotFound: 101, downloadFailed: 102 } as const;

type ListResult = { ok: true; mp3s: Mp3[]; source: string } | { ok: false; status: number; msg: string };

/**
 * Which Crawl to ask and for which type: `"<Group.Service>/<type>"` names
 * another Crawl (e.g. `VOA2.Crawl/standard`, a service of a second msec
 * instance listed in this one's routes file); a plain type asks `VOA.Crawl`.
 */
function crawlTarget(type: string): { service: string; type: string } {
  const slash = type.indexOf("/");
  return slash < 0 ? { service: CRAWL, type } : { service: type.slice(0, slash), type: type.slice(slash + 1) };
}

/** The MP3 list of `type`: from the MySQL cache, else from Crawl (then cached); and where it came from. */
async function mp3List(type: string, ctx: CallContext): Promise<ListResult> {
  const cached = await cachedList(type, ctx);
  if (cached !== undefined) return { ok: true, mp3s: cached, source: "cache" };
  const list = await crawlList(type, ctx);
  if (list.ok) await storeList(type, list.mp3s, ctx);
  return list;
}

/** The MP3 list of `type` from Crawl (CallMethod, 20 s). */
async function crawlList(type: string, ctx: CallContext): Promise<ListResult> {
  const target = crawlTarget(type);
  try {
    const request = create(GetMP3ListRequestSchema, { type: target.type });
    const reply = await callMethod<typeof GetMP3ListResponseSchema>(target.service, "crawl.CrawlService.GetMP3List", request, {
      timeoutMs: CRAWL_TIMEOUT_MS,
      context: ctx,
    });
    if (reply.status !== 0) return { ok: false, status: Status.listFailed, msg: `getmp3list response failed: ${reply.msg}` };
    return { ok: true, mp3s: reply.mp3s.map((m) => ({ title: m.title, url: m.url })), source: target.service };
  } catch (err) {
    ctx.log.error("callmethod error", { error: (err as Error).message });
    return { ok: false, status: Status.listFailed, msg: `CallMethod failed: ${(err as Error).message}` };
  }
}

/** The URL of `title` in the list of `type`, or the failure to report. */
async function findUrl(type: string, title: string, ctx: CallContext): Promise<{ url: string; source: string } | { status: number; msg: string }> {
  const list = await mp3List(type, ctx);
  if (!list.ok) return list;
  const mp3 = list.mp3s.find((m) => m.title === title);
  return mp3 === undefined ? { status: Status.titleNotFound, msg: `title not found: ${title}` } : { url: mp3.url, source: list.source };
}

export const mainLogicService: MainLogicServiceHandler = {
  async getTitles(request, ctx) {
    const list = await mp3List(request.type, ctx);
    if (!list.ok) return { status: list.status, msg: list.msg };
    attrReport("GetTitles success");
    return { titles: list.mp3s.map((m) => m.title), status: 0, msg: `success (source: ${list.source})` };
  },

  async getUrlByTitle(request, ctx) {
    const found = await findUrl(request.type, request.title, ctx);
    if ("status" in found) return found;
    attrReport("GetUrlByTitle success");
    return { url: found.url, status: 0, msg: `success (source: ${found.source})` };
  },

  async downloadMP3(request, ctx) {
    const found = await findUrl(request.type, request.title, ctx);
    if ("status" in found) return found;
    try {
      const query = { handleClass: "com.bison.GetMP3", requestBody: { url: found.url } };
      const reply = (await callJsonTcp(JSOUP, query, { timeoutMs: JSOUP_TIMEOUT_MS, signal: ctx.signal })) as { status: number; content?: string };
      if (reply.status !== 0 || reply.content === undefined) return { status: Status.downloadFailed, msg: `jsoup returns ${reply.status}` };
      const content = Buffer.from(reply.content, "base64");
      attrReport("DownloadMP3 success");
      return { status: 0, msg: `success (source: ${found.source})`, fileLen: content.length, fileContent: content };
    } catch (err) {
      return { status: Status.downloadFailed, msg: `download failed: ${(err as Error).message}` };
    }
  },
};
