// Handler of crawl.CrawlService for the VOA example. The example's build step
// copies this file over the skeleton msec-gen writes to src/handlers/.
import { callJsonTcp, monitorAdd } from "@msec-gen/runtime";
import type { CrawlServiceHandler } from "../gen/Crawl_msec.js";

/** Routing name of the heterogeneous Jsoup service (the walkthrough's). */
const JSOUP = "Jsoup.jsoup";
/** The walkthrough's budget for Jsoup: 10 s. */
const JSOUP_TIMEOUT_MS = 10_000;
/** Status of a failed list, as in the walkthrough. */
const STATUS_FAILED = 100;

/** Jsoup's reply to com.bison.GetMP3List. */
interface JsoupList {
  status: number;
  mp3s?: Array<{ title: string; url: string }>;
}

/** The MP3 list of a type, from Jsoup over the 10-character length-prefixed JSON protocol. */
export const crawlService: CrawlServiceHandler = {
  async getMP3List(request, ctx) {
    let reply: JsoupList;
    try {
      const query = { handleClass: "com.bison.GetMP3List", requestBody: { type: request.type } };
      reply = (await callJsonTcp(JSOUP, query, { timeoutMs: JSOUP_TIMEOUT_MS, signal: ctx.signal })) as JsoupList;
    } catch (err) {
      ctx.log.error("jsoup call failed", { error: (err as Error).message });
      return { status: STATUS_FAILED, msg: (err as Error).message };
    }
    if (reply.status !== 0) return { status: STATUS_FAILED, msg: `jsoup returns ${reply.status}` };
    ctx.log.info("GetMP3List successfully");
    monitorAdd("GetMP3List succ");
    return { status: 0, msg: "success", mp3s: (reply.mp3s ?? []).map((m) => ({ title: m.title, url: m.url })) };
  },
};
