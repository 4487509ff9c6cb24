#include "net/listener.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "net/acceptor.h"

namespace chorus::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

Listener::Listener(std::string name, Endpoint endpoint, uint64_t max_connections)
    : name_(std::move(name)), endpoint_(std::move(endpoint)), max_connections_(max_connections) {}

Listener::~Listener() { stop(); }

Status Listener::start(Make make) {
    CHORUS_ASSERT(!thread_.joinable(), "a listener starts once");
    make_ = std::move(make);
    acceptor_.emplace(io_);
    if (Status s = open_acceptor(*acceptor_, endpoint_, name_); !s.is_ok()) {
        acceptor_.reset();
        make_ = nullptr;
        return s;
    }
    bound_port_ = acceptor_->local_endpoint().port();
    work_.emplace(io_.get_executor());
    accept();
    thread_ = std::thread([this] { io_.run(); });
    return Status::ok();
}

void Listener::stop() {
    if (!thread_.joinable()) return;
    // (make_ is let go of after the join: it may hold the front door's
    // shared state, which holds this listener.)
    asio::post(io_, [this] {
        error_code ignored;
        if (acceptor_) acceptor_->close(ignored);
        for (auto& w : open_) {
            if (auto c = w.lock()) c->close();
        }
        open_.clear();
        work_.reset();
    });
    thread_.join();
    make_ = nullptr;
}

bool Listener::drain(uint64_t timeout_ms) {
    if (!thread_.joinable()) return true;
    asio::post(io_, [this] {
        error_code ignored;
        if (acceptor_) acceptor_->close(ignored);
        for (auto& w : open_) {
            if (auto c = w.lock()) c->close_when_idle();
        }
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (connections_.load() > 0) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

void Listener::accept() {
    acceptor_->async_accept([this](error_code ec, tcp::socket socket) {
        if (!acceptor_ || !acceptor_->is_open()) return;  // stopping
        if (ec) {
            spdlog::warn("{}: accept failed: {}; pausing 100 ms", name_, ec.message());
            auto pause = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
            pause->async_wait([this, pause](error_code) {
                if (acceptor_ && acceptor_->is_open()) accept();
            });
            return;
        }
        if (connections_.load() >= max_connections_) {
            spdlog::warn("{}: {} connections already; refusing one more", name_,
                         connections_.load());
            error_code ignored;
            socket.close(ignored);
        } else {
            socket.set_option(tcp::no_delay(true), ec);
            ++connections_;
            std::erase_if(open_, [](const auto& w) { return w.expired(); });
            open_.push_back(make_(std::move(socket)));
        }
        accept();
    });
}

}  // namespace chorus::net
