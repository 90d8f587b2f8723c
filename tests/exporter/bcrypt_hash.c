/* bcrypt_hash PASSWORD [COST]: prints a $2b$ bcrypt hash with a random salt (nettle), for
 * the tests' web configs: htpasswd is not on the machine, and nettle is. */
#include <nettle/blowfish.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bcrypt_hash PASSWORD [COST]\n");
        return 2;
    }
    uint8_t salt[BLOWFISH_BCRYPT_BINSALT_SIZE];
    FILE *random = fopen("/dev/urandom", "rb");
    if (random == NULL || fread(salt, 1, sizeof salt, random) != sizeof salt) {
        fprintf(stderr, "bcrypt_hash: cannot read /dev/urandom\n");
        return 1;
    }
    fclose(random);
    uint8_t hash[BLOWFISH_BCRYPT_HASH_SIZE];
    const char scheme[] = "$2b$";
    if (!blowfish_bcrypt_hash(hash, strlen(argv[1]), (const uint8_t *)argv[1],
                              sizeof scheme - 1, (const uint8_t *)scheme,
                              argc == 3 ? atoi(argv[2]) : 10, salt)) {
        fprintf(stderr, "bcrypt_hash: bad cost\n");
        return 1;
    }
    puts((const char *)hash);
    return 0;
}
