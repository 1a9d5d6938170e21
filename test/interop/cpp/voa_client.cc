// Test program of test/interop/cpp-caller.test.ts: calls the VOA services of
// the TypeScript test server through the generated clients (crawl:: and
// MainLogic:: namespaces from the proto packages) and prints each reply.
//
//   client <service>
#include <iostream>
#include <string>

#include "VOAMainLogicCaller/Crawl.msec.h"
#include "VOAMainLogicCaller/MainLogic.msec.h"

namespace {

template <typename Response>
void Print(const std::string& label, const msec::Status& status, const Response& response) {
  std::cout << "== " << label << " " << status.code() << " " << status.message() << "\n";
  if (status.ok()) std::cout << response.DebugString();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: client <service>\n";
    return 2;
  }
  const std::string service = argv[1];

  const crawl::CrawlServiceClient crawler(service);
  crawl::GetMP3ListRequest list_request;
  list_request.set_type("standard");
  crawl::GetMP3ListResponse list;
  Print("GetMP3List", crawler.GetMP3List(list_request, &list, 5000), list);

  const MainLogic::MainLogicServiceClient logic(service);
  MainLogic::GetTitlesRequest titles_request;
  titles_request.set_type("special");
  MainLogic::GetTitlesResponse titles;
  Print("GetTitles", logic.GetTitles(titles_request, &titles, 5000), titles);

  MainLogic::GetUrlByTitleRequest url_request;
  url_request.set_type("standard");
  url_request.set_title("Two");
  MainLogic::GetUrlByTitleResponse url;
  Print("GetUrlByTitle", logic.GetUrlByTitle(url_request, &url, 5000), url);

  MainLogic::DownloadMP3Request download_request;
  download_request.set_type("standard");
  download_request.set_title("Two");
  MainLogic::DownloadMP3Response download;
  msec::CallOptions options;
  options.timeout_ms = 5000;
  options.caller = "VOA.cpp";
  Print("DownloadMP3", logic.DownloadMP3(download_request, &download, options), download);
  return 0;
}
