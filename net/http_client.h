// A small blocking HTTP/1.1 client (Boost.Beast) for the command-line tools
// (chorusctl) and the tests: one keep-alive connection to one server, every call bounded in time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace chorus::net {

struct HttpResult {
    int status = 0;                              // 0: no answer (see error)
    std::string error;                           // why there was no answer
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;

    bool answered() const { return status != 0; }
    // A header field (`header` in lower case) read as a number, or -1.
    int64_t number(const std::string& header) const;
};

class HttpClient {
 public:
    // `address` is "HOST:PORT".
    explicit HttpClient(std::string address, int timeout_ms = 5000);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Sends one request and waits for its answer. A kept-alive connection
    // the server has closed meanwhile is opened again (once).
    HttpResult request(std::string_view method, std::string_view target,
                       std::string_view body = {});

 private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chorus::net
