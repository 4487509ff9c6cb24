#include "session/zookeeper/digest.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace chorus::zookeeper {

std::string digest_id(std::string_view user_password) {
    unsigned char hash[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(user_password.data()), user_password.size(), hash);
    unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
    const int length = EVP_EncodeBlock(encoded, hash, SHA_DIGEST_LENGTH);
    const std::string_view user = user_password.substr(0, user_password.find(':'));
    return std::string(user) + ":" + std::string(reinterpret_cast<const char*>(encoded), length);
}

}  // namespace chorus::zookeeper
