// chorus::Client against a hand-made server that stops the way
// docs/client-protocol.md ("Stopping") says, or almost: a write left
// unanswered is sent again only after the server's "drained" frame (id 0,
// OK); after a close without it — the NOT_SERVING goodbye alone — it is
// uncertain (kConnectionLost) and never sent again, since the server may
// have applied it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "net/frame.h"
#include "session/client.pb.h"
#include "tests/support/process.h"

namespace chorus {
namespace {

namespace cpb = chorus::client::pb;

bool read_all(int fd, char* out, size_t n) {
    while (n > 0) {
        const ssize_t got = ::read(fd, out, n);
        if (got <= 0) return false;
        out += got;
        n -= static_cast<size_t>(got);
    }
    return true;
}

// One request frame from `fd`, or false once it closes.
bool read_request(int fd, cpb::Request* request) {
    unsigned char header[net::kFrameHeaderBytes];
    if (!read_all(fd, reinterpret_cast<char*>(header), sizeof header)) return false;
    std::string body(net::frame_length(header), '\0');
    return read_all(fd, body.data(), body.size()) &&
           request->ParseFromArray(body.data(), static_cast<int>(body.size()));
}

void send_response(int fd, const cpb::Response& r) {
    const std::string frame = net::frame_of(r);
    ASSERT_EQ(::write(fd, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
}

cpb::Response connection_frame(cpb::Code code) {
    cpb::Response r;
    r.set_id(0);
    r.set_code(code);
    return r;
}

// A server on 127.0.0.1 that takes two connections. On the first it reads
// the write, says it stops (id 0, NOT_SERVING), says it drained (id 0, OK)
// only if `drained`, and closes without answering. On the second it
// answers every write OK. `writes_seen` counts the write's arrivals.
class StoppingServer {
 public:
    explicit StoppingServer(bool drained) : port_(testing::free_port()) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        const int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port_);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(listen_fd_, 4), 0);
        thread_ = std::thread([this, drained] { serve(drained); });
    }
    ~StoppingServer() {
        ::shutdown(listen_fd_, SHUT_RDWR);
        ::close(listen_fd_);
        thread_.join();
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    int writes_seen() const { return writes_seen_.load(); }

 private:
    void serve(bool drained) {
        for (int round = 0; round < 2; ++round) {
            const int fd = ::accept(listen_fd_, nullptr, nullptr);
            if (fd < 0) return;
            cpb::Request request;
            while (read_request(fd, &request)) {
                if (!request.has_write()) continue;  // heartbeats and the like
                ++writes_seen_;
                if (round == 0) {
                    send_response(fd, connection_frame(cpb::NOT_SERVING));
                    if (drained) send_response(fd, connection_frame(cpb::OK));
                    break;
                }
                cpb::Response ok;
                ok.set_id(request.id());
                ok.set_code(cpb::OK);
                send_response(fd, ok);
            }
            ::shutdown(fd, SHUT_WR);
            // Let the client read what was sent before the close.
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            ::close(fd);
        }
    }

    const uint16_t port_;
    int listen_fd_ = -1;
    std::atomic<int> writes_seen_{0};
    std::thread thread_;
};

ClientStatus one_write(const std::string& server) {
    SyncClient client(ClientOptions{.servers = {server}, .request_timeout_ms = 3000});
    return client.write(0, {ClientOp::put("/k", "v")}).status;
}

TEST(ClientStopping, AWriteLeftUnansweredByADrainedServerGoesAgain) {
    StoppingServer server(/*drained=*/true);
    const ClientStatus s = one_write(server.address());
    EXPECT_TRUE(s.ok()) << s.str();
    EXPECT_EQ(server.writes_seen(), 2) << "sent once, then again after the drained close";
}

TEST(ClientStopping, AWriteLeftUnansweredWithoutTheDrainedWordIsUncertain) {
    StoppingServer server(/*drained=*/false);
    const ClientStatus s = one_write(server.address());
    EXPECT_EQ(s.code, ClientCode::kConnectionLost) << s.str();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(server.writes_seen(), 1) << "a write the server may have applied was sent again";
}

}  // namespace
}  // namespace chorus
